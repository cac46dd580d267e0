package data

import (
	"compress/gzip"
	"io"
	"os"
	"strings"

	"github.com/perchml/perch"
)

// Table is a data file read into memory: its records in file order, after
// any rearrangement, with the line and byte offset where each began. Every
// row has one field per attribute of Schema, missing values as "".
type Table struct {
	Schema  *perch.Schema
	Rows    [][]string
	Lines   []int
	Offsets []int64
}

// rowBlock is how many rows' fields are allocated at once.
const rowBlock = 1024

// Load reads every record of r, laid out as s says, and keeps those re
// selects (all of them when re is nil). The rearrangement needs the number
// of records, so the whole input is read before any is dropped. s.DataFormat
// picks the reader: "JSON" for JSON Lines, CSV otherwise.
//
// With opt.Header, the header's names must be the schema's attribute names
// in order, so that a reordered or misspelt file is not read into the
// wrong attributes.
func Load(r io.Reader, s *perch.Schema, re *Rearrangement, opt Options) (*Table, error) {
	if err := ValidateSchema(s); err != nil {
		return nil, err
	}
	n := len(s.Attributes)
	rd, err := NewReader(r, s, opt)
	if err != nil {
		return nil, err
	}

	t := &Table{Schema: s}
	var block []string
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != n {
			return nil, &ParseError{Line: rd.Line(), Err: &fieldCountError{len(rec), n}}
		}
		if len(block) < n {
			block = make([]string, n*min(rowBlock, len(t.Rows)+1))
		}
		row := block[:n:n]
		block = block[n:]
		copy(row, rec)
		t.Rows = append(t.Rows, row)
		t.Lines = append(t.Lines, rd.Line())
		t.Offsets = append(t.Offsets, rd.Offset())
	}
	total := len(t.Rows)
	if total == 0 {
		return nil, invalid("no records")
	}
	if re == nil {
		return t, nil
	}
	k := 0
	for i := range total {
		if re.Keep(i, total, t.Offsets[i]) {
			t.Rows[k], t.Lines[k], t.Offsets[k] = t.Rows[i], t.Lines[i], t.Offsets[i]
			k++
		}
	}
	if k == 0 {
		return nil, invalid("no records in the selected range")
	}
	clear(t.Rows[k:])
	t.Rows, t.Lines, t.Offsets = t.Rows[:k:k], t.Lines[:k:k], t.Offsets[:k:k]
	return t, nil
}

// NewReader returns the reader of records laid out as s says: JSON Lines
// when s.DataFormat is "JSON", CSV otherwise, whose header, with
// opt.Header, must name the schema's attributes in order. Load reads
// through it; code that streams a file instead of loading it uses it
// directly, and checks each record's field count as Load does.
func NewReader(r io.Reader, s *perch.Schema, opt Options) (Reader, error) {
	names := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		names[i] = a.Name
	}
	if opt.Names == nil {
		opt.Names = names
	}
	if s.DataFormat == "JSON" {
		return NewJSONLReader(r, names, opt), nil
	}
	c := NewCSVReader(r, opt)
	if opt.Header {
		h, err := c.Header()
		if err == io.EOF {
			return nil, invalid("no records")
		}
		if err != nil {
			return nil, err
		}
		if err := checkHeader(h, names); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// FieldCountError is the error of a record with too few or too many
// fields, wrapped in a *ParseError that names its line.
func FieldCountError(line, got, want int) error {
	return &ParseError{Line: line, Err: &fieldCountError{got, want}}
}

// checkHeader compares a file's header with the schema's names.
func checkHeader(header, names []string) error {
	for i := range min(len(header), len(names)) {
		if h := strings.TrimSpace(header[i]); h != names[i] {
			return invalid("header column %d is %q, schema says %q", i+1, h, names[i])
		}
	}
	if len(header) != len(names) {
		return invalid("header has %d columns, schema has %d attributes", len(header), len(names))
	}
	return nil
}

// LoadFile loads the data file at path, as Load does, reading it as s
// describes it: a header when s.DataFileContainsHeader, one field per
// attribute, JSON Lines when s.DataFormat is "JSON". A path ending in .gz
// is gunzipped.
func LoadFile(path string, s *perch.Schema, re *Rearrangement) (*Table, error) {
	if err := ValidateSchema(s); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err == io.EOF {
			return nil, invalid("no records")
		}
		if err != nil {
			return nil, invalid("%s: %v", path, err)
		}
		defer z.Close()
		r = z
	}
	opt := Options{Fields: len(s.Attributes)}
	if s.DataFormat != "JSON" {
		opt.Header = s.DataFileContainsHeader
	}
	return Load(r, s, re, opt)
}
