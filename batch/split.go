package batch

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
)

// chunk is a piece of the input holding whole records, or one record over
// the size limit, which is refused without being kept.
type chunk struct {
	line    int    // number of the chunk's first line in the whole input
	in      []byte // the chunk's lines
	tooLong bool   // the chunk is the record over the limit that began on line
	out     []byte
	res     Result
	ready   chan struct{}
}

var errTooLong = fmt.Errorf("%w (over %d bytes)", data.ErrRecordTooLong, perch.MaxRecordBytes)

// splitter cuts a CSV stream into chunks of whole records. It finds where
// records end as data.CSVReader does: a quoted field goes on past the end
// of a line; a blank line is no record; a record over the size limit ends
// where the count of its quotes is even at the end of a line, and is not
// held in memory.
type splitter struct {
	r       io.Reader
	size    int // chunk size
	max     int // record size limit
	minRead int
	bufSize int
	pool    *sync.Pool // of *[]byte

	buf     []byte
	pos     int // start of the first line not scanned
	cut     int // end of the last whole record or blank line
	line    int // number of the line at pos in the whole input
	first   int // number of the line at buf[0]
	cutLine int // number of the line at cut
	eof     bool
	err     error // a read error
	ready   []*chunk

	// The record being scanned.
	rec     bool // a quoted field is open at the end of the last line
	recLine int  // the line where it began
	recSize int  // its size as the reader counts it

	// Skipping a record over the limit.
	skip bool
	open bool // a quoted field is open, by the count of quotes
	odd  bool // the count of quotes on the current line so far is odd

	wantHeader bool
	head       *string
	headLine   int
}

func newSplitter(r io.Reader, size, limit int, pool *sync.Pool) *splitter {
	s := &splitter{
		r: r, size: size, max: limit, pool: pool,
		minRead: min(max(size, 512), 64<<10),
		line:    1, first: 1, cutLine: 1,
	}
	s.bufSize = min(size, 8<<20) + s.minRead
	return s
}

// header returns the first record, which must be the header, and the line
// where it began.
func (s *splitter) header() (string, int, error) {
	s.wantHeader = true
	for s.head == nil {
		if s.err != nil {
			return "", 0, s.err
		}
		if s.eof {
			return "", 0, perch.Errorf(perch.EInvalid, "input is empty")
		}
		s.step()
	}
	return *s.head, s.headLine, nil
}

// next returns the next chunk, or io.EOF after the last one.
func (s *splitter) next() (*chunk, error) {
	for len(s.ready) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		if s.eof {
			return nil, io.EOF
		}
		s.step()
	}
	c := s.ready[0]
	s.ready[0] = nil
	s.ready = s.ready[1:]
	return c, nil
}

// step reads more input and scans it.
func (s *splitter) step() {
	s.read()
	if s.err != nil {
		return
	}
	s.scan()
	if !s.eof || s.err != nil {
		return
	}
	// The last line may have no newline, and a quoted field may be open
	// at the end of the input.
	if !s.skip && s.pos < len(s.buf) {
		s.endLine(len(s.buf)-s.pos, false)
		s.scan()
		if s.err != nil {
			return
		}
	}
	if s.rec {
		s.rec = false
		s.boundary(true)
	}
	if len(s.buf) > 0 && !s.skip {
		s.emit(len(s.buf), len(s.buf))
	}
}

func (s *splitter) read() {
	want := min(max(s.size-len(s.buf), s.minRead), 1<<20)
	if cap(s.buf)-len(s.buf) < want {
		nb := s.newBuf(max(2*cap(s.buf), len(s.buf)+want, s.bufSize))
		nb = append(nb, s.buf...)
		s.putBuf(s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf) : len(s.buf)+want])
	s.buf = s.buf[:len(s.buf)+n]
	if err == io.EOF {
		s.eof = true
	} else if err != nil {
		s.err = err
	}
}

func (s *splitter) newBuf(size int) []byte {
	if b, ok := s.pool.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

func (s *splitter) putBuf(b []byte) {
	if cap(b) > 0 {
		s.pool.Put(&b)
	}
}

// scan scans the whole lines read so far.
func (s *splitter) scan() {
	for s.err == nil && s.pos < len(s.buf) {
		if s.skip {
			s.skipLines()
			continue
		}
		i := bytes.IndexByte(s.buf[s.pos:], '\n')
		if i < 0 {
			if len(s.buf)-s.pos > s.max+2 { // a line the reader cuts short
				s.tooLong(s.rec)
			}
			return
		}
		s.endLine(i, true)
	}
}

// endLine scans the line of n bytes at pos, which a newline ends if nl.
func (s *splitter) endLine(n int, nl bool) {
	raw := n
	if nl {
		raw++
	}
	over := raw > s.max+2
	l := s.buf[s.pos : s.pos+n]
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if s.line == 1 {
		l = bytes.TrimPrefix(l, []byte(bom))
	}
	if !s.rec {
		if !over && blank(l) {
			s.pos += raw
			s.line++
			s.boundary(false)
			return
		}
		s.recLine = s.line
		if over || len(l) > s.max {
			s.tooLong(false)
			return
		}
		s.recSize = len(l)
		s.rec = nl && openAtEnd(l, false)
	} else {
		s.recSize += 1 + len(l)
		if over || s.recSize > s.max {
			s.tooLong(true)
			return
		}
		s.rec = nl && openAtEnd(l, true)
	}
	s.pos += raw
	s.line++
	if !s.rec {
		s.boundary(true)
	}
}

// boundary notes that no record goes on at pos; record says one just ended.
func (s *splitter) boundary(record bool) {
	if record && s.wantHeader {
		h := string(s.buf[s.cut:s.pos])
		s.head, s.headLine, s.wantHeader = &h, s.recLine, false
		s.buf = s.buf[:copy(s.buf, s.buf[s.pos:])]
		s.pos, s.cut = 0, 0
		s.first, s.cutLine = s.line, s.line
		return
	}
	s.cut, s.cutLine = s.pos, s.line
	if s.cut >= s.size && !s.wantHeader {
		s.emit(s.cut, s.cut)
	}
}

// emit queues buf[:end] as a chunk and keeps buf[from:] for the next.
func (s *splitter) emit(end, from int) {
	if end == 0 {
		s.buf = s.buf[:copy(s.buf, s.buf[from:])]
	} else {
		s.ready = append(s.ready, &chunk{line: s.first, in: s.buf[:end]})
		rest := s.buf[from:]
		if len(rest) == 0 && s.eof {
			s.buf = nil
		} else {
			s.buf = append(s.newBuf(max(s.bufSize, len(rest)+s.minRead)), rest...)
		}
	}
	s.pos -= from
	s.cut = 0
	s.first = s.cutLine
}

// tooLong refuses the record that began at cut and goes on with the line at
// pos, open saying whether a quoted field was open at its start.
func (s *splitter) tooLong(open bool) {
	line := s.recLine
	if !s.rec {
		line = s.line
	}
	if s.wantHeader {
		s.err = &data.ParseError{Line: line, Err: errTooLong}
		return
	}
	s.rec = false
	s.emit(s.cut, s.pos)
	s.ready = append(s.ready, &chunk{line: line, tooLong: true})
	s.skip, s.open, s.odd = true, open, false
}

// skipLines skips the lines of a record over the limit, up to the first
// line end where its quotes are even.
func (s *splitter) skipLines() {
	b := s.buf[s.pos:]
	for s.skip {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.odd = s.odd != oddQuotes(b)
			b = b[len(b):]
			break
		}
		s.odd = s.odd != oddQuotes(b[:i])
		b = b[i+1:]
		s.line++
		s.open = s.open != s.odd
		s.odd = false
		s.skip = s.open
	}
	s.buf = s.buf[:copy(s.buf, b)]
	s.pos, s.cut = 0, 0
	s.first, s.cutLine = s.line, s.line
}

func oddQuotes(b []byte) bool { return bytes.Count(b, []byte{'"'})%2 == 1 }

// openAtEnd reports whether a quoted field is open at the end of line l,
// parsed as data.CSVReader parses it; quoted says l starts inside one. A
// line with a misplaced quote ends its record.
func openAtEnd[T string | []byte](l T, quoted bool) bool {
	if !quoted && !hasQuote(l) {
		return false
	}
	for {
		if !quoted {
			for len(l) > 0 && isSpace(l[0]) {
				l = l[1:]
			}
			if len(l) == 0 || l[0] != '"' {
				i := 0
				for i < len(l) && l[i] != ',' {
					if l[i] == '"' {
						return false // a bare quote
					}
					i++
				}
				if i == len(l) {
					return false
				}
				l = l[i+1:]
				continue
			}
			l = l[1:]
		}
		i := 0
		for i < len(l) && l[i] != '"' {
			i++
		}
		if i == len(l) {
			return true
		}
		l = l[i+1:]
		if len(l) > 0 && l[0] == '"' { // a doubled quote
			l = l[1:]
			quoted = true
			continue
		}
		for len(l) > 0 && isSpace(l[0]) {
			l = l[1:]
		}
		if len(l) == 0 || l[0] != ',' {
			return false
		}
		l = l[1:]
		quoted = false
	}
}

func hasQuote[T string | []byte](l T) bool {
	switch l := any(l).(type) {
	case string:
		return strings.IndexByte(l, '"') >= 0
	case []byte:
		return bytes.IndexByte(l, '"') >= 0
	}
	return false
}

// recordEnd returns where the record that starts at s[p:], on line line,
// ends, and how many lines it has. The splitter has seen that it ends in s.
func recordEnd(s string, p, line int) (int, int) {
	quoted := false
	for n := 1; ; n++ {
		l, next := s[p:], len(s)
		if i := strings.IndexByte(l, '\n'); i >= 0 {
			l, next = l[:i], p+i+1
		}
		l = strings.TrimSuffix(l, "\r")
		if line == 1 && n == 1 {
			l = strings.TrimPrefix(l, bom)
		}
		quoted = openAtEnd(l, quoted)
		if !quoted || next == len(s) {
			return next, n
		}
		p = next
	}
}
