package data

import (
	"errors"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

var _ Reader = (*JSONLReader)(nil)

func TestJSONLReader(t *testing.T) {
	names := []string{"age", "name", "ok", "x"}
	tests := []struct {
		name    string
		in      string
		opt     Options
		want    []string
		lines   []int
		offsets []int64
	}{
		{name: "empty"},
		{name: "blank lines", in: "\n \r\n\t\n"},
		{
			name:    "values",
			in:      `{"age": 39, "name": " Bob ", "ok": true, "x": null}` + "\n" + `{"ok": false, "age": -1.5e3}`,
			want:    []string{`["39" "Bob" "true" ""]`, `["-1.5e3" "" "false" ""]`},
			lines:   []int{1, 2},
			offsets: []int64{0, 52},
		},
		{
			name: "escapes",
			in:   `{"name": "a\"b\u00e9\n", "x": "\ud83d\ude00"}`,
			opt:  Options{NoTrim: true},
			want: []string{`["" "a\"bé\n" "" "😀"]`},
		},
		{
			name: "invalid UTF-8",
			in:   "{\"name\": \"\xff\"}",
			want: []string{`["" "�" "" ""]`},
		},
		{
			name: "other keys are ignored",
			in:   `{"age": 1, "zip": {"a": [1]}, "Age": 2, "more": [1]}`,
			want: []string{`["1" "" "" ""]`},
		},
		{
			name: "missing",
			in:   `{"age": "?", "name": " ? ", "ok": "", "x": "NA"}`,
			want: []string{`["" "" "" "NA"]`},
		},
		{
			name: "custom missing and NoTrim",
			in:   `{"age": "?", "name": " NA ", "ok": "NA", "x": 0}`,
			opt:  Options{Missing: []string{"NA", "0"}, NoTrim: true},
			want: []string{`["?" " NA " "" ""]`},
		},
		{
			name:    "blank lines skipped, CRLF and BOM",
			in:      "\xEF\xBB\xBF{\"age\": 1}\r\n\r\n  \n\t{\"age\": 2}  \n",
			want:    []string{`["1" "" "" ""]`, `["2" "" "" ""]`},
			lines:   []int{1, 4},
			offsets: []int64{3, 20},
		},
		{
			name:  "not an object",
			in:    "[1, 2]\n\"a\"\nnull\n{\"age\": 1}\n",
			want:  []string{`line 1: not a JSON object`, `line 2: not a JSON object`, `line 3: not a JSON object`, `["1" "" "" ""]`},
			lines: []int{1, 2, 3, 4},
		},
		{
			name: "object and array values",
			in:   `{"name": {"a": 1}}` + "\n" + `{"x": [1], "ok": 1}` + "\n",
			want: []string{`line 1, attribute "name" (column 2): value is an object or an array`, `line 2, attribute "x" (column 4): value is an object or an array`},
		},
		{
			name: "invalid JSON",
			in:   `{"age": 1,}` + "\n" + `{"age": 1} {}` + "\n" + `{"age": 01}` + "\n" + `{"age": 1`,
			want: []string{
				`line 1: invalid JSON: invalid character '}' looking for beginning of object key string`,
				`line 2: invalid JSON: invalid character '{' after top-level value`,
				`line 3: invalid JSON: invalid character '1' after object key:value pair`,
				`line 4: invalid JSON: unexpected end of JSON input`,
			},
		},
		{
			name: "line too long",
			in:   `{"name": "0123456789"}` + "\n" + `{"age": 1}` + "\n",
			opt:  Options{MaxRecordBytes: 20},
			want: []string{`line 1: record too long (over 20 bytes)`, `["1" "" "" ""]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lines, offsets := readResults(t, NewJSONLReader(strings.NewReader(tt.in), names, tt.opt))
			if !equal(got, tt.want) {
				t.Errorf("records:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
			if tt.lines != nil && !equal(lines, tt.lines) {
				t.Errorf("lines = %v, want %v", lines, tt.lines)
			}
			if tt.offsets != nil && !equal(offsets, tt.offsets) {
				t.Errorf("offsets = %v, want %v", offsets, tt.offsets)
			}
		})
	}
}

func TestJSONLReaderErrorCodes(t *testing.T) {
	r := NewJSONLReader(strings.NewReader(`{"a": [1]}`), []string{"a"}, Options{})
	_, err := r.Read()
	if !errors.Is(err, ErrValueType) || perch.Code(err) != perch.EInvalid {
		t.Errorf("error %v: want ErrValueType with code EInvalid", err)
	}
	r = NewJSONLReader(strings.NewReader(`{"a": "`+strings.Repeat("x", 200<<10)+`"}`), []string{"a"}, Options{})
	_, err = r.Read()
	if !errors.Is(err, ErrRecordTooLong) || perch.Code(err) != perch.ELimitExceeded {
		t.Errorf("error %v: want ErrRecordTooLong with code ELimitExceeded", err)
	}
}
