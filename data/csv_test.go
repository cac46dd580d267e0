package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

var _ Reader = (*CSVReader)(nil)

// readResults reads r to the end and describes each Read: the fields as %q
// prints them, or the error's message.
func readResults(t *testing.T, r Reader) (got []string, lines []int, offsets []int64) {
	t.Helper()
	for range 1000 {
		fields, err := r.Read()
		if err == io.EOF {
			return got, lines, offsets
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Read error %v (%T) is not a *ParseError", err, err)
			}
			got = append(got, err.Error())
		} else {
			got = append(got, fmt.Sprintf("%q", fields))
		}
		lines = append(lines, r.Line())
		offsets = append(offsets, r.Offset())
	}
	t.Fatal("Read does not reach io.EOF")
	return
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     Options
		want    []string
		lines   []int   // Line after each Read, if set
		offsets []int64 // Offset after each Read, if set
	}{
		{name: "empty"},
		{name: "only blank lines", in: "\n\r\n\n"},
		{name: "only BOM", in: "\xEF\xBB\xBF"},
		{
			name:    "simple",
			in:      "a,b,c\n1,2,3\n",
			want:    []string{`["a" "b" "c"]`, `["1" "2" "3"]`},
			lines:   []int{1, 2},
			offsets: []int64{0, 6},
		},
		{
			name:    "no final newline",
			in:      "a,b\n1,2",
			want:    []string{`["a" "b"]`, `["1" "2"]`},
			offsets: []int64{0, 4},
		},
		{
			name:    "CRLF",
			in:      "a,b\r\n1,2\r\n",
			want:    []string{`["a" "b"]`, `["1" "2"]`},
			offsets: []int64{0, 5},
		},
		{
			name: "CR at end of input",
			in:   "a,b\r",
			want: []string{`["a" "b"]`},
		},
		{
			name: "CR inside a field",
			in:   "a\rb,c\r\r\n",
			want: []string{`["a\rb" "c\r"]`},
		},
		{
			name:    "BOM",
			in:      "\xEF\xBB\xBFa,b\n1,2\n",
			want:    []string{`["a" "b"]`, `["1" "2"]`},
			offsets: []int64{3, 7},
		},
		{
			name:    "blank lines",
			in:      "\n\na,b\n\r\n \t \n1,2\n\n",
			want:    []string{`["a" "b"]`, `["1" "2"]`},
			lines:   []int{3, 6},
			offsets: []int64{2, 12},
		},
		{
			name: "blank lines of spaces are a record with NoTrim",
			in:   "a\n \n",
			opt:  Options{NoTrim: true},
			want: []string{`["a"]`, `[" "]`},
		},
		{
			name: "trimming",
			in:   " a ,\tb\t, c\n39, State-gov, 77516\n",
			want: []string{`["a" "b" "c"]`, `["39" "State-gov" "77516"]`},
		},
		{
			name: "NoTrim",
			in:   " a , b\t,c\n",
			opt:  Options{NoTrim: true},
			want: []string{`[" a " " b\t" "c"]`},
		},
		{
			name: "trailing comma",
			in:   "a,\n,\n",
			opt:  Options{Fields: -1},
			want: []string{`["a" ""]`, `["" ""]`},
		},
		{
			name: "quoted",
			in:   `a,"b, c","d""e",""""` + "\n",
			want: []string{`["a" "b, c" "d\"e" "\""]`},
		},
		{
			name: "spaces around quotes",
			in:   `a, "b, c" ,  "d"` + "\n" + `"e"  ,f` + "\n",
			opt:  Options{Fields: -1},
			want: []string{`["a" "b, c" "d"]`, `["e" "f"]`},
		},
		{
			name: "spaces inside quotes are kept",
			in:   `" a ", "	b"` + "\n",
			want: []string{`[" a " "\tb"]`},
		},
		{
			name: "quoted last field",
			in:   `a,"b"`,
			want: []string{`["a" "b"]`},
		},
		{
			name:    "quoted newlines",
			in:      "x,\"line1\nline2\n\nline4\",y\nz,w,v\n\"\n\",\"\",\"\r\n\"\n",
			want:    []string{`["x" "line1\nline2\n\nline4" "y"]`, `["z" "w" "v"]`, `["\n" "" "\n"]`},
			lines:   []int{1, 5, 6},
			offsets: []int64{0, 25, 31},
		},
		{
			name: "quoted CRLF reads as LF",
			in:   "\"a\r\nb\",c\r\nd,e\r\n",
			want: []string{`["a\nb" "c"]`, `["d" "e"]`},
		},
		{
			name: "missing",
			in:   `?,,a, ? ,"?","", ?? ,"` + " ?" + `"` + "\n",
			want: []string{`["" "" "a" "" "" "" "??" " ?"]`},
		},
		{
			name: "custom missing",
			in:   "NA,?,x, NA ,\"NA\"\n",
			opt:  Options{Missing: []string{"NA"}},
			want: []string{`["" "?" "x" "" ""]`},
		},
		{
			name: "nothing missing",
			in:   "?,a,\"?\"\n",
			opt:  Options{Missing: []string{}},
			want: []string{`["?" "a" "?"]`},
		},
		{
			name: "missing compared after trimming only",
			in:   " ? ,\" ? \"\n",
			opt:  Options{NoTrim: true},
			want: []string{`[" ? " " ? "]`},
		},
		{
			name:  "header is skipped",
			in:    "age, name\n1,x\n2,y\n",
			opt:   Options{Header: true},
			want:  []string{`["1" "x"]`, `["2" "y"]`},
			lines: []int{2, 3},
		},
		{
			name: "header fixes the field count",
			in:   "age,name\n1,x,3\n",
			opt:  Options{Header: true},
			want: []string{`line 2: record has 3 fields, want 2`},
		},
		{
			name: "header names attributes in errors",
			in:   "age,name\n1,a\"b\n",
			opt:  Options{Header: true},
			want: []string{`line 2, attribute "name" (column 2): bare quote in unquoted field`},
		},
		{
			name: "Names override the header",
			in:   "age,name\n1,a\"b\n",
			opt:  Options{Header: true, Names: []string{"AGE", "NAME"}},
			want: []string{`line 2, attribute "NAME" (column 2): bare quote in unquoted field`},
		},
		{
			name:  "ragged row",
			in:    "a,b,c\n1,2\n3,4,5\n6,7,8,9\n",
			want:  []string{`["a" "b" "c"]`, `line 2: record has 2 fields, want 3`, `["3" "4" "5"]`, `line 4: record has 4 fields, want 3`},
			lines: []int{1, 2, 3, 4},
		},
		{
			name: "Fields",
			in:   "a,b,c\n1,2\n",
			opt:  Options{Fields: 2},
			want: []string{`line 1: record has 3 fields, want 2`, `["1" "2"]`},
		},
		{
			name: "any number of fields",
			in:   "a,b,c\n1\n2,3\n",
			opt:  Options{Fields: -1},
			want: []string{`["a" "b" "c"]`, `["1"]`, `["2" "3"]`},
		},
		{
			name: "bare quote",
			in:   "1,ab\"c,3\n4,5,6\n",
			opt:  Options{Names: []string{"age", "name", "x"}},
			want: []string{`line 1, attribute "name" (column 2): bare quote in unquoted field`, `["4" "5" "6"]`},
		},
		{
			name: "bare quote without names",
			in:   "a,\"b\",c\"\n",
			want: []string{`line 1, column 3: bare quote in unquoted field`},
		},
		{
			name: "quote after spaces with NoTrim",
			in:   "a, \"b\"\n",
			opt:  Options{NoTrim: true},
			want: []string{`line 1, column 2: bare quote in unquoted field`},
		},
		{
			name: "text after closing quote",
			in:   "\"ab\"c,d\n\"e\" ,f\n",
			opt:  Options{Names: []string{"age"}},
			want: []string{`line 1, attribute "age" (column 1): unexpected character after closing quote`, `["e" "f"]`},
		},
		{
			name: "space after closing quote with NoTrim",
			in:   "\"e\" ,f\n",
			opt:  Options{NoTrim: true},
			want: []string{`line 1, column 1: unexpected character after closing quote`},
		},
		{
			name:  "error on a later line of a record",
			in:    "x,\"a\nb\"c,d\ne,f\n",
			want:  []string{`line 2, column 2: unexpected character after closing quote`, `["e" "f"]`},
			lines: []int{1, 3},
		},
		{
			name:  "unterminated quote",
			in:    "a,b\n1,\"open\nmore\n",
			want:  []string{`["a" "b"]`, `line 2, column 2: quoted field is not closed`},
			lines: []int{1, 2},
		},
		{
			name: "unterminated quote without newline",
			in:   `a,"b`,
			want: []string{`line 1, column 2: quoted field is not closed`},
		},
		{
			name: "unterminated after escaped quote",
			in:   `a,"b""` + "\n",
			want: []string{`line 1, column 2: quoted field is not closed`},
		},
		{
			name: "record too long",
			in:   "a,b\n012345678,X\nc,d\n01234,678\r\n",
			opt:  Options{MaxRecordBytes: 10},
			want: []string{`["a" "b"]`, `line 2: record too long (over 10 bytes)`, `["c" "d"]`, `["01234" "678"]`},
		},
		{
			name: "quoted record too long",
			in:   "\"aaaa\nbbbbbbbbbbbb\ncc\",d\ne,f\n",
			opt:  Options{MaxRecordBytes: 10},
			want: []string{`line 1: record too long (over 10 bytes)`, `["e" "f"]`},
		},
		{
			name: "long line inside quotes",
			in:   "\"aaaa\n" + strings.Repeat("b", 100) + "\n\"\"c\",d\ne,f\n",
			opt:  Options{MaxRecordBytes: 10},
			want: []string{`line 1: record too long (over 10 bytes)`, `["e" "f"]`},
		},
		{
			name: "long line opening quotes",
			in:   strings.Repeat("b", 100) + ",\"\nx\",y\ne,f\n",
			opt:  Options{MaxRecordBytes: 10},
			want: []string{`line 1: record too long (over 10 bytes)`, `["e" "f"]`},
		},
		{
			name: "invalid UTF-8 passes through",
			in:   "\xff,\"\xfe\"\n",
			want: []string{`["\xff" "\xfe"]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lines, offsets := readResults(t, NewCSVReader(strings.NewReader(tt.in), tt.opt))
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

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCSVReaderHeader(t *testing.T) {
	r := NewCSVReader(strings.NewReader("\xEF\xBB\xBF age , \"?\",x\n1,?,3\n"), Options{Header: true, NoTrim: true})
	for range 2 {
		h, err := r.Header()
		if err != nil {
			t.Fatal(err)
		}
		if want := `["age" "?" "x"]`; fmt.Sprintf("%q", h) != want {
			t.Fatalf("Header() = %q, want %s", h, want)
		}
	}
	rec, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := `["1" "" "3"]`; fmt.Sprintf("%q", rec) != want {
		t.Errorf("Read() = %q, want %s", rec, want)
	}
	if r.Line() != 2 {
		t.Errorf("Line() = %d, want 2", r.Line())
	}

	if _, err := NewCSVReader(strings.NewReader("a\n"), Options{}).Header(); err == nil {
		t.Error("Header() without Options.Header: no error")
	}
	if _, err := NewCSVReader(strings.NewReader("\n"), Options{Header: true}).Header(); err != io.EOF {
		t.Errorf("Header() of empty input: error %v, want io.EOF", err)
	}
	if _, err := NewCSVReader(strings.NewReader(""), Options{Header: true}).Read(); err != io.EOF {
		t.Errorf("Read() of empty input with header: error %v, want io.EOF", err)
	}

	// A bad header is reported once; Read then goes on.
	r = NewCSVReader(strings.NewReader("a,b\"\n1,2\n"), Options{Header: true})
	got, _, _ := readResults(t, r)
	want := []string{`line 1, column 2: bare quote in unquoted field`, `["1" "2"]`}
	if !equal(got, want) {
		t.Errorf("bad header: got %q, want %q", got, want)
	}
}

func TestCSVReaderKeepsStrings(t *testing.T) {
	r := NewCSVReader(strings.NewReader("a,b\nc,\"d\"\ne,f\n"), Options{})
	var kept []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, rec...)
	}
	if got := strings.Join(kept, ""); got != "abcdef" {
		t.Errorf("kept fields = %q, want %q", got, "abcdef")
	}
}

// TestCSVReaderOffsets checks that reading from a record's Offset gives
// that record again, as random splits rely on.
func TestCSVReaderOffsets(t *testing.T) {
	in := "\xEF\xBB\xBFa,b\r\n\n\"x\ny\",z\n  c,d\n\"e\",\"\"\"f\"\n"
	r := NewCSVReader(strings.NewReader(in), Options{})
	n := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		want := fmt.Sprintf("%q", rec)
		r2 := NewCSVReader(strings.NewReader(in[r.Offset():]), Options{})
		rec2, err := r2.Read()
		if err != nil {
			t.Fatalf("record at offset %d: %v", r.Offset(), err)
		}
		if got := fmt.Sprintf("%q", rec2); got != want {
			t.Errorf("record at offset %d = %s, want %s", r.Offset(), got, want)
		}
	}
	if n != 4 {
		t.Errorf("read %d records, want 4", n)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		err  *ParseError
		want string
		code perch.ErrorCode
	}{
		{&ParseError{Line: 7, Column: 1, Attribute: "age", Err: ErrBareQuote}, `line 7, attribute "age" (column 1): bare quote in unquoted field`, perch.EInvalid},
		{&ParseError{Line: 7, Column: 3, Err: ErrQuote}, `line 7, column 3: unexpected character after closing quote`, perch.EInvalid},
		{&ParseError{Line: 3, Err: &fieldCountError{13, 15}}, `line 3: record has 13 fields, want 15`, perch.EInvalid},
		{&ParseError{Line: 2, Err: tooLong(100)}, `line 2: record too long (over 100 bytes)`, perch.ELimitExceeded},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		err := fmt.Errorf("reading: %w", tt.err)
		if got := perch.Code(err); got != tt.code {
			t.Errorf("%v: Code = %s, want %s", tt.err, got, tt.code)
		}
		var pe *perch.Error
		if !errors.As(err, &pe) || pe.Message != tt.want {
			t.Errorf("%v: As *perch.Error = %v", tt.err, pe)
		}
		if !errors.Is(err, tt.err.Err) {
			t.Errorf("%v: not errors.Is its Err", tt.err)
		}
	}
	if err := (&ParseError{Err: &fieldCountError{1, 2}}); !errors.Is(err, ErrFieldCount) {
		t.Error("field count error is not ErrFieldCount")
	}
	if err := (&ParseError{Err: tooLong(1)}); !errors.Is(err, ErrRecordTooLong) {
		t.Error("too long error is not ErrRecordTooLong")
	}
}

// TestCSVReaderHugeField checks that a 10 MB field is refused without
// being held in memory.
func TestCSVReaderHugeField(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	hugeLines := strings.Repeat("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 10<<20/64)
	for _, tt := range []struct{ name, in string }{
		{"unquoted", "a,b\n1," + huge + "\n2,3\n"},
		{"quoted", "a,b\n1,\"" + huge + "\"\n2,3\n"},
		{"quoted lines", "a,b\n1,\"" + hugeLines + "\"\n2,3\n"},
		{"quoted across lines", "a,b\n1,\"" + huge + "\nmore\"\n2,3\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, _, _ := readResults(t, NewCSVReader(strings.NewReader(tt.in), Options{}))
			runtime.ReadMemStats(&after)
			want := []string{`["a" "b"]`, `line 2: record too long (over 102400 bytes)`, `["2" "3"]`}
			if !equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("reading allocated %d bytes", n)
			}
		})
	}
}

func TestCSVReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewCSVReader(io.MultiReader(strings.NewReader("a,b\n1,"), &errReader{boom}), Options{})
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Read(); err != boom {
			t.Fatalf("Read error %v, want %v", err, boom)
		}
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// adultCSV returns about n rows like those of the Adult data set.
func adultCSV(n int) []byte {
	work := []string{"State-gov", "Self-emp-not-inc", "Private", "Federal-gov", "?"}
	edu := []string{"Bachelors", "HS-grad", "11th", "Masters", "Some-college"}
	marital := []string{"Never-married", "Married-civ-spouse", "Divorced"}
	occ := []string{"Adm-clerical", "Exec-managerial", "Handlers-cleaners", "Prof-specialty", "?"}
	rel := []string{"Not-in-family", "Husband", "Wife", "Own-child"}
	race := []string{"White", "Black", "Asian-Pac-Islander"}
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%d, %s, %d, %s, %d, %s, %s, %s, %s, %s, %d, %d, %d, %s, %s\n",
			17+i%60, work[i%len(work)], 12285+i*7919%1000000, edu[i%len(edu)], 1+i%16,
			marital[i%len(marital)], occ[i%len(occ)], rel[i%len(rel)], race[i%len(race)],
			[]string{"Male", "Female"}[i%2], i%3*2174, i%5*100, 20+i%40, "United-States",
			[]string{"<=50K", ">50K"}[i%3/2])
	}
	return b.Bytes()
}

func BenchmarkCSVReader(b *testing.B) {
	const rows = 100000
	in := adultCSV(rows)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewCSVReader(bytes.NewReader(in), Options{})
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds(), "rows/s")
}
