package data

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

func schemaOf(target string, attrs ...string) *perch.Schema {
	s := &perch.Schema{TargetAttributeName: target}
	for _, a := range attrs {
		name, typ, _ := strings.Cut(a, ":")
		s.Attributes = append(s.Attributes, perch.Attribute{Name: name, Type: perch.AttributeType(typ)})
	}
	return s
}

func csvStats(t *testing.T, s *perch.Schema, in string) *Stats {
	t.Helper()
	st, err := ComputeStats(NewCSVReader(strings.NewReader(in), Options{Header: true}), s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func TestComputeStats(t *testing.T) {
	s := schemaOf("y", "x:NUMERIC", "c:CATEGORICAL", "b:BINARY", "t:TEXT", "y:BINARY")
	st := csvStats(t, s, `x,c,b,t,y
1,red,yes,hello world,1
2,blue,no,hello,0
3,red,y,the world is big,1
4,green,maybe,,0
abc,red,1,hello hello,1
,blue,0,x,0
`)
	if st.Records != 6 || len(st.Attributes) != 5 {
		t.Fatalf("records %d, attributes %d", st.Records, len(st.Attributes))
	}

	x := st.Attributes[0]
	if x.Name != "x" || x.Type != perch.Numeric || x.Count != 4 || x.Missing != 1 || x.Invalid != 1 {
		t.Errorf("x counts: %+v", x)
	}
	n := x.Numeric
	if n.Min != 1 || n.Max != 4 || n.Mean != 2.5 || n.Median != 2.5 || !near(n.StdDev, math.Sqrt(1.25)) {
		t.Errorf("x numeric: %+v", n)
	}
	var counts []int
	for _, b := range n.Histogram {
		counts = append(counts, b.Count)
	}
	if !reflect.DeepEqual(counts, []int{1, 0, 0, 1, 0, 0, 1, 0, 0, 1}) || n.Histogram[0].Lower != 1 || n.Histogram[9].Upper != 4 {
		t.Errorf("x histogram: %+v", n.Histogram)
	}
	if x.Correlation == nil || !near(*x.Correlation, -1/math.Sqrt(5)) {
		t.Errorf("x correlation: %v, want %v", x.Correlation, -1/math.Sqrt(5))
	}

	c := st.Attributes[1]
	wantTop := []ValueCount{{"red", 3}, {"blue", 2}, {"green", 1}}
	if c.Count != 6 || c.Categorical.Distinct != 3 || !reflect.DeepEqual(c.Categorical.Top, wantTop) {
		t.Errorf("c: %+v %+v", c, c.Categorical)
	}
	// red is always 1, blue and green always 0: the category decides y.
	if c.Correlation == nil || !near(*c.Correlation, 1) {
		t.Errorf("c correlation: %v, want 1", c.Correlation)
	}

	b := st.Attributes[2]
	if b.Count != 5 || b.Invalid != 1 || *b.Binary != (BinaryStats{True: 3, False: 2}) {
		t.Errorf("b: %+v %+v", b, b.Binary)
	}
	if b.Correlation == nil || !near(*b.Correlation, 1) {
		t.Errorf("b correlation: %v, want 1", b.Correlation)
	}

	tx := st.Attributes[3]
	wantText := &TextStats{Tokens: 10, MeanTokens: 2, DistinctTokens: 6,
		Top: []ValueCount{{"hello", 4}, {"world", 2}, {"big", 1}, {"is", 1}, {"the", 1}, {"x", 1}}}
	if tx.Count != 5 || tx.Missing != 1 || !reflect.DeepEqual(tx.Text, wantText) || tx.Correlation != nil {
		t.Errorf("t: %+v %+v", tx, tx.Text)
	}

	y := st.Attributes[4]
	if *y.Binary != (BinaryStats{True: 3, False: 3}) || y.Correlation != nil {
		t.Errorf("y: %+v", y)
	}
	wantTarget := &TargetStats{Name: "y", Type: perch.Binary, Distinct: 2, Values: []ValueCount{{"0", 3}, {"1", 3}}}
	if !reflect.DeepEqual(st.Target, wantTarget) {
		t.Errorf("target: %+v", st.Target)
	}
}

func TestComputeStatsPositiveValue(t *testing.T) {
	s := schemaOf("income", "age:NUMERIC", "income:BINARY")
	s.PositiveValue = ">50K"
	st := csvStats(t, s, "age,income\n20, <=50K\n30, <=50K\n50, >50K\n40, ?\n")
	inc := st.Attributes[1]
	if *inc.Binary != (BinaryStats{True: 1, False: 2}) || inc.Missing != 1 {
		t.Errorf("income: %+v %+v", inc, inc.Binary)
	}
	if st.Target.Missing != 1 || !reflect.DeepEqual(st.Target.Values, []ValueCount{{"<=50K", 2}, {">50K", 1}}) {
		t.Errorf("target: %+v", st.Target)
	}
	// age 20, 30, 50 against 0, 0, 1.
	if want := 0.9449111825230679; st.Attributes[0].Correlation == nil || !near(*st.Attributes[0].Correlation, want) {
		t.Errorf("age correlation %v, want %v", st.Attributes[0].Correlation, want)
	}
}

func TestComputeStatsNumericTarget(t *testing.T) {
	s := schemaOf("q", "c:CATEGORICAL", "x:NUMERIC", "k:NUMERIC", "q:NUMERIC")
	st := csvStats(t, s, "c,x,k,q\na,1,5,2\na,2,5,4\nb,3,5,6\nb,4,5,8\nb,5,5,oops\n")
	// x and q are linear over the first four rows: r = 1.
	if r := st.Attributes[1].Correlation; r == nil || !near(*r, 1) {
		t.Errorf("x correlation %v, want 1", r)
	}
	// eta of c: class means 3 and 7 around 5; between 16, total 20.
	if r := st.Attributes[0].Correlation; r == nil || !near(*r, math.Sqrt(0.8)) {
		t.Errorf("c correlation %v, want %v", r, math.Sqrt(0.8))
	}
	// A constant has no correlation.
	if r := st.Attributes[2].Correlation; r != nil {
		t.Errorf("k correlation %v, want none", *r)
	}
	if h := st.Attributes[2].Numeric.Histogram; len(h) != 1 || h[0] != (Bin{5, 5, 5}) {
		t.Errorf("constant histogram %+v", h)
	}
	q := st.Target
	if q.Invalid != 1 || q.Values != nil || q.Numeric == nil || q.Numeric.Mean != 5 || q.Numeric.Median != 5 {
		t.Errorf("target %+v %+v", q, q.Numeric)
	}
}

func TestComputeStatsCategoricalTarget(t *testing.T) {
	s := schemaOf("k", "x:NUMERIC", "c:CATEGORICAL", "k:CATEGORICAL")
	st := csvStats(t, s, "x,c,k\n1,u,A\n2,v,A\n3,u,B\n4,v,B\n")
	if r := st.Attributes[0].Correlation; r == nil || !near(*r, math.Sqrt(0.8)) {
		t.Errorf("x correlation %v, want %v", r, math.Sqrt(0.8))
	}
	if r := st.Attributes[1].Correlation; r != nil {
		t.Errorf("c correlation %v, want none", *r)
	}
	if !reflect.DeepEqual(st.Target.Values, []ValueCount{{"A", 2}, {"B", 2}}) {
		t.Errorf("target %+v", st.Target)
	}
}

func TestComputeStatsNoTarget(t *testing.T) {
	st := csvStats(t, schemaOf("", "x:NUMERIC", "y:NUMERIC"), "x,y\n1,2\n2,4\n")
	if st.Target != nil || st.Attributes[0].Correlation != nil {
		t.Errorf("%+v", st)
	}
	b, _ := json.Marshal(st)
	if bytes.Contains(b, []byte(`"target"`)) || bytes.Contains(b, []byte(`correlationWithTarget`)) {
		t.Errorf("%s", b)
	}
}

func TestComputeStatsExtremes(t *testing.T) {
	s := schemaOf("y", "x:NUMERIC", "e:NUMERIC", "y:NUMERIC")
	st := csvStats(t, s, "x,e,y\n1e308,,1\n-1e308,,2\n1.7e308,?,3\nInf,,4\n")
	x := st.Attributes[0]
	if x.Count != 3 || x.Invalid != 1 || x.Numeric.Min != -1e308 || x.Numeric.Max != 1.7e308 {
		t.Errorf("x: %+v %+v", x, x.Numeric)
	}
	if x.Numeric.Mean <= 0 || math.IsInf(x.Numeric.StdDev, 0) || x.Numeric.Histogram[9].Count != 1 {
		t.Errorf("x numeric: %+v", x.Numeric)
	}
	if st.Attributes[1].Numeric != nil || st.Attributes[1].Missing != 4 {
		t.Errorf("e: %+v", st.Attributes[1])
	}
	if _, err := json.Marshal(st); err != nil {
		t.Errorf("marshal: %v", err)
	}
}

func TestComputeStatsErrors(t *testing.T) {
	s := schemaOf("", "a:NUMERIC", "b:NUMERIC")
	_, err := ComputeStats(NewCSVReader(strings.NewReader("1,2\n3\n"), Options{Fields: -1}), s)
	if want := "line 2: record has 1 fields, schema has 2 attributes"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = ComputeStats(NewCSVReader(strings.NewReader("1,2\n3\n"), Options{}), s)
	if want := "line 2: record has 1 fields, want 2"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = ComputeStats(NewCSVReader(strings.NewReader("1,2\n"), Options{}), schemaOf("", "a:NUMBER"))
	if err == nil || perch.Code(err) != perch.EInvalid {
		t.Errorf("invalid schema: %v", err)
	}
}

func adultExcerptSchema(t testing.TB) *perch.Schema {
	s, err := ParseSchema([]byte(adultSchema))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestComputeStatsAdult(t *testing.T) {
	s := adultExcerptSchema(t)
	b, err := os.ReadFile("testdata/adult.csv")
	if err != nil {
		t.Fatal(err)
	}
	var first []byte
	for range 3 {
		st, err := ComputeStats(NewCSVReader(bytes.NewReader(b), Options{Header: true}), s)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
			if st.Records != 200 || !reflect.DeepEqual(st.Target.Values, []ValueCount{{"<=50K", 153}, {">50K", 47}}) {
				t.Errorf("records %d, target %+v", st.Records, st.Target)
			}
			if w := st.Attributes[1]; w.Missing != 10 || w.Categorical.Top[0] != (ValueCount{"Private", 136}) {
				t.Errorf("workclass: %+v %+v", w, w.Categorical)
			}
		} else if !bytes.Equal(out, first) {
			t.Fatal("statistics differ between runs")
		}
	}
}

func BenchmarkComputeStats(b *testing.B) {
	s := adultExcerptSchema(b)
	data, err := os.ReadFile("testdata/adult.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ComputeStats(NewCSVReader(bytes.NewReader(data), Options{Header: true}), s); err != nil {
			b.Fatal(err)
		}
	}
}
