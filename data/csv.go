package data

import (
	"bytes"
	"errors"
	"io"
)

// CSVReader reads comma-separated records as RFC 4180 has them, with the
// leniencies of the files AML took: LF or CRLF line ends, a UTF-8 byte
// order mark, blank lines (skipped) and spaces around fields (trimmed,
// unless Options.NoTrim). Spaces around a quoted field are trimmed too,
// but not those inside the quotes. Missing markers apply to quoted values
// as well: "?" and ? are both missing, and so is "". Invalid UTF-8 is
// passed through.
//
// Each record is one string in memory; its fields are slices of it.
type CSVReader struct {
	lr      lineReader
	trim    bool
	missing missingSet
	names   []string
	want    int // fields per record: 0 until the first record, -1 for any

	wantHeader bool
	headerDone bool
	header     []string
	headerErr  error

	line   int
	offset int64
	rec    []string
	buf    []byte // the record's fields, unquoted, end to end
	ends   []int  // where each field ends in buf
}

// NewCSVReader returns a reader of the CSV records in r.
func NewCSVReader(r io.Reader, opt Options) *CSVReader {
	return &CSVReader{
		lr:         newLineReader(r, opt.MaxRecordBytes),
		trim:       !opt.NoTrim,
		missing:    newMissingSet(opt.Missing),
		names:      opt.Names,
		want:       max(opt.Fields, -1),
		wantHeader: opt.Header,
	}
}

// Header returns the fields of the header line, trimmed, with no value
// read as missing. It is an error to call it without Options.Header; on
// empty input it returns io.EOF. Read calls it if it has not been called.
func (r *CSVReader) Header() ([]string, error) {
	if !r.wantHeader {
		return nil, errors.New("data: CSV header requested but Options.Header is false")
	}
	if r.headerDone {
		return r.header, r.headerErr
	}
	r.headerDone = true
	fields, err := r.record(true)
	if err == nil {
		err = r.checkCount(fields)
	}
	if err != nil {
		r.headerErr = err
		return nil, err
	}
	r.header = append([]string(nil), fields...)
	if r.names == nil {
		r.names = r.header
	}
	return r.header, nil
}

// Read returns the next record. See Reader.
func (r *CSVReader) Read() ([]string, error) {
	if r.wantHeader && !r.headerDone {
		if _, err := r.Header(); err != nil {
			return nil, err
		}
	}
	fields, err := r.record(false)
	if err == nil {
		err = r.checkCount(fields)
	}
	if err != nil {
		return nil, err
	}
	return fields, nil
}

// Line returns the line where the last record began.
func (r *CSVReader) Line() int { return r.line }

// Offset returns the byte offset where the last record began.
func (r *CSVReader) Offset() int64 { return r.offset }

func (r *CSVReader) checkCount(fields []string) error {
	switch {
	case r.want == 0:
		r.want = len(fields)
	case r.want > 0 && len(fields) != r.want:
		return &ParseError{Line: r.line, Err: &fieldCountError{len(fields), r.want}}
	}
	return nil
}

func (r *CSVReader) fieldError(line, col int, err error) error {
	return &ParseError{Line: line, Column: col, Attribute: attrName(r.names, col), Err: err}
}

// record reads the next record, skipping blank lines. A header is always
// trimmed and has no missing values.
func (r *CSVReader) record(header bool) ([]string, error) {
	trim := r.trim || header
	var (
		line     []byte
		nl, over bool
		err      error
	)
	for {
		line, nl, over, err = r.lr.next()
		if err != nil {
			return nil, err
		}
		if over || !blank(line, trim) {
			break
		}
	}
	r.line, r.offset = r.lr.line, r.lr.start
	if over || len(line) > r.lr.max {
		odd := r.lr.odd
		if !over {
			odd = oddQuotes(line)
		}
		return nil, r.tooLong(odd)
	}
	if bytes.IndexByte(line, '"') >= 0 {
		return r.quoted(line, nl, trim, header)
	}
	// The common case: no quotes, so the fields are the line's own bytes.
	s := string(line)
	rec := r.rec[:0]
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			rec = r.appendField(rec, s[start:i], trim, header)
			start = i + 1
		}
	}
	r.rec = r.appendField(rec, s[start:], trim, header)
	return r.rec, nil
}

func (r *CSVReader) appendField(rec []string, f string, trim, header bool) []string {
	if trim {
		f = trimSpace(f)
	}
	if !header && len(f) > 0 && r.missing.has(f) {
		f = ""
	}
	return append(rec, f)
}

// tooLong skips the rest of a record that is too long, given whether a
// quoted field is open after the lines read so far, and returns the error.
// Quotes are counted, not parsed, so nothing is kept in memory.
func (r *CSVReader) tooLong(open bool) error {
	for open {
		line, _, over, err := r.lr.next()
		if err != nil {
			break
		}
		if over {
			open = open != r.lr.odd
		} else {
			open = open != oddQuotes(line)
		}
	}
	return &ParseError{Line: r.line, Err: tooLong(r.lr.max)}
}

// quoted parses a record that holds a quote, unquoting its fields into
// r.buf and reading more lines while a quoted field spans them.
func (r *CSVReader) quoted(line []byte, nl, trim, header bool) ([]string, error) {
	buf, ends := r.buf[:0], r.ends[:0]
	size := len(line)
	var err error
fields:
	for {
		col := len(ends) + 1
		if trim {
			line = trimLeft(line)
		}
		if len(line) == 0 || line[0] != '"' {
			i := bytes.IndexByte(line, ',')
			f := line
			if i >= 0 {
				f = line[:i]
			}
			if bytes.IndexByte(f, '"') >= 0 {
				err = r.fieldError(r.lr.line, col, ErrBareQuote)
				break
			}
			if trim {
				f = trimRight(f)
			}
			buf = append(buf, f...)
			ends = append(ends, len(buf))
			if i < 0 {
				break
			}
			line = line[i+1:]
			continue
		}
		quoteLine := r.lr.line
		line = line[1:]
		for {
			if i := bytes.IndexByte(line, '"'); i >= 0 {
				buf = append(buf, line[:i]...)
				line = line[i+1:]
				if len(line) > 0 && line[0] == '"' {
					buf = append(buf, '"')
					line = line[1:]
					continue
				}
				if trim {
					line = trimLeft(line)
				}
				if len(line) == 0 {
					ends = append(ends, len(buf))
					break fields
				}
				if line[0] == ',' {
					ends = append(ends, len(buf))
					line = line[1:]
					continue fields
				}
				err = r.fieldError(r.lr.line, col, ErrQuote)
				break fields
			}
			// The field goes on past the end of the line.
			buf = append(buf, line...)
			if !nl {
				err = r.fieldError(quoteLine, col, ErrUnterminated)
				break fields
			}
			buf = append(buf, '\n')
			var over bool
			line, nl, over, err = r.lr.next()
			if err == io.EOF {
				err = r.fieldError(quoteLine, col, ErrUnterminated)
				break fields
			}
			if err != nil {
				break fields
			}
			size += 1 + len(line)
			if over || size > r.lr.max {
				odd := r.lr.odd
				if !over {
					odd = oddQuotes(line)
				}
				err = r.tooLong(!odd)
				break fields
			}
		}
	}
	r.buf, r.ends = buf, ends
	if err != nil {
		return nil, err
	}
	s := string(buf)
	rec := r.rec[:0]
	start := 0
	for _, end := range ends {
		rec = r.appendField(rec, s[start:end], false, header)
		start = end
	}
	r.rec = rec
	return rec, nil
}
