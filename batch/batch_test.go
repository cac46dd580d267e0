package batch

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// shipped returns the bytes of a shipped data set.
func shipped(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := examples.ReadAll(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// train infers name's schema with target, lets edit change it, and trains
// a model of type typ on the whole file.
func train(tb testing.TB, name, target string, typ perch.ModelType, edit func(*perch.Schema)) *model.Predictor {
	tb.Helper()
	b := shipped(tb, name)
	s, err := data.InferSchema(bytes.NewReader(b), data.InferOptions{Target: target})
	if err != nil {
		tb.Fatal(err)
	}
	if edit != nil {
		edit(s)
	}
	t, err := data.Load(bytes.NewReader(b), s, nil, data.Options{Header: true})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := learn.Train(t, learn.Options{Type: typ})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := model.Compile(m)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

var adult struct {
	once sync.Once
	p    *model.Predictor
}

// adultModel is a BINARY model of Adult's income, trained once.
func adultModel(tb testing.TB) *model.Predictor {
	tb.Helper()
	adult.once.Do(func() { adult.p = train(tb, "adult/train.csv", "income", perch.BinaryModel, nil) })
	if adult.p == nil {
		tb.Fatal("the Adult model did not train")
	}
	return adult.p
}

// run runs a batch and fails the test on an error.
func run(tb testing.TB, p *model.Predictor, in []byte, opt Options) (string, Result) {
	tb.Helper()
	var out bytes.Buffer
	res, err := Run(p, bytes.NewReader(in), &out, opt)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return out.String(), res
}

// readCSV parses a batch output.
func readCSV(tb testing.TB, out string) [][]string {
	tb.Helper()
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("output is not CSV: %v", err)
	}
	return rows
}

func TestRunAdult(t *testing.T) {
	p := adultModel(t)
	in := shipped(t, "adult/test.csv")
	tab, err := data.Load(bytes.NewReader(in), p.Model().Schema, nil, data.Options{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	out, res := run(t, p, in, Options{Header: true})
	if res.Records != 16281 || res.Invalid != 0 || len(res.Errors) != 0 {
		t.Fatalf("result %+v, want 16281 records, none invalid", res)
	}
	rows := readCSV(t, out)
	if got := strings.Join(rows[0], ","); got != "bestAnswer,score,trueLabel" {
		t.Fatalf("header %q", got)
	}
	rows = rows[1:]
	if len(rows) != 16281 || len(tab.Rows) != 16281 {
		t.Fatalf("%d output rows for %d input rows, want 16281", len(rows), len(tab.Rows))
	}
	target := p.Model().Schema.Target()
	var pred perch.Prediction
	ones := 0
	for i, row := range rows {
		p.Predict(tab.Rows[i], &pred)
		if len(row) != 3 {
			t.Fatalf("row %d: %q", i+1, row)
		}
		if row[0] != pred.Label {
			t.Fatalf("row %d: bestAnswer %q, the Predictor says %q", i+1, row[0], pred.Label)
		}
		score, err := strconv.ParseFloat(row[1], 32)
		if err != nil {
			t.Fatalf("row %d: score %q: %v", i+1, row[1], err)
		}
		if float32(score) != float32(pred.Scores[0].Value) {
			t.Fatalf("row %d: score %q, the Predictor says %v", i+1, row[1], pred.Scores[0].Value)
		}
		if row[2] != tab.Rows[i][target] {
			t.Fatalf("row %d: trueLabel %q, want %q", i+1, row[2], tab.Rows[i][target])
		}
		if row[0] == "1" {
			ones++
		}
	}
	if ones == 0 || ones == len(rows) {
		t.Errorf("%d of %d rows predicted 1", ones, len(rows))
	}
}

// The same input gives the same bytes whatever the chunk size and the
// number of workers.
func TestRunAdultChunks(t *testing.T) {
	p := adultModel(t)
	in := shipped(t, "adult/test.csv")
	want, _ := run(t, p, in, Options{Header: true, Workers: 1, ChunkBytes: 1 << 30})
	for _, opt := range []Options{
		{Header: true},
		{Header: true, Workers: 3, ChunkBytes: 1000},
		{Header: true, Workers: 2, ChunkBytes: 1},
	} {
		got, _ := run(t, p, in, opt)
		if got != want {
			t.Errorf("workers %d, chunk %d: output differs", opt.Workers, opt.ChunkBytes)
		}
	}
}

func TestAppendScore(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{
		{0.8944209, "8.944209E-1"},
		{0.89442093, "8.944209E-1"},
		{1, "1E0"},
		{0, "0E0"},
		{5e-7, "5E-7"},
		{123.45678, "1.2345678E2"},
		{0.1, "1E-1"},
		{0.5, "5E-1"},
		{0.25, "2.5E-1"},
		{0.999999999, "1E0"},
		{2.5e-10, "2.5E-10"},
		{1e-45, "1E-45"},
		{1e10, "1E10"},
		{3.4e38, "3.4E38"},
		{-0.5, "-5E-1"},
		{-1234.5, "-1.2345E3"},
		{5.9, "5.9E0"},
		{12, "1.2E1"},
		{1e300, "+Inf"},
		{math.Inf(-1), "-Inf"},
		{math.NaN(), "NaN"},
	} {
		got := string(AppendScore([]byte("x,"), c.x))
		if got != "x,"+c.want {
			t.Errorf("AppendScore(%v) = %q, want %q", c.x, got[2:], c.want)
		}
	}
}

// Scores read back to the float32 they were written from.
func TestAppendScoreRoundTrip(t *testing.T) {
	x := 1e-30
	for i := 0; i < 2000; i++ {
		for _, v := range []float64{x, -x, 1 - x} {
			s := string(AppendScore(nil, v))
			f, err := strconv.ParseFloat(s, 32)
			if err != nil || float32(f) != float32(v) {
				t.Fatalf("%v written as %q, read back as %v, %v", v, s, f, err)
			}
			if strings.ContainsAny(s, "+e") || strings.Contains(s, "E0") && !strings.HasSuffix(s, "E0") {
				t.Fatalf("%v written as %q", v, s)
			}
		}
		x *= 1.0371
	}
}

func TestAppendCSV(t *testing.T) {
	for _, c := range [][2]string{
		{"", ""},
		{"abc", "abc"},
		{"<=50K", "<=50K"},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
		{"cr\r", "\"cr\r\""},
		{" lead", `" lead"`},
		{"trail ", `"trail "`},
		{"\ttab", "\"\ttab\""},
		{"tab\t", "\"tab\t\""},
	} {
		if got := string(appendCSV(nil, c[0])); got != c[1] {
			t.Errorf("appendCSV(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// adultLines returns the lines of Adult's test file, header first.
func adultLines(tb testing.TB) []string {
	tb.Helper()
	return strings.Split(strings.TrimSuffix(string(shipped(tb, "adult/test.csv")), "\n"), "\n")
}

// reference is what Run must write for in: the records as one reader
// over the whole input reads them, each predicted by p.
func reference(tb testing.TB, p *model.Predictor, in []byte, header bool) (string, Result) {
	tb.Helper()
	m := p.Model()
	names := make([]string, len(m.Schema.Attributes))
	for i, a := range m.Schema.Attributes {
		names[i] = a.Name
	}
	rd := data.NewCSVReader(bytes.NewReader(in), data.Options{Header: header, Fields: p.Width(), Names: names})
	if header {
		if _, err := rd.Header(); err != nil {
			tb.Fatalf("reference header: %v", err)
		}
	}
	var b strings.Builder
	b.WriteString(strings.Join(Columns(m), ",") + "\n")
	var res Result
	var pred perch.Prediction
	target := m.Schema.Target()
	for {
		f, err := rd.Read()
		if err == io.EOF {
			break
		}
		res.Records++
		if err != nil {
			if perch.Code(err) != perch.EInvalid && perch.Code(err) != perch.ELimitExceeded {
				tb.Fatalf("reference: %v", err)
			}
			res.Invalid++
			if len(res.Errors) < maxErrors {
				res.Errors = append(res.Errors, err.Error())
			}
			b.WriteString(strings.Repeat(",", len(Columns(m))-1) + "\n")
			continue
		}
		p.Predict(f, &pred)
		switch m.Type {
		case perch.BinaryModel:
			b.WriteString(pred.Label + "," + string(AppendScore(nil, pred.Scores[0].Value)))
		case perch.MulticlassModel:
			for i, s := range pred.Scores {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(AppendScore(nil, s.Value))
			}
		default:
			b.Write(AppendScore(nil, pred.Value))
		}
		if target >= 0 {
			b.WriteString("," + string(appendCSV(nil, f[target])))
		}
		b.WriteByte('\n')
	}
	return b.String(), res
}

// sameResult fails unless got and want count and name the same records.
func sameResult(tb testing.TB, what string, got, want Result) {
	tb.Helper()
	if got.Records != want.Records || got.Invalid != want.Invalid || strings.Join(got.Errors, "\n") != strings.Join(want.Errors, "\n") {
		tb.Errorf("%s: result\n%+v\nwant\n%+v", what, got, want)
	}
}

// quotedInput is Adult test rows with quoted fields holding commas,
// newlines and quotes, CRLF line ends, blank lines and spaces around
// quotes.
func quotedInput(tb testing.TB, n int) []byte {
	lines := adultLines(tb)
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	for i, l := range lines[1 : n+1] {
		f := strings.Split(l, ", ")
		switch i % 7 {
		case 1:
			f[6] = `"Tech,` + "\n" + `support"` // occupation
		case 2:
			f[13] = ` "` + f[13] + `" ` // native_country
			f[14] = `"` + f[14] + "\nsecond line, " + `with ""quotes"""`
		case 3:
			f[1] = `"` + "\n\n" + `"`
		case 4:
			f[3] = `""`
			f[14] = `"a,b"`
		case 5:
			b.WriteString("\n  \n")
		}
		end := "\n"
		if i%3 == 0 {
			end = "\r\n"
		}
		b.WriteString(strings.Join(f, ", ") + end)
	}
	return []byte(b.String())
}

func TestRunQuotedChunks(t *testing.T) {
	p := adultModel(t)
	in := quotedInput(t, 300)
	want, wantRes := run(t, p, in, Options{Header: true, Workers: 1, ChunkBytes: 1 << 20})
	ref, refRes := reference(t, p, in, true)
	if want != ref {
		t.Fatalf("output differs from one reader's:\n%s\nwant\n%s", want, ref)
	}
	sameResult(t, "one chunk", wantRes, refRes)
	if wantRes.Records != 300 || wantRes.Invalid != 0 {
		t.Fatalf("result %+v, want 300 valid records", wantRes)
	}
	rows := readCSV(t, want)
	if len(rows) != 301 || !strings.HasSuffix(rows[3][2], "K\nsecond line, with \"quotes\"") || rows[5][2] != "a,b" {
		t.Fatalf("%d rows; row 3 %q, row 5 %q", len(rows), rows[3], rows[5])
	}
	// Quoting a value and blank lines change no prediction.
	plain, _ := run(t, p, []byte(strings.Join(adultLines(t)[:301], "\n")), Options{Header: true})
	for i, row := range readCSV(t, plain)[1:] {
		if i%7 != 1 && i%7 != 3 && i%7 != 4 && (row[0] != rows[i+1][0] || row[1] != rows[i+1][1]) {
			t.Errorf("row %d: %q, unquoted %q", i+1, rows[i+1], row)
		}
	}
	for _, opt := range []Options{
		{Header: true, Workers: 2, ChunkBytes: 64},
		{Header: true, Workers: 3, ChunkBytes: 1},
		{Header: true, Workers: 1, ChunkBytes: 200},
	} {
		got, res := run(t, p, in, opt)
		if got != want {
			t.Errorf("chunk %d: output differs", opt.ChunkBytes)
		}
		sameResult(t, fmt.Sprintf("chunk %d", opt.ChunkBytes), res, wantRes)
	}
}

// A record with the wrong number of fields gets empty columns and an
// error naming its line in the whole input.
func TestRunRagged(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)
	const bad = 12000 // record index
	lines[bad+1] = strings.Join(strings.Split(lines[bad+1], ", ")[:14], ", ")
	in := []byte(strings.Join(lines, "\n") + "\n")
	for _, opt := range []Options{
		{Header: true},
		{Header: true, ChunkBytes: 4096},
		{Header: true, ChunkBytes: 64, Workers: 3},
	} {
		out, res := run(t, p, in, opt)
		if res.Records != 16281 || res.Invalid != 1 || len(res.Errors) != 1 {
			t.Fatalf("chunk %d: result %+v", opt.ChunkBytes, res)
		}
		const want = "line 12002: record has 14 fields, want 15"
		if res.Errors[0] != want {
			t.Errorf("chunk %d: error %q, want %q", opt.ChunkBytes, res.Errors[0], want)
		}
		rows := strings.Split(out, "\n")
		if len(rows) != 16283 || rows[bad+1] != ",," || rows[bad] == ",," || rows[bad+2] == ",," {
			t.Errorf("chunk %d: %d lines; rows around the bad one: %q", opt.ChunkBytes, len(rows), rows[bad:bad+3])
		}
	}
}

// Unreadable records of every kind are counted and named by the line
// where a reader of the whole input finds them, in any chunking.
func TestRunInvalid(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[:60]
	lines[5] = `25, Priv"ate, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K`
	lines[9] = `"25" x, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K`
	lines[14] = `25, "Private` + "\n" + `more", 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, "<=50K" "`
	lines[20] = "1,2,3"
	lines[30] = `25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K, extra`
	lines[40] = `abc, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K`
	in := []byte(strings.Join(lines, "\n") + "\n")
	want, wantRes := reference(t, p, in, true)
	if wantRes.Invalid != 5 {
		t.Fatalf("reference result %+v", wantRes)
	}
	for _, chunk := range []int{1, 64, 300, 1 << 20} {
		got, res := run(t, p, in, Options{Header: true, ChunkBytes: chunk})
		if got != want {
			t.Errorf("chunk %d: output\n%s\nwant\n%s", chunk, got, want)
		}
		sameResult(t, fmt.Sprintf("chunk %d", chunk), res, wantRes)
	}
}

// A quoted field left open at the end of the input is an error on the line
// where it opened; the records before it are predicted.
func TestRunUnterminated(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[:20]
	in := []byte(strings.Join(lines, "\n") + "\n" + `25, "Private, 226802` + "\n1, 2\n")
	want, wantRes := reference(t, p, in, true)
	for _, chunk := range []int{1, 64, 1 << 20} {
		got, res := run(t, p, in, Options{Header: true, ChunkBytes: chunk})
		if got != want {
			t.Errorf("chunk %d: output\n%s\nwant\n%s", chunk, got, want)
		}
		sameResult(t, fmt.Sprintf("chunk %d", chunk), res, wantRes)
	}
	if wantRes.Records != 20 || wantRes.Invalid != 1 || !strings.HasPrefix(wantRes.Errors[0], "line 21,") {
		t.Errorf("result %+v", wantRes)
	}
}

// A record over perch.MaxRecordBytes is refused, as the data readers
// refuse it, without holding it whole.
func TestRunTooLong(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[:30]
	long := strings.Replace(lines[3], "Private", strings.Repeat("x", perch.MaxRecordBytes), 1)
	quoted := strings.Replace(lines[6], "Private", `"`+strings.Repeat("y\n", perch.MaxRecordBytes/2)+`"`, 1)
	odd := strings.Replace(lines[9], "Private", strings.Repeat(`"`, 3)+strings.Repeat("z", perch.MaxRecordBytes), 1)
	lines[3], lines[6], lines[9] = long, quoted, odd
	in := []byte(strings.Join(lines, "\n") + "\n")
	want, wantRes := reference(t, p, in, true)
	if wantRes.Invalid < 2 {
		t.Fatalf("reference result %+v", wantRes)
	}
	for _, chunk := range []int{1, 4096, 1 << 20} {
		got, res := run(t, p, in, Options{Header: true, ChunkBytes: chunk})
		if got != want {
			t.Errorf("chunk %d: output\n%s\nwant\n%s", chunk, got, want)
		}
		sameResult(t, fmt.Sprintf("chunk %d", chunk), res, wantRes)
	}
}

func TestRunHeader(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[:5]
	for _, c := range []struct{ header, want string }{
		{strings.Replace(lines[0], "workclass", "work_class", 1), `line 1: header column 2 is "work_class", the model's schema says "workclass"`},
		{strings.Replace(lines[0], "age,", "", 1), `line 1: header column 1 is "workclass", the model's schema says "age"`},
		{strings.TrimSuffix(lines[0], ",native_country,income"), "line 1: header has 13 columns, the model's schema has 15"},
		{lines[1], `line 1: header column 1 is "25", the model's schema says "age"`},
	} {
		in := c.header + "\n" + strings.Join(lines[1:], "\n") + "\n"
		var out bytes.Buffer
		_, err := Run(p, strings.NewReader(in), &out, Options{Header: true})
		if err == nil || err.Error() != c.want || perch.Code(err) != perch.EInvalid {
			t.Errorf("header %.30q: error %v, want %q", c.header, err, c.want)
		}
	}
	// A header with spaces, CRLF, a byte order mark, quotes or no final
	// newline is the same header.
	for _, h := range []string{
		"\xEF\xBB\xBF" + lines[0] + "\r\n",
		strings.ReplaceAll(lines[0], ",", " , ") + "\n",
		`"age",workclass,` + strings.SplitN(lines[0], ",", 3)[2] + "\n",
		"\n" + lines[0] + "\n",
		lines[0],
	} {
		in := h
		if strings.HasSuffix(h, "\n") {
			in += strings.Join(lines[1:], "\n")
		}
		out, res := run(t, p, []byte(in), Options{Header: true})
		want := 4
		if !strings.HasSuffix(h, "\n") {
			want = 0
		}
		if res.Records != int64(want) || strings.Count(out, "\n") != want+1 {
			t.Errorf("header %.30q: %d records, output %q", h, res.Records, out)
		}
	}
}

func TestRunEmpty(t *testing.T) {
	p := adultModel(t)
	for _, in := range []string{"", "\n", "\n\n \n"} {
		out, res := run(t, p, []byte(in), Options{})
		if out != "bestAnswer,score,trueLabel\n" || res.Records != 0 || res.Invalid != 0 {
			t.Errorf("input %q: output %q, result %+v", in, out, res)
		}
		var b bytes.Buffer
		_, err := Run(p, strings.NewReader(in), &b, Options{Header: true})
		if err == nil || perch.Code(err) != perch.EInvalid || b.Len() != 0 {
			t.Errorf("input %q with a header: error %v, output %q", in, err, b.String())
		}
	}
	// A header alone gives a header alone.
	out, res := run(t, p, []byte(adultLines(t)[0]+"\n"), Options{Header: true})
	if out != "bestAnswer,score,trueLabel\n" || res.Records != 0 {
		t.Errorf("header only: output %q, result %+v", out, res)
	}
}

// Without a header, the first line is a record.
func TestRunNoHeader(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[1:101]
	in := []byte(strings.Join(lines, "\n") + "\n")
	out, res := run(t, p, in, Options{ChunkBytes: 128})
	want, wantRes := reference(t, p, in, false)
	if out != want || res.Records != 100 {
		t.Errorf("output differs from one reader's; result %+v", res)
	}
	sameResult(t, "no header", res, wantRes)
}

// Missing markers are the caller's to choose.
func TestRunMissing(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[:3]
	lines[2] = strings.Replace(lines[2], "Private", "NA", 1)
	in := []byte(strings.Join(lines, "\n") + "\n")
	out1, _ := run(t, p, in, Options{Header: true, Missing: []string{"NA"}})
	lines[2] = strings.Replace(lines[2], "NA", "", 1)
	out2, _ := run(t, p, []byte(strings.Join(lines, "\n")+"\n"), Options{Header: true})
	if out1 != out2 {
		t.Errorf("NA as missing:\n%s\nempty:\n%s", out1, out2)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n -= len(b); w.n < 0 {
		return 0, io.ErrShortWrite
	}
	return len(b), nil
}

type failReader struct {
	r io.Reader
	n int
}

func (r *failReader) Read(b []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	b = b[:min(len(b), r.n)]
	n, err := r.r.Read(b)
	r.n -= n
	return n, err
}

// Read and write errors end the run and are returned.
func TestRunIOErrors(t *testing.T) {
	p := adultModel(t)
	in := shipped(t, "adult/test.csv")
	_, err := Run(p, bytes.NewReader(in), &failWriter{n: 100000}, Options{Header: true, ChunkBytes: 4096})
	if err != io.ErrShortWrite {
		t.Errorf("write error: got %v", err)
	}
	_, err = Run(p, &failReader{r: bytes.NewReader(in), n: 500000}, io.Discard, Options{Header: true, ChunkBytes: 4096})
	if err != io.ErrUnexpectedEOF {
		t.Errorf("read error: got %v", err)
	}
}

func TestRunWine(t *testing.T) {
	in := shipped(t, "wine-quality/wine.csv")
	n := bytes.Count(in, []byte{'\n'}) - 1
	mc := train(t, "wine-quality/wine.csv", "quality", perch.MulticlassModel, func(s *perch.Schema) {
		s.Attributes[s.Target()].Type = perch.Categorical
	})
	reg := train(t, "wine-quality/wine.csv", "quality", perch.RegressionModel, nil)
	for _, c := range []struct {
		p      *model.Predictor
		header string
	}{
		{mc, "3,4,5,6,7,8,9,trueLabel"},
		{reg, "score,trueLabel"},
	} {
		out, res := run(t, c.p, in, Options{Header: true, ChunkBytes: 10000})
		if res.Records != int64(n) || res.Invalid != 0 {
			t.Errorf("%s: result %+v, want %d records", c.header, res, n)
		}
		rows := readCSV(t, out)
		if got := strings.Join(rows[0], ","); got != c.header {
			t.Errorf("header %q, want %q", got, c.header)
		}
		if len(rows) != n+1 {
			t.Errorf("%s: %d rows, want %d", c.header, len(rows)-1, n)
		}
		ref, _ := reference(t, c.p, in, true)
		if out != ref {
			t.Errorf("%s: output differs from one reader's", c.header)
		}
		width := len(rows[0])
		for i, row := range rows[1:] {
			if len(row) != width {
				t.Fatalf("%s: row %d has %d columns", c.header, i+1, len(row))
			}
			sum := 0.0
			for _, s := range row[:width-1] {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("%s: row %d: %v", c.header, i+1, err)
				}
				sum += v
			}
			if c.p == mc && math.Abs(sum-1) > 1e-5 {
				t.Fatalf("row %d: class scores sum to %v", i+1, sum)
			}
			if c.p == reg && (sum < 0 || sum > 12) {
				t.Fatalf("row %d: score %v", i+1, sum)
			}
		}
	}
}

// A rowId comes out as tag.
func TestRunTag(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(string(shipped(t, "wine-quality/wine.csv")), "\n"), "\n")[:400]
	for i := range lines {
		id := "id"
		if i > 0 {
			id = fmt.Sprintf(`"r,%d"`, i)
		}
		lines[i] = id + "," + lines[i]
	}
	in := []byte(strings.Join(lines, "\n") + "\n")
	s, err := data.InferSchema(bytes.NewReader(in), data.InferOptions{Target: "quality"})
	if err != nil {
		t.Fatal(err)
	}
	id := "id"
	s.RowID = &id
	tab, err := data.Load(bytes.NewReader(in), s, nil, data.Options{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := learn.Train(tab, learn.Options{Type: perch.RegressionModel})
	if err != nil {
		t.Fatal(err)
	}
	p, err := model.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := run(t, p, in, Options{Header: true, ChunkBytes: 100})
	rows := readCSV(t, out)
	if strings.Join(rows[0], ",") != "score,trueLabel,tag" || len(rows) != 400 || rows[7][2] != "r,7" {
		t.Errorf("header %q, %d rows, row 7 %q", rows[0], len(rows), rows[7])
	}
}

// bigAdult is Adult's test rows repeated to n records, with the header.
func bigAdult(tb testing.TB, n int) []byte {
	lines := adultLines(tb)
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for i := 0; i < n; i++ {
		b.WriteString(lines[1+i%(len(lines)-1)])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func BenchmarkRun(b *testing.B) {
	p := adultModel(b)
	const n = 200000
	in := bigAdult(b, n)
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(p, bytes.NewReader(in), io.Discard, Options{Header: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// Run reads any input as one data.CSVReader over the whole of it does,
// however it is cut.
func FuzzRun(f *testing.F) {
	lines := adultLines(f)
	f.Add([]byte(strings.Join(lines[1:4], "\n")), 1, false)
	f.Add(quotedInput(f, 12), 64, true)
	f.Add([]byte("\xEF\xBB\xBF"+lines[1]+"\r\n\xEF\xBB\xBF"+lines[2]+"\n"), 5, false)
	f.Add([]byte(lines[1]+"\n"+`1, "a`+"\n\""+` "x,`+"\n"+`y"" "`+"\n"+lines[2]), 20, false)
	f.Add([]byte(`"a""b`+"\n\r\n"+`c",`+"\n"+lines[3]+"\n \t\n"+`x"y,"z`+"\n"+lines[4]), 3, false)
	f.Add([]byte(lines[0]+"\n"+lines[5]+"\n"+strings.Repeat(",", 14)+"\n?, ?,"+strings.Repeat(" ?,", 13)), 7, true)
	f.Fuzz(func(t *testing.T, in []byte, chunk int, header bool) {
		if chunk <= 0 || chunk > 1<<20 {
			return
		}
		p := adultModel(t)
		if header {
			// The header is the schema's whatever the first record is.
			in = append([]byte(lines[0]+"\n"), in...)
		}
		want, wantRes := reference(t, p, in, header)
		got, res := run(t, p, in, Options{Header: header, ChunkBytes: chunk, Workers: 2})
		if got != want {
			t.Errorf("chunk %d: output\n%q\nwant\n%q", chunk, got, want)
		}
		sameResult(t, fmt.Sprintf("chunk %d", chunk), res, wantRes)
	})
}

// Unlabelled input, without the target's column, is predicted as the same
// records with it, and the output has no trueLabel column: through the
// header, or by Options.NoTarget without one; on the fast path and on the
// reader's (a quoted field).
func TestRunUnlabelled(t *testing.T) {
	p := adultModel(t)
	lines := adultLines(t)[:200]
	lines[7] = strings.Replace(lines[7], "Private", `"Private"`, 1)
	var labelled, unlabelled strings.Builder
	for _, l := range lines {
		labelled.WriteString(l + "\n")
		unlabelled.WriteString(l[:strings.LastIndexByte(l, ',')] + "\n")
	}
	want, wantRes := run(t, p, []byte(labelled.String()), Options{Header: true})
	var stripped strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(want, "\n"), "\n") {
		stripped.WriteString(l[:strings.LastIndexByte(l, ',')] + "\n")
	}
	if !strings.HasPrefix(stripped.String(), "bestAnswer,score\n") {
		t.Fatalf("stripped output starts %.40q", stripped.String())
	}
	for _, chunk := range []int{1, 4096, 1 << 20} {
		got, res := run(t, p, []byte(unlabelled.String()), Options{Header: true, ChunkBytes: chunk})
		if got != stripped.String() {
			t.Errorf("chunk %d, header without the target: output\n%.300s\nwant\n%.300s", chunk, got, stripped.String())
		}
		sameResult(t, fmt.Sprintf("chunk %d", chunk), res, wantRes)
	}
	body := unlabelled.String()[strings.IndexByte(unlabelled.String(), '\n')+1:]
	got, _ := run(t, p, []byte(body), Options{NoTarget: true})
	if got != stripped.String() {
		t.Errorf("NoTarget without a header: output\n%.300s\nwant\n%.300s", got, stripped.String())
	}
}
