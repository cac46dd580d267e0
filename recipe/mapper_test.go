package recipe

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

// names returns the names of all of m's features.
func names(m *Mapper) []string {
	var out []string
	for i := range m.Dim() {
		out = append(out, m.FeatureName(int32(i)))
	}
	return out
}

// features maps fields and returns feature name → value.
func features(m *Mapper, fields ...string) map[string]float64 {
	var v perch.Vector
	m.Map(fields, &v)
	out := make(map[string]float64, len(v.Index))
	for j, i := range v.Index {
		out[m.FeatureName(i)] = v.Value[j]
	}
	return out
}

func TestAdultRecipe(t *testing.T) {
	p, err := compileString(adultRecipe, adultSchema())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"workclass", "education", "marital_status", "occupation", "relationship", "race", "sex", "native_country",
		"quantile_bin(age,10)", "quantile_bin(hours_per_week,10)", "quantile_bin(education_num,10)",
		"normalize(capital_gain)", "normalize(capital_loss)", "edu_x_occ", "sex_x_marital",
	}
	if got := p.Outputs(); !reflect.DeepEqual(got, want) {
		t.Errorf("outputs = %q\nwant %q", got, want)
	}
	m, err := p.Fit(adultRows)
	if err != nil {
		t.Fatal(err)
	}
	got := features(m, adultRows[1]...)
	wantF := map[string]float64{
		"workclass=Self-emp-not-inc": 1, "education=Bachelors": 1, "marital_status=Married-civ-spouse": 1,
		"occupation=Exec-managerial": 1, "relationship=Husband": 1, "race=White": 1, "sex=Male": 1,
		"native_country=United-States": 1, "quantile_bin(age,10)=8": 1, "quantile_bin(hours_per_week,10)=0": 1,
		"quantile_bin(education_num,10)=4": 1, "normalize(capital_gain)": got["normalize(capital_gain)"],
		"edu_x_occ=Bachelors_Exec-managerial": 1, "sex_x_marital=Male_Married-civ-spouse": 1,
	}
	if !reflect.DeepEqual(got, wantF) {
		t.Errorf("features = %v\nwant %v", got, wantF)
	}
	if z := got["normalize(capital_gain)"]; z >= 0 || z < -1 {
		t.Errorf("normalize(capital_gain) of 0 = %v, want a little below 0", z)
	}
}

func TestBuiltinGroups(t *testing.T) {
	s := testSchema()
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{"ALL_INPUTS", []string{"age", "color", "flag", "text", "note", "size"}},
		{"ALL_NUMERIC", []string{"age", "size"}},
		{"ALL_CATEGORICAL", []string{"color"}},
		{"ALL_BINARY", []string{"flag"}},
		{"ALL_TEXT", []string{"text", "note"}},
		{"quantile_bin(ALL_NUMERIC, 5)", []string{"quantile_bin(age,5)", "quantile_bin(size,5)"}},
	} {
		p, err := compileString(`{"outputs":["`+tc.out+`"]}`, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Outputs(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %q, want %q", tc.out, got, tc.want)
		}
	}
	p, err := compileString(`{"groups":{"G":"group(ALL_TEXT, age, text)","H":"group_remove(ALL_NUMERIC, age)","K":"group(H, G)"},
		"assignments":{"lc":"lowercase(text)","lc2":"no_punct(lc)"},
		"outputs":["K","normalize(H)","lc2","ngram(lc2, 3)","G","size"]}`, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"size", "text", "note", "age", "normalize(size)", "lc2", "ngram(lc2,3)"}
	if got := p.Outputs(); !reflect.DeepEqual(got, want) {
		t.Errorf("outputs = %q, want %q", got, want)
	}
}

func TestQuantileBins(t *testing.T) {
	var xs []float64
	for i := 1; i <= 100; i++ {
		xs = append(xs, float64(i))
	}
	if got, want := fitEdges(xs, 4), []float64{25.5, 50.5, 75.5}; !reflect.DeepEqual(got, want) {
		t.Errorf("edges of 1..100 in 4 bins = %v, want %v", got, want)
	}
	for x, want := range map[float64]int{-5: 0, 25: 0, 25.5: 1, 26: 1, 50.5: 2, 75.4: 2, 75.5: 3, 1000: 3} {
		if got := bin([]float64{25.5, 50.5, 75.5}, x); got != want {
			t.Errorf("bin(%v) = %d, want %d", x, got, want)
		}
	}
	for _, tc := range []struct {
		xs   []float64
		n    int
		want []float64
	}{
		// Ties stay together; a frequent value gets a bin of its own and
		// the other bins share the rest.
		{[]float64{0, 0, 0, 0, 0, 0, 0, 1, 2, 3}, 4, []float64{0.5, 1.5, 2.5}},
		{[]float64{0, 0, 0, 0, 0, 0, 0, 1, 2, 3}, 3, []float64{0.5, 1.5}},
		{[]float64{1, 1, 2, 2, 2, 2, 2, 2, 3, 3}, 10, []float64{1.5, 2.5}},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 3, []float64{3.5, 6.5}},
		{[]float64{1, 2, 3}, 10, []float64{1.5, 2.5}},
		{[]float64{7, 7, 7}, 10, nil},
		{nil, 10, nil},
		{[]float64{-1e308, 1e308}, 2, []float64{0}},
		{[]float64{1, math.Nextafter(1, 2)}, 2, []float64{math.Nextafter(1, 2)}},
	} {
		if got := fitEdges(tc.xs, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("edges of %v in %d bins = %v, want %v", tc.xs, tc.n, got, tc.want)
		}
	}
	s := &perch.Schema{Attributes: []perch.Attribute{{Name: "x", Type: perch.Numeric}}}
	rows := column([]float64{1, 2, 3, 4, 5, 6, 7, 8})
	rows = append(rows, []string{""}, []string{"n/a"})
	m := mustFit(t, `{"outputs":["quantile_bin(x, 4)"]}`, s, rows)
	want := []string{"quantile_bin(x,4)=0", "quantile_bin(x,4)=1", "quantile_bin(x,4)=2", "quantile_bin(x,4)=3", "quantile_bin(x,4)=missing"}
	if got := names(m); !reflect.DeepEqual(got, want) {
		t.Errorf("features = %q, want %q", got, want)
	}
	for in, want := range map[string]string{"2": "quantile_bin(x,4)=0", "2.5": "quantile_bin(x,4)=1", " 9e9 ": "quantile_bin(x,4)=3", "-1": "quantile_bin(x,4)=0", "": "quantile_bin(x,4)=missing", "NaN": "quantile_bin(x,4)=missing", "1e999": "quantile_bin(x,4)=missing"} {
		if got := features(m, in); !reflect.DeepEqual(got, map[string]float64{want: 1}) {
			t.Errorf("Map(%q) = %v, want %s", in, got, want)
		}
	}
}

func column(xs []float64) [][]string {
	var rows [][]string
	for _, x := range xs {
		rows = append(rows, []string{fmt.Sprint(x)})
	}
	return rows
}

var textSchema = &perch.Schema{Attributes: []perch.Attribute{
	{Name: "text", Type: perch.Text}, {Name: "cat", Type: perch.Categorical},
	{Name: "flag", Type: perch.Binary}, {Name: "num", Type: perch.Numeric},
}}

func TestTextTerms(t *testing.T) {
	rows := [][]string{{"the quick brown fox"}}
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{"text", []string{"brown", "fox", "quick", "the"}},
		{"ngram(text, 2)", []string{"brown", "brown fox", "fox", "quick", "quick brown", "the", "the quick"}},
		{"ngram(text, 3)", []string{"brown", "brown fox", "fox", "quick", "quick brown", "quick brown fox", "the", "the quick", "the quick brown"}},
		{"osb(text, 2)", []string{"brown_fox", "quick_brown", "the_quick"}},
		{"osb(text, 3)", []string{"brown_fox", "quick__fox", "quick_brown", "the__brown", "the_quick"}},
		{"osb(text, 4)", []string{"brown_fox", "quick__fox", "quick_brown", "the___fox", "the__brown", "the_quick"}},
	} {
		m := mustFit(t, `{"outputs":["`+tc.out+`"]}`, textSchema, rows)
		var want []string
		for _, w := range tc.want {
			want = append(want, m.outs[0].name+"="+w)
		}
		if got := names(m); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: features = %q\nwant %q", tc.out, got, want)
		}
		// The only training record is of average length: its weights are 1.
		f := features(m, rows[0]...)
		for _, n := range want {
			if f[n] != 1 {
				t.Errorf("%s: %s = %v, want 1", tc.out, n, f[n])
			}
		}
	}
}

func TestTextTransforms(t *testing.T) {
	rows := [][]string{{"Seat-belts! save LIVES, ... \"always\" (c'est ÉTÉ)"}}
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{"no_punct(text)", []string{"LIVES", "Seat-belts", "always", "c'est", "save", "ÉTÉ"}},
		{"lowercase(text)", []string{"\"always\"", "(c'est", "...", "lives,", "save", "seat-belts!", "été)"}},
		{"lowercase(no_punct(text))", []string{"always", "c'est", "lives", "save", "seat-belts", "été"}},
		{"no_punct(lowercase(text))", []string{"always", "c'est", "lives", "save", "seat-belts", "été"}},
		{"ngram(no_punct(text), 2)", []string{"LIVES", "LIVES always", "Seat-belts", "Seat-belts save", "always", "always c'est", "c'est", "c'est ÉTÉ", "save", "save LIVES", "ÉTÉ"}},
	} {
		m := mustFit(t, `{"outputs":["`+tc.out+`"]}`, textSchema, rows)
		var got []string
		for _, n := range names(m) {
			got = append(got, strings.TrimPrefix(n, m.outs[0].name+"="))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: terms = %q\nwant %q", tc.out, got, tc.want)
		}
	}
	if got := trimPunct("seat-belts!"); got != "seat-belts" {
		t.Errorf("trimPunct(seat-belts!) = %q", got)
	}
	// Records average 2 terms. Unseen terms count towards the weight, and
	// repeats do not.
	m := mustFit(t, `{"outputs":["lowercase(text)"]}`, textSchema, [][]string{{"a b"}, {"b c d"}, {"e"}, {""}})
	w := math.Sqrt(2.0 / 4)
	got := features(m, "A a b c f")
	if want := (map[string]float64{"lowercase(text)=a": w, "lowercase(text)=b": w, "lowercase(text)=c": w}); !reflect.DeepEqual(got, want) {
		t.Errorf("features = %v, want %v", got, want)
	}
	if got := features(m, " \t "); len(got) != 0 {
		t.Errorf("empty text gives %v", got)
	}
}

func TestCartesian(t *testing.T) {
	rows := [][]string{
		{"Big red", "x", "yes", "1"},
		{"small", "y", "0", "2"},
		{"", "", "maybe", "3"},
		{"red", "x", "", "4"},
	}
	m := mustFit(t, `{"outputs":["cartesian(cat, flag)","cartesian(quantile_bin(num, 2), cat)","cartesian(flag, lowercase(text))"]}`, textSchema, rows)
	want := []string{
		"cartesian(cat,flag)=x_true", "cartesian(cat,flag)=y_false", "cartesian(cat,flag)=missing",
		"cartesian(quantile_bin(num,2),cat)=0_x", "cartesian(quantile_bin(num,2),cat)=0_y", "cartesian(quantile_bin(num,2),cat)=1_x",
		"cartesian(quantile_bin(num,2),cat)=missing",
		"cartesian(flag,lowercase(text))=false_small", "cartesian(flag,lowercase(text))=true_big", "cartesian(flag,lowercase(text))=true_red",
		"cartesian(flag,lowercase(text))=missing",
	}
	if got := names(m); !reflect.DeepEqual(got, want) {
		t.Errorf("features = %q\nwant %q", got, want)
	}
	got := features(m, "RED big  Red", "y", "T", "1.5")
	r := math.Sqrt(1.5 / 2) // training records have 1.5 crossings on average
	// y_true was never seen, so cartesian(cat,flag) gives nothing.
	wantF := map[string]float64{
		"cartesian(quantile_bin(num,2),cat)=0_y":   1,
		"cartesian(flag,lowercase(text))=true_big": r,
		"cartesian(flag,lowercase(text))=true_red": r,
	}
	if !reflect.DeepEqual(got, wantF) {
		t.Errorf("features = %v\nwant %v", got, wantF)
	}
	got = features(m, "", "", "", "")
	wantF = map[string]float64{"cartesian(cat,flag)=missing": 1, "cartesian(quantile_bin(num,2),cat)=missing": 1, "cartesian(flag,lowercase(text))=missing": 1}
	if !reflect.DeepEqual(got, wantF) {
		t.Errorf("missing record: features = %v\nwant %v", got, wantF)
	}
	// Crossing two long texts crosses their first 100 words.
	var words []string
	for i := range 150 {
		words = append(words, fmt.Sprint("w", i))
	}
	long := strings.Join(words, " ")
	m = mustFit(t, `{"outputs":["cartesian(text, text)"]}`, textSchema, [][]string{{long}})
	got = features(m, long)
	if m.Dim() != 100*100 || len(got) != 100*100 || got["cartesian(text,text)=w99_w0"] != 1 || got["cartesian(text,text)=w0_w100"] != 0 {
		t.Errorf("crossing long texts: %d features, %d for the record", m.Dim(), len(got))
	}
}

func TestMissing(t *testing.T) {
	rows := [][]string{{"", "a", "1", "1"}, {"x", "", "no", "3"}, {"y", "b", "?", "abc"}}
	m := mustFit(t, `{"outputs":["ALL_INPUTS"]}`, textSchema, rows)
	want := []string{"text=x", "text=y", "cat=a", "cat=b", "cat=missing", "flag=false", "flag=true", "flag=missing", "num", "num=missing"}
	if got := names(m); !reflect.DeepEqual(got, want) {
		t.Errorf("features = %q\nwant %q", got, want)
	}
	o := m.outs[3]
	if o.mean != 2 || o.std != 1 {
		t.Errorf("num: mean %v std %v, want 2 and 1", o.mean, o.std)
	}
	for _, tc := range []struct {
		fields []string
		want   map[string]float64
	}{
		{[]string{"", "", "", ""}, map[string]float64{"cat=missing": 1, "flag=missing": 1, "num=missing": 1}},
		{[]string{"z", "c", "TRUE", "4.5"}, map[string]float64{"flag=true": 1, "num": 2.5}},
		{[]string{"x y", "a", "f", "2"}, map[string]float64{"text=x": math.Sqrt(0.5), "text=y": math.Sqrt(0.5), "cat=a": 1, "flag=false": 1}},
		{[]string{"x", "b", "Yes", " 1e0 "}, map[string]float64{"text=x": 1, "cat=b": 1, "flag=true": 1, "num": -1}},
		{[]string{"x"}, map[string]float64{"text=x": 1, "cat=missing": 1, "flag=missing": 1, "num=missing": 1}},
		{nil, map[string]float64{"cat=missing": 1, "flag=missing": 1, "num=missing": 1}},
	} {
		if got := features(m, tc.fields...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Map(%q) = %v\nwant %v", tc.fields, got, tc.want)
		}
	}
	// No missing value in training, no missing feature.
	m = mustFit(t, `{"outputs":["cat","num"]}`, textSchema, [][]string{{"", "a", "", "1"}, {"", "b", "", "2"}})
	if got, want := names(m), []string{"cat=a", "cat=b", "num"}; !reflect.DeepEqual(got, want) {
		t.Errorf("features = %q, want %q", got, want)
	}
	if got := features(m, "", "", "", ""); len(got) != 0 {
		t.Errorf("missing values give %v", got)
	}
}

func TestParseValues(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "y": 1, "Yes": 1, "t": 1, "TRUE": 1, " true ": 1, "0": 0, "N": 0, "no": 0, "F": 0, "False": 0, "": -1, "2": -1, "yep": -1, "truee": -1} {
		if got := parseBinary(in); got != want {
			t.Errorf("parseBinary(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]float64{"1": 1, "-2.5": -2.5, "+.5": 0.5, " 3e2 ": 300, "0x1p4": 16, "7.": 7, "1E+2": 100} {
		if got, ok := parseNumber(in); !ok || got != want {
			t.Errorf("parseNumber(%q) = %v, %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "?", "abc", "-", ".", "1e", "e5", "1-2", "Inf", "-inf", "NaN", "1e400", "1,5", "1.2.3", "1_000", "0x"} {
		if got, ok := parseNumber(in); ok {
			t.Errorf("parseNumber(%q) = %v, want missing", in, got)
		}
	}
}

// randomRecord draws a record for testSchema-like mixed schemas: seen and
// unseen values, missing ones and junk.
func randomRecord(rng *rand.Rand, s *perch.Schema) []string {
	words := []string{"the", "The", "quick", "brown", "fox!", "jumps", "over", "lazy", "dog.", "É", "été", "--", "a-b", "x\u00a0y", "naïve", "GO", "go"}
	r := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		if rng.IntN(10) == 0 {
			continue
		}
		switch a.Type {
		case perch.Numeric:
			switch rng.IntN(20) {
			case 0:
				r[i] = "n/a"
			case 1:
				r[i] = "1-2"
			default:
				r[i] = fmt.Sprint(math.Round(rng.NormFloat64()*1000) / 100)
			}
		case perch.Binary:
			r[i] = []string{"1", "0", "yes", "no", "T", "f", "maybe"}[rng.IntN(7)]
		case perch.Categorical:
			r[i] = fmt.Sprint("v", rng.IntN(30))
		default:
			var b strings.Builder
			for range rng.IntN(12) {
				b.WriteString(words[rng.IntN(len(words))])
				b.WriteString([]string{" ", "  ", "\t", " \n"}[rng.IntN(4)])
			}
			r[i] = b.String()
		}
	}
	return r
}

const richRecipe = `{"groups":{"NUM":"group(age, size)"},
 "assignments":{"clean":"lowercase(no_punct(text))","cc":"cartesian(color, flag)"},
 "outputs":["ALL_CATEGORICAL","ALL_BINARY","quantile_bin(NUM, 5)","normalize(ALL_NUMERIC)","age",
  "text","ngram(clean, 3)","osb(note, 4)","cc","cartesian(quantile_bin(age,3), clean)","cartesian(note, text)"]}`

func fitRandom(t testing.TB, recipe string, s *perch.Schema, n int, seed uint64) (*Mapper, [][]string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = randomRecord(rng, s)
	}
	return mustFit(t, recipe, s, rows), rows
}

func TestDecodeMapsIdentically(t *testing.T) {
	s := testSchema()
	m, _ := fitRandom(t, richRecipe, s, 300, 1)
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b, s)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := d.MarshalJSON()
	if !bytes.Equal(b, b2) {
		t.Fatalf("Marshal(Decode(b)) differs from b")
	}
	if !reflect.DeepEqual(names(m), names(d)) {
		t.Fatalf("feature names differ")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	var v1, v2 perch.Vector
	for range 2000 {
		r := randomRecord(rng, s)
		m.Map(r, &v1)
		d.Map(r, &v2)
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("Map(%q):\n%v\n%v", r, v1, v2)
		}
		checkVector(t, m, &v1)
	}
}

// checkVector checks that indices increase and are features.
func checkVector(t *testing.T, m *Mapper, v *perch.Vector) {
	t.Helper()
	for j, i := range v.Index {
		if i < 0 || int(i) >= m.Dim() || j > 0 && i <= v.Index[j-1] {
			t.Fatalf("bad indices %v", v.Index)
		}
		if v.Value[j] == 0 || math.IsNaN(v.Value[j]) || math.IsInf(v.Value[j], 0) {
			t.Fatalf("bad value %v of %s", v.Value[j], m.FeatureName(i))
		}
	}
}

func TestFitDeterministic(t *testing.T) {
	s := testSchema()
	a, rows := fitRandom(t, richRecipe, s, 500, 3)
	slices.Reverse(rows)
	p, _ := compileString(richRecipe, s)
	b, err := p.Fit(rows)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	if !bytes.Equal(ja, jb) {
		t.Error("the same rows in another order give another mapper")
	}
}

// TestTrainingTermsKnown checks that Fit spells every term as Map hashes
// it: each training record's text terms all have features, and their
// weights make a vector of squared length meanTerms.
func TestTrainingTermsKnown(t *testing.T) {
	s := testSchema()
	m, rows := fitRandom(t, `{"outputs":["text","ngram(lowercase(no_punct(text)), 4)","osb(lowercase(note), 5)","cartesian(lowercase(text), no_punct(note))"]}`, s, 400, 4)
	var v perch.Vector
	var buf []byte
	for _, r := range rows {
		m.Map(r, &v)
		sum := make([]float64, len(m.outs))
		n := make([]int, len(m.outs))
		for j, i := range v.Index {
			o := m.feats[i].out
			if m.feats[i].item == itemMissing {
				continue
			}
			sum[o] += v.Value[j] * v.Value[j]
			n[o]++
		}
		for oi := range m.outs {
			set := map[string]bool{}
			m.outs[oi].eachTerm(r, &buf, func(b []byte) { set[string(b)] = true })
			if n[oi] != len(set) {
				t.Fatalf("%s of %q: %d features, %d terms", m.outs[oi].name, r, n[oi], len(set))
			}
			if n[oi] > 0 && math.Abs(sum[oi]-m.outs[oi].meanTerms) > 1e-12 {
				t.Fatalf("%s of %q: squared norm %v", m.outs[oi].name, r, sum[oi])
			}
		}
	}
}

func TestLowercaseHash(t *testing.T) {
	for _, s := range []string{"", "ABC", "ÉtÉ", "ǅ", "İstanbul", "ΣΑΣ", "a\xffB", "\xe2\x82", "Ⅻ", "ＡＢ"} {
		if got, want := hashToken(7, s, true), hashString(7, string(appendToken(nil, s, true))); got != want {
			t.Errorf("%q: hashToken %x, hash of appendToken %x", s, got, want)
		}
	}
}

func TestKeep(t *testing.T) {
	s := testSchema()
	m, _ := fitRandom(t, richRecipe, s, 300, 5)
	before := names(m)
	ref, _ := m.MarshalJSON()
	old, _ := Decode(ref, s)
	keep := make([]bool, m.Dim()-3) // the last three are kept
	for i := range keep {
		keep[i] = i%3 != 1
	}
	remap := m.Keep(keep)
	if len(remap) != len(before) {
		t.Fatalf("remap has %d entries, want %d", len(remap), len(before))
	}
	var wantNames []string
	next := int32(0)
	for i, n := range before {
		if i < len(keep) && !keep[i] {
			if remap[i] != -1 {
				t.Fatalf("remap[%d] = %d, want -1", i, remap[i])
			}
			continue
		}
		if remap[i] != next {
			t.Fatalf("remap[%d] = %d, want %d", i, remap[i], next)
		}
		next++
		wantNames = append(wantNames, n)
	}
	if m.Dim() != int(next) || !reflect.DeepEqual(names(m), wantNames) {
		t.Fatalf("Dim %d, want %d; names differ", m.Dim(), next)
	}
	// The kept features map as before, renumbered, with the same values.
	rng := rand.New(rand.NewPCG(6, 6))
	var v1, v2 perch.Vector
	for range 1000 {
		r := randomRecord(rng, s)
		old.Map(r, &v1)
		m.Map(r, &v2)
		var want perch.Vector
		for j, i := range v1.Index {
			if to := remap[i]; to >= 0 {
				want.Add(to, v1.Value[j])
			}
		}
		if !reflect.DeepEqual(want.Index, v2.Index) || !reflect.DeepEqual(want.Value, v2.Value) {
			t.Fatalf("Map(%q) after Keep:\n got %v\nwant %v", r, v2, want)
		}
	}
	// A kept mapper saves and loads.
	b, _ := m.MarshalJSON()
	d, err := Decode(b, s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names(d), wantNames) {
		t.Error("decoded names differ")
	}
	m.Keep(make([]bool, m.Dim()))
	if m.Dim() != 0 {
		t.Errorf("Dim = %d after dropping all", m.Dim())
	}
	m.Map(randomRecord(rng, s), &v1)
	if len(v1.Index) != 0 {
		t.Errorf("empty mapper gives %v", v1)
	}
}

func TestDecodeErrors(t *testing.T) {
	s := &perch.Schema{Attributes: []perch.Attribute{{Name: "x", Type: perch.Numeric}, {Name: "c", Type: perch.Categorical}}}
	rec := `"recipe":{"outputs":["quantile_bin(x,3)","c","x"]}`
	good := `{` + rec + `,"outputs":[{"name":"quantile_bin(x,3)","edges":[1,2],"bins":[0,2],"missing":false},{"name":"c","terms":["a","b"],"missing":true},{"name":"x","mean":1,"std":2,"value":true,"missing":false}]}`
	m, err := Decode([]byte(good), s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(m), []string{"quantile_bin(x,3)=0", "quantile_bin(x,3)=2", "c=a", "c=b", "c=missing", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{`[]`, "recipe: fitted recipe is not valid: json: cannot unmarshal array into Go value of type recipe.wireMapper"},
		{`{"outputs":[]}`, "recipe: fitted recipe has no recipe"},
		{`{"recipe":{"outputs":["x"]},"outputs":[],"extra":1}`, `recipe: fitted recipe is not valid: json: unknown field "extra"`},
		{`{"recipe":{"outputs":["y"]},"outputs":[]}`, `recipe: outputs[0]: "y" is not a variable, group or assignment`},
		{`{` + rec + `,"outputs":[]}`, "recipe: fitted recipe has 0 outputs, its recipe gives 3"},
		{strings.Replace(good, `"name":"c"`, `"name":"d"`, 1), `recipe: fitted output "d" is "c" in the recipe`},
		{strings.Replace(good, `"edges":[1,2]`, `"edges":[2,1]`, 1), `recipe: fitted output "quantile_bin(x,3)": edges must increase and be fewer than the bins`},
		{strings.Replace(good, `"edges":[1,2]`, `"edges":[1,2,3]`, 1), `recipe: fitted output "quantile_bin(x,3)": edges must increase and be fewer than the bins`},
		{strings.Replace(good, `"bins":[0,2]`, `"bins":[0,3]`, 1), `recipe: fitted output "quantile_bin(x,3)": bins must increase and be within the edges`},
		{strings.Replace(good, `"bins":[0,2]`, `"bins":[2,0]`, 1), `recipe: fitted output "quantile_bin(x,3)": bins must increase and be within the edges`},
		{strings.Replace(good, `["a","b"]`, `["b","a"]`, 1), `recipe: fitted output "c": terms must be sorted and distinct`},
		{strings.Replace(good, `["a","b"]`, `["a","a"]`, 1), `recipe: fitted output "c": terms must be sorted and distinct`},
		{strings.Replace(good, `"std":2`, `"std":0`, 1), `recipe: fitted output "x": needs a mean and a positive std`},
		{strings.Replace(good, `"mean":1,`, ``, 1), `recipe: fitted output "x": needs a mean and a positive std`},
	} {
		_, err := Decode([]byte(tc.in), s)
		if err == nil || err.Error() != tc.want || perch.Code(err) != perch.EInvalid {
			t.Errorf("Decode(%.60s...):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
	text := &perch.Schema{Attributes: []perch.Attribute{{Name: "t", Type: perch.Text}}}
	for _, tc := range []struct{ in, want string }{
		{`{"recipe":{"outputs":["t"]},"outputs":[{"name":"t","meanTerms":2.5,"terms":["a"]}]}`, ""},
		{`{"recipe":{"outputs":["t"]},"outputs":[{"name":"t","terms":["a"]}]}`, `recipe: fitted output "t": needs meanTerms of 1 or more`},
		{`{"recipe":{"outputs":["t"]},"outputs":[{"name":"t","meanTerms":0.5,"terms":["a"]}]}`, `recipe: fitted output "t": needs meanTerms of 1 or more`},
	} {
		_, err := Decode([]byte(tc.in), text)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
			t.Errorf("Decode(%s):\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
	// A schema that no longer fits the recipe.
	s2 := &perch.Schema{Attributes: []perch.Attribute{{Name: "x", Type: perch.Categorical}, {Name: "c", Type: perch.Categorical}}}
	if _, err := Decode([]byte(good), s2); err == nil || err.Error() != `recipe: quantile_bin needs a NUMERIC variable, "x" is CATEGORICAL` {
		t.Errorf("Decode with another schema: %v", err)
	}
}

func TestFitNoRows(t *testing.T) {
	p, _ := compileString(`{"outputs":["ALL_INPUTS"]}`, textSchema)
	if _, err := p.Fit(nil); err == nil || err.Error() != "recipe: no rows to fit the recipe to" {
		t.Errorf("Fit(nil): %v", err)
	}
}

// raceEnabled is set when the race detector, which makes allocations
// happen, is on.
var raceEnabled bool

func TestMapAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := mustFit(t, adultRecipe, adultSchema(), adultRows)
	var v perch.Vector
	for _, r := range adultRows {
		if n := testing.AllocsPerRun(100, func() { m.Map(r, &v) }); n != 0 {
			t.Errorf("Map(%q): %v allocations", r, n)
		}
	}
	// Text, n-grams and crossings with text do not allocate either.
	s := testSchema()
	m, rows := fitRandom(t, richRecipe, s, 200, 7)
	for _, r := range rows[:20] {
		if n := testing.AllocsPerRun(100, func() { m.Map(r, &v) }); n != 0 {
			t.Errorf("Map(%q): %v allocations", r, n)
		}
	}
}

func TestMapConcurrent(t *testing.T) {
	s := testSchema()
	m, rows := fitRandom(t, richRecipe, s, 200, 8)
	want := make([]perch.Vector, len(rows))
	for i, r := range rows {
		m.Map(r, &want[i])
	}
	done := make(chan bool)
	for range 8 {
		go func() {
			var v perch.Vector
			ok := true
			for k := range 5 {
				for i := range rows {
					i = (i + k*31) % len(rows)
					m.Map(rows[i], &v)
					ok = ok && reflect.DeepEqual(v.Index, want[i].Index) && reflect.DeepEqual(v.Value, want[i].Value)
				}
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Map differs")
		}
	}
}

func BenchmarkMap(b *testing.B) {
	m := mustFit(b, adultRecipe, adultSchema(), adultRows)
	var v perch.Vector
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Map(adultRows[i%len(adultRows)], &v)
	}
}

func BenchmarkMapText(b *testing.B) {
	s := testSchema()
	m, rows := fitRandom(b, richRecipe, s, 1000, 9)
	var v perch.Vector
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Map(rows[i%len(rows)], &v)
	}
}

// readAdult reads one of the Adult files shipped in examples, trimmed and
// with ? as missing, as perch's readers give it.
func readAdult(t testing.TB, name string) [][]string {
	f, err := os.Open(filepath.Join("..", "examples", "adult", name+".csv.gz"))
	if err != nil {
		t.Fatal(err) // shipped with the repository
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(z).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	for _, r := range rows {
		for i := range r {
			if r[i] = strings.TrimSpace(r[i]); r[i] == "?" {
				r[i] = ""
			}
		}
	}
	return rows
}

func TestAdultData(t *testing.T) {
	train, test := readAdult(t, "train"), readAdult(t, "test")
	s := adultSchema()
	suggested, _ := json.Marshal(Suggest(s, nil))
	for _, rec := range []string{adultRecipe, string(suggested)} {
		m := mustFit(t, rec, s, train)
		b, _ := m.MarshalJSON()
		d, err := Decode(b, s)
		if err != nil {
			t.Fatal(err)
		}
		var v1, v2 perch.Vector
		for _, r := range test {
			m.Map(r, &v1)
			d.Map(r, &v2)
			if !reflect.DeepEqual(v1, v2) {
				t.Fatalf("Map(%q) differs after Decode", r)
			}
			checkVector(t, m, &v1)
		}
		for _, r := range test[:50] {
			if raceEnabled {
				break
			}
			if n := testing.AllocsPerRun(20, func() { m.Map(r, &v1) }); n != 0 {
				t.Fatalf("Map(%q): %v allocations", r, n)
			}
		}
		t.Logf("%d features, %d bytes of state", m.Dim(), len(b))
	}
	// capital_gain is 0 in 92% of rows; the zeros get one bin and the
	// other bins split the rest.
	m := mustFit(t, `{"outputs":["quantile_bin(capital_gain, 10)"]}`, s, train)
	if got := m.outs[0].edges[0]; len(got) < 6 || got[0] != 57 {
		t.Errorf("capital_gain edges = %v, want 6 or more starting at 57", got)
	}
}

func TestSimpleDecimalMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "39", "108435", "0.9962", "-3.25", "123456789012345", "0.00000000000001", "7.", ".5", "1.2345678901234"} {
		got, ok := simpleDecimal(s)
		want, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil || got != want {
			t.Errorf("%q: got %v %v, strconv %v %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"", "-", ".", "1e5", "1234567890123456", "1.2.3", "+1", "0x10", " 1"} {
		if _, ok := simpleDecimal(s); ok {
			t.Errorf("%q: took the fast path", s)
		}
	}
}

func TestSimpleDecimalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		s := strconv.FormatFloat(rng.Float64()*math.Pow(10, float64(rng.IntN(12))), 'f', rng.IntN(8), 64)
		got, ok := simpleDecimal(s)
		want, _ := strconv.ParseFloat(s, 64)
		if ok && got != want {
			t.Fatalf("%q: got %v, strconv %v", s, got, want)
		}
	}
}
