package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/perchml/perch"
)

// DefaultMissing are the values read as missing unless Options.Missing says
// otherwise.
var DefaultMissing = []string{"", "?"}

// Options control how a Reader reads records.
type Options struct {
	// Header says the first line holds column names: Read skips it and
	// CSVReader.Header returns it.
	Header bool
	// Missing are the values returned as "" (missing); nil means
	// DefaultMissing and an empty non-nil slice means none. Values are
	// compared after trimming.
	Missing []string
	// NoTrim keeps ASCII spaces and tabs around fields. By default they
	// are trimmed, since the Adult files write ", " between fields.
	NoTrim bool
	// Names are the attribute names in column order, used in error
	// messages. Without them a reader uses the header's names, if any.
	Names []string
	// Fields is the number of fields every record must have. 0 means the
	// first record (or the header) fixes the count; -1 means any count.
	Fields int
	// MaxRecordBytes bounds one record; 0 means perch.MaxRecordBytes. A
	// longer record is an error naming its line, and is never held in
	// memory whole.
	MaxRecordBytes int
}

// Reader yields records one by one. Read returns the fields of the next
// record, with missing values as "", or io.EOF after the last one. The
// returned slice is reused by the next call; the strings are not, so they
// are safe to keep. After a *ParseError, Read goes on with the next record;
// any other error ends the input.
type Reader interface {
	Read() ([]string, error)
	// Line is the 1-based line number where the record last returned (or
	// refused) began.
	Line() int
	// Offset is the byte offset in the input where that record began.
	Offset() int64
}

// Errors a ParseError may wrap.
var (
	ErrBareQuote     = errors.New("bare quote in unquoted field")
	ErrQuote         = errors.New("unexpected character after closing quote")
	ErrUnterminated  = errors.New("quoted field is not closed")
	ErrFieldCount    = errors.New("wrong number of fields")
	ErrRecordTooLong = errors.New("record too long")
	ErrNotObject     = errors.New("not a JSON object")
	ErrValueType     = errors.New("value is an object or an array")
)

// ParseError is every reader's error for bad input. Its message names the
// line, and the attribute when the problem is in one field:
//
//	line 7, attribute "age" (column 1): bare quote in unquoted field
//	line 3: record has 13 fields, want 15
//
// To perch.Code and errors.As a ParseError is also a *perch.Error with code
// EInvalid (ELimitExceeded for a record that is too long), so adapters
// report bad input as the caller's fault without knowing this type.
type ParseError struct {
	Line      int
	Column    int    // 1-based, 0 when the error is about the whole record
	Attribute string // name of the column, if known
	Err       error
}

func (e *ParseError) Error() string {
	switch {
	case e.Attribute != "" && e.Column > 0:
		return fmt.Sprintf("line %d, attribute %q (column %d): %v", e.Line, e.Attribute, e.Column, e.Err)
	case e.Attribute != "":
		return fmt.Sprintf("line %d, attribute %q: %v", e.Line, e.Attribute, e.Err)
	case e.Column > 0:
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// As lets errors.As, and so perch.Code, see e as a *perch.Error.
func (e *ParseError) As(target any) bool {
	p, ok := target.(**perch.Error)
	if !ok {
		return false
	}
	code := perch.EInvalid
	if errors.Is(e.Err, ErrRecordTooLong) {
		code = perch.ELimitExceeded
	}
	*p = &perch.Error{Code: code, Message: e.Error()}
	return true
}

// fieldCountError says a record has the wrong number of fields; it is
// ErrFieldCount to errors.Is.
type fieldCountError struct{ got, want int }

func (e *fieldCountError) Error() string {
	return fmt.Sprintf("record has %d fields, want %d", e.got, e.want)
}

func (e *fieldCountError) Is(target error) bool { return target == ErrFieldCount }

func tooLong(max int) error {
	return fmt.Errorf("%w (over %d bytes)", ErrRecordTooLong, max)
}

// attrName returns the name of 1-based column col, or "".
func attrName(names []string, col int) string {
	if col >= 1 && col <= len(names) {
		return names[col-1]
	}
	return ""
}

// missingSet holds the missing markers other than "", which is missing
// whatever the options say.
type missingSet []string

func newMissingSet(m []string) missingSet {
	if m == nil {
		m = DefaultMissing
	}
	var s missingSet
	for _, v := range m {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

func (s missingSet) has(v string) bool {
	for _, m := range s {
		if v == m {
			return true
		}
	}
	return false
}

const bufSize = 64 << 10

// newBufReader wraps r in a bufio.Reader, no bigger than an in-memory
// input needs: readers are made per chunk and per request.
func newBufReader(r io.Reader) *bufio.Reader {
	size := bufSize
	var n int
	switch r := r.(type) {
	case *bytes.Reader:
		n = r.Len()
	case *strings.Reader:
		n = r.Len()
	case *bytes.Buffer:
		n = r.Len()
	default:
		n = size
	}
	if n+1 < size {
		size = max(n+1, 16)
	}
	return bufio.NewReaderSize(r, size)
}

var bom = []byte("\xEF\xBB\xBF")

// lineReader reads physical lines, counting lines and bytes, and never
// holds much more than max bytes of one line.
type lineReader struct {
	br     *bufio.Reader
	max    int
	line   int   // lines read
	offset int64 // bytes read
	start  int64 // offset of the last line's first byte, after any BOM
	odd    bool  // the last over-long line held an odd number of quotes
	long   []byte
	err    error // sticky: io.EOF or a read error
}

func newLineReader(r io.Reader, max int) lineReader {
	if max <= 0 {
		max = perch.MaxRecordBytes
	}
	return lineReader{br: newBufReader(r), max: max}
}

// next returns the next line without its line end (LF or CRLF; a CR
// ending the input is dropped too) and whether a newline ended it. When
// the line is over max+2 bytes, over is true and line is only a prefix;
// odd then tells whether the whole line held an odd number of quotes.
// The line is valid until the next call.
func (lr *lineReader) next() (line []byte, nl, over bool, err error) {
	if lr.err != nil {
		return nil, false, false, lr.err
	}
	b, err := lr.br.ReadSlice('\n')
	n := len(b)
	if err == bufio.ErrBufferFull {
		lr.long = append(lr.long[:0], b...)
		odd := oddQuotes(b)
		for err == bufio.ErrBufferFull {
			b, err = lr.br.ReadSlice('\n')
			n += len(b)
			odd = odd != oddQuotes(b)
			if !over && len(lr.long)+len(b) > lr.max+2 {
				over = true
			}
			if !over {
				lr.long = append(lr.long, b...)
			}
		}
		lr.odd = odd
		b = lr.long
	}
	if err != nil {
		lr.err = err
		if err != io.EOF || n == 0 {
			return nil, false, false, err
		}
	}
	lr.start = lr.offset
	lr.offset += int64(n)
	lr.line++
	if over {
		return b, err == nil, true, nil
	}
	nl = err == nil
	if nl {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if lr.start == 0 && bytes.HasPrefix(b, bom) {
		b = b[len(bom):]
		lr.start = int64(len(bom))
	}
	return b, nl, false, nil
}

func oddQuotes(b []byte) bool {
	return bytes.Count(b, []byte{'"'})%2 == 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// blank reports whether a line holds no record: it is empty or, when
// fields are trimmed, only spaces and tabs.
func blank(b []byte, trim bool) bool {
	if len(b) == 0 {
		return true
	}
	if !trim || !isSpace(b[0]) {
		return false
	}
	return len(trimLeft(b)) == 0
}
