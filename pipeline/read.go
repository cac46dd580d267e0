package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
)

// Record is one record of an object, read or refused.
type Record struct {
	Row    int64    // 1-based, counting every record, refused ones too
	Line   int      // where the record began
	Raw    string   // its text as it was in the object
	Fields []string // in schema order, "" for missing; nil when Err is set
	Err    error
}

// Reader reads the records of one object, keeping each one's text so
// that a refused record can be kept as a dead letter.
type Reader struct {
	lines  *lineSplitter
	jsonl  bool
	schema *perch.Schema
	names  []string
	width  int
	target int
	// cols maps a CSV header's columns to schema positions; nil without
	// a header.
	cols   []int
	first  bool
	row    int64
	slab   []string
	head   string // the header line, if any
	want   int    // fields a record must have after a header in schema order; 0 without one
	closer io.Closer
}

// Format returns the format of an object: the pipeline's, or else jsonl
// for keys ending .jsonl or .ndjson (before any .gz) and csv otherwise.
func Format(format, key string) string {
	if format != "" {
		return strings.ToLower(format)
	}
	k := strings.ToLower(strings.TrimSuffix(key, ".gz"))
	if strings.HasSuffix(k, ".jsonl") || strings.HasSuffix(k, ".ndjson") || strings.HasSuffix(k, ".json") {
		return "jsonl"
	}
	return "csv"
}

// NewReader reads r, the object key, in format ("csv" or "jsonl") with
// the schema s; a key ending in .gz is gunzipped.
func NewReader(r io.Reader, key, format string, s *perch.Schema) (*Reader, error) {
	rd := &Reader{schema: s, first: true, target: s.Target(), width: len(s.Attributes)}
	if strings.HasSuffix(strings.ToLower(key), ".gz") {
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, perch.Errorf(perch.EInvalid, "%s: not gzip: %v", key, err)
		}
		rd.closer = z
		r = z
	}
	for _, a := range s.Attributes {
		rd.names = append(rd.names, a.Name)
	}
	switch format {
	case "csv":
	case "jsonl":
		rd.jsonl = true
	default:
		return nil, perch.Errorf(perch.EInvalid, "format %q: want csv or jsonl", format)
	}
	rd.lines = newLineSplitter(r, !rd.jsonl)
	return rd, nil
}

// Header returns the object's CSV header line, once read; "" when it has
// none.
func (rd *Reader) Header() string { return rd.head }

// Close releases the gzip reader, if any.
func (rd *Reader) Close() error {
	if rd.closer != nil {
		return rd.closer.Close()
	}
	return nil
}

// Next returns the next record, io.EOF after the last, or another error
// when the object cannot be read any further.
func (rd *Reader) Next() (Record, error) {
	for {
		text, line, tooLong, err := rd.lines.next()
		if err != nil {
			return Record{}, err
		}
		if strings.TrimSpace(text) == "" && !tooLong {
			continue
		}
		if rd.first && !rd.jsonl {
			rd.first = false
			if cols, ok, err := rd.header(text); err != nil {
				return Record{}, perch.Errorf(perch.EInvalid, "line %d: %v", line, err)
			} else if ok {
				rd.head = text
				rd.cols = cols
				if identity(cols) && (len(cols) == rd.width || (len(cols) == rd.width-1 && rd.target == rd.width-1)) {
					// The schema's order: records split straight into place.
					rd.cols, rd.want = nil, len(cols)
				}
				continue
			}
		}
		rd.first = false
		rd.row++
		rec := Record{Row: rd.row, Line: line, Raw: text}
		if tooLong {
			rec.Err = &data.ParseError{Line: line, Err: fmt.Errorf("%w (over %d bytes)", data.ErrRecordTooLong, perch.MaxRecordBytes)}
			return rec, nil
		}
		if rd.jsonl {
			rec.Fields, rec.Err = rd.parseJSON(text, line)
		} else {
			rec.Fields, rec.Err = rd.parseCSV(text, line)
		}
		return rec, nil
	}
}

// header reports whether the first record is a header, and maps its
// columns to the schema's attributes: it is one when every field names an
// attribute.
func (rd *Reader) header(text string) ([]int, bool, error) {
	fields, err := splitCSV(text, 1)
	if err != nil {
		return nil, false, nil
	}
	cols := make([]int, len(fields))
	seen := map[int]bool{}
	for i, f := range fields {
		j := rd.schema.Index(strings.TrimSpace(f))
		if j < 0 {
			if i == 0 {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("header column %d %q names no attribute of the model's schema", i+1, f)
		}
		if seen[j] {
			return nil, false, fmt.Errorf("header names %q twice", f)
		}
		seen[j] = true
		cols[i] = j
	}
	return cols, true, nil
}

// parseCSV reads one CSV record into schema order.
func (rd *Reader) parseCSV(text string, line int) ([]string, error) {
	if strings.IndexByte(text, '"') < 0 && rd.cols == nil {
		if out, ok := rd.splitPlain(text); ok {
			return out, nil
		}
	}
	fields, err := splitCSV(text, line)
	if err != nil {
		return nil, err
	}
	out := rd.fields()
	switch {
	case rd.want > 0 && len(fields) != rd.want:
		return nil, data.FieldCountError(line, len(fields), rd.want)
	case rd.cols != nil:
		if len(fields) != len(rd.cols) {
			return nil, data.FieldCountError(line, len(fields), len(rd.cols))
		}
		for i, f := range fields {
			out[rd.cols[i]] = f
		}
	case len(fields) == rd.width:
		copy(out, fields)
	case rd.target >= 0 && len(fields) == rd.width-1:
		// Records to predict usually come without their target.
		copy(out, fields[:rd.target])
		copy(out[rd.target+1:], fields[rd.target:])
	default:
		return nil, data.FieldCountError(line, len(fields), rd.width)
	}
	return out, nil
}

// fields returns room for one record's fields, cut from a larger block so
// that records do not cost an allocation each.
func (rd *Reader) fields() []string {
	if len(rd.slab) < rd.width {
		rd.slab = make([]string, rd.width*256)
	}
	out := rd.slab[:rd.width:rd.width]
	rd.slab = rd.slab[rd.width:]
	return out
}

// splitPlain splits a record without quotes in schema order, straight
// into its fields; it reports false when the count of fields is not the
// schema's (with or without the target), leaving the error to parseCSV.
func (rd *Reader) splitPlain(text string) ([]string, bool) {
	n := strings.Count(text, ",") + 1
	skip := -1
	switch {
	case rd.want > 0 && n != rd.want:
		return nil, false
	case n == rd.width:
	case rd.target >= 0 && n == rd.width-1:
		skip = rd.target
	default:
		return nil, false
	}
	out := rd.fields()
	j := 0
	for {
		if j == skip {
			j++
		}
		f := text
		i := strings.IndexByte(text, ',')
		if i >= 0 {
			f = text[:i]
		}
		f = strings.Trim(f, " \t")
		if f == "?" {
			f = ""
		}
		out[j] = f
		j++
		if i < 0 {
			return out, true
		}
		text = text[i+1:]
	}
}

// parseJSON reads one JSON object into schema order.
func (rd *Reader) parseJSON(text string, line int) ([]string, error) {
	jr := data.NewJSONLReader(strings.NewReader(text), rd.names, data.Options{})
	fields, err := jr.Read()
	if err != nil {
		var pe *data.ParseError
		if errors.As(err, &pe) {
			e := *pe
			e.Line = line
			return nil, &e
		}
		return nil, err
	}
	return append([]string(nil), fields...), nil
}

// splitCSV splits one record's text as data.CSVReader does: fields
// trimmed, "" and "?" missing. A record with no quotes takes a fast path.
func splitCSV(text string, line int) ([]string, error) {
	if strings.IndexByte(text, '"') < 0 {
		fields := strings.Split(text, ",")
		for i, f := range fields {
			f = strings.Trim(f, " \t")
			if f == "?" {
				f = ""
			}
			fields[i] = f
		}
		return fields, nil
	}
	r := data.NewCSVReader(strings.NewReader(text), data.Options{Fields: -1})
	fields, err := r.Read()
	if err != nil {
		var pe *data.ParseError
		if errors.As(err, &pe) {
			e := *pe
			e.Line += line - 1
			return nil, &e
		}
		return nil, err
	}
	return append([]string(nil), fields...), nil
}

// lineSplitter cuts the input into records' texts: lines, joined while a
// quoted field is open when quotes count (CSV).
type lineSplitter struct {
	br     *bufio.Reader
	quotes bool
	line   int
	buf    []byte
}

func newLineSplitter(r io.Reader, quotes bool) *lineSplitter {
	return &lineSplitter{br: bufio.NewReaderSize(r, 256<<10), quotes: quotes}
}

// next returns the next record's text without its line end, the line it
// began on, and whether it was over the size limit (its text then is cut
// short).
func (s *lineSplitter) next() (string, int, bool, error) {
	s.buf = s.buf[:0]
	start := s.line + 1
	open, over := false, false
	for {
		b, err := s.br.ReadSlice('\n')
		if len(b) == 0 && err != nil {
			if err == io.EOF && len(s.buf) > 0 {
				return s.text(), start, over, nil
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			return "", start, false, err
		}
		if s.quotes && (open || bytes.IndexByte(b, '"') >= 0) {
			open = quoteOpen(b, open)
		}
		if !over {
			s.buf = append(s.buf, b...)
			if len(s.buf) > perch.MaxRecordBytes+2 {
				over = true
				s.buf = s.buf[:1024]
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s.line++
		if err != nil && err != io.EOF {
			return "", start, false, err
		}
		if err == io.EOF || !open {
			if start == 1 {
				s.buf = bytes.TrimPrefix(s.buf, []byte("\xEF\xBB\xBF"))
			}
			return s.text(), start, over, nil
		}
	}
}

func (s *lineSplitter) text() string {
	b := s.buf
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return string(b)
}

// quoteOpen reports whether a quoted field is open at the end of line,
// given whether one was at its start, as data.CSVReader reads fields: a
// quote opens a field only at the field's start, and a record whose
// quotes are malformed ends with its line.
func quoteOpen(line []byte, open bool) bool {
	i := 0
	for i < len(line) {
		if open {
			j := bytes.IndexByte(line[i:], '"')
			if j < 0 {
				return true
			}
			i += j + 1
			if i < len(line) && line[i] == '"' {
				i++
				continue
			}
			open = false
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i < len(line) && line[i] != ',' && line[i] != '\r' && line[i] != '\n' {
				return false // text after a closing quote: an error ending the record
			}
			i++
			continue
		}
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i < len(line) && line[i] == '"' {
			open = true
			i++
			continue
		}
		k := bytes.IndexByte(line[i:], ',')
		if k < 0 {
			return false
		}
		i += k + 1
	}
	return open
}

func identity(cols []int) bool {
	for i, c := range cols {
		if c != i {
			return false
		}
	}
	return true
}
