package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// JSONLReader reads records written as one JSON object per line, keyed by
// attribute name. A string value is used as it is (trimmed, unless
// Options.NoTrim), a number as its literal text, a boolean as true or
// false, and null as missing; so are absent keys and values in
// Options.Missing. Keys that name no attribute are ignored, whatever
// their values. Blank lines are skipped.
//
// Options.Header, Names and Fields do not apply: the columns are names.
type JSONLReader struct {
	lr      lineReader
	trim    bool
	missing missingSet
	names   []string
	index   map[string]int

	line   int
	offset int64
	rec    []string
	obj    map[string]json.RawMessage
}

// NewJSONLReader returns a reader of the JSON lines in r, whose records
// have the named attributes in that order.
func NewJSONLReader(r io.Reader, names []string, opt Options) *JSONLReader {
	index := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := index[n]; !dup {
			index[n] = i
		}
	}
	return &JSONLReader{
		lr:      newLineReader(r, opt.MaxRecordBytes),
		trim:    !opt.NoTrim,
		missing: newMissingSet(opt.Missing),
		names:   names,
		index:   index,
		rec:     make([]string, len(names)),
		obj:     make(map[string]json.RawMessage, len(names)),
	}
}

// Line returns the line where the last record began.
func (r *JSONLReader) Line() int { return r.line }

// Offset returns the byte offset where the last record began.
func (r *JSONLReader) Offset() int64 { return r.offset }

// Read returns the next record. See Reader.
func (r *JSONLReader) Read() ([]string, error) {
	var (
		line []byte
		over bool
		err  error
	)
	for {
		line, _, over, err = r.lr.next()
		if err != nil {
			return nil, err
		}
		line = trimJSONSpace(line)
		if over || len(line) > 0 {
			break
		}
	}
	r.line, r.offset = r.lr.line, r.lr.start
	if over || len(line) > r.lr.max {
		return nil, &ParseError{Line: r.line, Err: tooLong(r.lr.max)}
	}
	if line[0] != '{' {
		return nil, &ParseError{Line: r.line, Err: ErrNotObject}
	}
	clear(r.obj)
	if err := json.Unmarshal(line, &r.obj); err != nil {
		return nil, &ParseError{Line: r.line, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	rec := r.rec
	clear(rec)
	for i, name := range r.names {
		raw, ok := r.obj[name]
		if !ok || r.index[name] != i {
			continue
		}
		v, err := r.value(raw)
		if err != nil {
			return nil, &ParseError{Line: r.line, Column: i + 1, Attribute: name, Err: err}
		}
		if r.trim {
			v = trimSpace(v)
		}
		if len(v) > 0 && r.missing.has(v) {
			v = ""
		}
		rec[i] = v
	}
	return rec, nil
}

// value returns the text of one JSON value.
func (r *JSONLReader) value(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		s := raw[1 : len(raw)-1]
		if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			return string(s), nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", err
		}
		return v, nil
	case '{', '[':
		return "", ErrValueType
	case 'n':
		return "", nil
	case 't':
		return "true", nil
	case 'f':
		return "false", nil
	}
	return string(raw), nil
}

func trimJSONSpace(b []byte) []byte {
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
