package data

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
)

var csvSeeds = []string{
	"a,b,c\n1,2,3\n",
	"\xEF\xBB\xBFa,b\r\n1,2",
	"\"a\nb\",c\n\nd,e",
	"\"a\"\"b\",\"\",\"\"\"\"\n",
	"a, \"b, c\" ,d\n",
	"a,b\"c\n1,2\n",
	"\"ab\"c\n\"d\" \n",
	"x,\"open\nmore\n",
	"\n\n\r\n \n\t\n",
	"a\r\r\n\r\rb\r",
	"\"a\r\nb\"\r\n\"\r\"\r",
	" ? , ,?,\"?\"\n",
	"\"\"\n,,,\n,\n",
	"a,\"b\"\"\"\n\"",
	"\xff\xfe,\"\xc3\"\n",
	"\"\"\"",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,\"\nb\"\nc\n",
}

// FuzzCSVReader checks that the reader never panics, that reading from a
// record's Offset gives that record again, and that on input encoding/csv
// accepts it reads, with trimming and missing values off, what
// encoding/csv reads.
func FuzzCSVReader(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, opt := range []Options{
			{},
			{Header: true},
			{MaxRecordBytes: 16},
			{NoTrim: true, Fields: 2, Missing: []string{"a", ""}},
		} {
			readAllCSV(t, in, opt)
		}

		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(in, bom)))
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil {
			return
		}
		opt := Options{NoTrim: true, Missing: []string{}, Fields: -1, MaxRecordBytes: len(in) + 1}
		got, offsets, err := readAllCSV(t, in, opt)
		if err != nil {
			t.Fatalf("encoding/csv reads %q, but: %v", in, err)
		}
		if w, g := fmt.Sprintf("%q", want), fmt.Sprintf("%q", got); w != g {
			t.Fatalf("input %q:\n got %s\nwant %s", in, g, w)
		}
		for i, off := range offsets {
			if bytes.HasPrefix(in[off:], bom) {
				continue // read as a BOM at the start of input
			}
			r := NewCSVReader(bytes.NewReader(in[off:]), opt)
			rec, err := r.Read()
			if err != nil {
				t.Fatalf("input %q: record %d at offset %d: %v", in, i, off, err)
			}
			if w, g := fmt.Sprintf("%q", got[i]), fmt.Sprintf("%q", rec); w != g {
				t.Fatalf("input %q: record %d at offset %d = %s, want %s", in, i, off, g, w)
			}
		}
	})
}

// readAllCSV reads in to the end, checking that every Read makes progress,
// and returns the records, their offsets and the first error.
func readAllCSV(t *testing.T, in []byte, opt Options) (recs [][]string, offsets []int64, first error) {
	r := NewCSVReader(bytes.NewReader(in), opt)
	line, off := 0, int64(-1)
	for range len(in) + 2 {
		rec, err := r.Read()
		if err == io.EOF {
			return recs, offsets, first
		}
		if r.Line() <= line || r.Offset() <= off || r.Offset() > int64(len(in)) {
			t.Fatalf("input %q, %+v: Line, Offset = %d, %d after %d, %d", in, opt, r.Line(), r.Offset(), line, off)
		}
		line, off = r.Line(), r.Offset()
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("input %q, %+v: error %v is not a *ParseError", in, opt, err)
			}
			if first == nil {
				first = err
			}
			continue
		}
		if opt.Fields > 0 && len(rec) != opt.Fields {
			t.Fatalf("input %q, %+v: record %q", in, opt, rec)
		}
		recs = append(recs, append([]string(nil), rec...))
		offsets = append(offsets, r.Offset())
	}
	t.Fatalf("input %q, %+v: Read does not reach io.EOF", in, opt)
	return
}

// FuzzJSONLReader checks that the JSON-lines reader never panics and
// always returns one value per name.
func FuzzJSONLReader(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, "b": "x", "c": null}`,
		"{\"a\": true}\n\n{\"b\": [1]}\r\n",
		`{"a": "\u00e9\"", "z": {"a": 1}}`,
		`[1, 2]`,
		`{"a": 1} {"b": 2}`,
		`{"a": 1e400, "b": -0.5E+3, "c": false}`,
		"\xEF\xBB\xBF{\"a\": \"\xff\"}",
		`{"a":`,
		`null`,
		`{"a":1,"a":"?"}`,
	} {
		f.Add([]byte(s))
	}
	names := []string{"a", "b", "c"}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, opt := range []Options{{}, {NoTrim: true, MaxRecordBytes: 16}} {
			r := NewJSONLReader(bytes.NewReader(in), names, opt)
			line := 0
			for n := 0; ; n++ {
				if n > len(in)+1 {
					t.Fatalf("input %q: Read does not reach io.EOF", in)
				}
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if r.Line() <= line {
					t.Fatalf("input %q: Line = %d after %d", in, r.Line(), line)
				}
				line = r.Line()
				if err != nil {
					if _, ok := err.(*ParseError); !ok {
						t.Fatalf("input %q: error %v is not a *ParseError", in, err)
					}
					continue
				}
				if len(rec) != len(names) {
					t.Fatalf("input %q: record %q", in, rec)
				}
			}
		}
	})
}
