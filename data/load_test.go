package data

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

func TestLoadFileAdult(t *testing.T) {
	s := adultExcerptSchema(t)
	tb, err := LoadFile("testdata/adult.csv", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Schema != s || len(tb.Rows) != 200 || len(tb.Lines) != 200 || len(tb.Offsets) != 200 {
		t.Fatalf("%d rows, %d lines, %d offsets", len(tb.Rows), len(tb.Lines), len(tb.Offsets))
	}
	want := []string{"39", "State-gov", "77516", "Bachelors", "13", "Never-married", "Adm-clerical",
		"Not-in-family", "White", "Male", "2174", "0", "40", "United-States", "<=50K"}
	if !reflect.DeepEqual(tb.Rows[0], want) {
		t.Errorf("row 0 = %q", tb.Rows[0])
	}
	header := len("age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,capital_gain,capital_loss,hours_per_week,native_country,income\n")
	if tb.Lines[0] != 2 || tb.Offsets[0] != int64(header) || tb.Lines[199] != 201 {
		t.Errorf("line %d offset %d, last line %d", tb.Lines[0], tb.Offsets[0], tb.Lines[199])
	}
	// Missing values are "": the excerpt's line 29 reads "54, ?, 180211, ...".
	if r := tb.Rows[27]; r[0] != "54" || r[1] != "" {
		t.Errorf("row 27 = %q", r)
	}
	for i, r := range tb.Rows {
		if len(r) != 15 || cap(r) != 15 {
			t.Fatalf("row %d has len %d, cap %d", i, len(r), cap(r))
		}
	}

	// The same file gzipped loads the same.
	b, err := os.ReadFile("testdata/adult.csv")
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "adult.csv.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	z.Write(b)
	z.Close()
	f.Close()
	tz, err := LoadFile(gz, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tz, tb) {
		t.Error("gzipped file loads differently")
	}
}

func TestLoadRearranged(t *testing.T) {
	s := adultExcerptSchema(t)
	all, err := LoadFile("testdata/adult.csv", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, random := range []bool{false, true} {
		train := &Rearrangement{End: 70, Random: random, Seed: "s3://bucket/adult/train.csv"}
		eval := *train
		eval.Complement = true
		a, err := LoadFile("testdata/adult.csv", s, train)
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadFile("testdata/adult.csv", s, &eval)
		if err != nil {
			t.Fatal(err)
		}
		if !random && (len(a.Rows) != 140 || a.Lines[139] != 141 || b.Lines[0] != 142) {
			t.Errorf("sequential: %d rows, last line %d; complement starts at line %d", len(a.Rows), a.Lines[len(a.Lines)-1], b.Lines[0])
		}
		if random && (len(a.Rows) < 120 || len(a.Rows) > 160) {
			t.Errorf("random: 70%% of 200 rows is %d", len(a.Rows))
		}
		// Together, in file order, the two halves are the whole file.
		i, j := 0, 0
		for k := range all.Rows {
			var got []string
			switch {
			case i < len(a.Rows) && a.Lines[i] == all.Lines[k]:
				got = a.Rows[i]
				i++
			case j < len(b.Rows) && b.Lines[j] == all.Lines[k]:
				got = b.Rows[j]
				j++
			default:
				t.Fatalf("random %v: line %d is in neither part", random, all.Lines[k])
			}
			if !reflect.DeepEqual(got, all.Rows[k]) {
				t.Fatalf("random %v: line %d differs", random, all.Lines[k])
			}
		}
		if i != len(a.Rows) || j != len(b.Rows) {
			t.Errorf("random %v: parts have %d+%d rows, file %d", random, len(a.Rows), len(b.Rows), len(all.Rows))
		}
	}
}

func TestLoadJSONLines(t *testing.T) {
	s := schemaOf("y", "x:NUMERIC", "c:CATEGORICAL", "y:BINARY")
	s.DataFormat = "JSON"
	s.DataFileContainsHeader = true // does not apply to JSON Lines
	path := filepath.Join(t.TempDir(), "d.jsonl")
	in := `{"x": 1.5, "c": "red", "y": true}` + "\n\n" + `{"c": "?", "y": "0", "other": [1]}` + "\n"
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := LoadFile(path, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"1.5", "red", "true"}, {"", "", "0"}}
	if !reflect.DeepEqual(tb.Rows, want) || !reflect.DeepEqual(tb.Lines, []int{1, 3}) || !reflect.DeepEqual(tb.Offsets, []int64{0, 35}) {
		t.Errorf("rows %q lines %v offsets %v", tb.Rows, tb.Lines, tb.Offsets)
	}
}

func TestLoadErrors(t *testing.T) {
	s := schemaOf("", "age:NUMERIC", "education:CATEGORICAL", "income:BINARY")
	tests := []struct {
		name string
		in   string
		opt  Options
		re   *Rearrangement
		want string
	}{
		{"empty", "", Options{Header: true}, nil, "no records"},
		{"header only", "age,education,income\n", Options{Header: true}, nil, "no records"},
		{"no lines", "\n\n", Options{}, nil, "no records"},
		{"misspelt header", "age, educaton, income\n1,x,1\n", Options{Header: true}, nil, `header column 2 is "educaton", schema says "education"`},
		{"reordered header", "education,age,income\n", Options{Header: true}, nil, `header column 1 is "education", schema says "age"`},
		{"short header", "age,education\n", Options{Header: true}, nil, `header has 2 columns, schema has 3 attributes`},
		{"long header", "age,education,income,x\n", Options{Header: true}, nil, `header has 4 columns, schema has 3 attributes`},
		{"fields", "1,x,1\n2,y\n", Options{}, nil, "line 2: record has 2 fields, want 3"},
		{"any fields", "1,x,1\n2,y\n", Options{Fields: -1}, nil, "line 2: record has 2 fields, want 3"},
		{"bad quote", "age,education,income\n1,x,1\n2,a\"b,0\n", Options{Header: true}, nil, `line 3, attribute "education" (column 2): bare quote in unquoted field`},
		{"empty range", "1,x,1\n", Options{}, &Rearrangement{Begin: 0, End: 50}, "no records in the selected range"},
	}
	for _, tt := range tests {
		_, err := Load(strings.NewReader(tt.in), s, tt.re, tt.opt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
			continue
		}
		if perch.Code(err) != perch.EInvalid {
			t.Errorf("%s: code %s, want Invalid", tt.name, perch.Code(err))
		}
	}
	var pe *ParseError
	_, err := Load(strings.NewReader("1,x,1\n2,y\n"), s, nil, Options{})
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("got %v, want a *ParseError for line 2", err)
	}
	if _, err := Load(strings.NewReader("1\n"), schemaOf("", "a:NUMBER"), nil, Options{}); perch.Code(err) != perch.EInvalid {
		t.Errorf("invalid schema: %v", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "absent.csv"), s, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.csv.gz")
	os.WriteFile(empty, nil, 0o644)
	if _, err := LoadFile(empty, s, nil); err == nil || err.Error() != "no records" {
		t.Errorf("empty .gz: %v", err)
	}
}
