package gbdt

import (
	"bytes"
	"math"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/metrics"
)

type labelled struct {
	schema *perch.Schema
	rows   [][]string
	y      []float64
}

var adult struct {
	once        sync.Once
	train, test labelled
}

// adultData loads Adult's training and test files with BINARY labels.
func adultData(tb testing.TB) (labelled, labelled) {
	tb.Helper()
	adult.once.Do(func() {
		b, err := examples.ReadAll("adult/train.csv")
		if err != nil {
			tb.Fatal(err)
		}
		s, err := data.InferSchema(bytes.NewReader(b), data.InferOptions{Target: "income"})
		if err != nil {
			tb.Fatal(err)
		}
		adult.train = loadLabelled(tb, b, s)
		tb2, err := examples.ReadAll("adult/test.csv")
		if err != nil {
			tb.Fatal(err)
		}
		adult.test = loadLabelled(tb, tb2, s)
	})
	return adult.train, adult.test
}

func loadLabelled(tb testing.TB, b []byte, s *perch.Schema) labelled {
	t, err := data.Load(bytes.NewReader(b), s, nil, data.Options{Header: s.DataFileContainsHeader})
	if err != nil {
		tb.Fatal(err)
	}
	col := s.Target()
	l := labelled{schema: s}
	for _, r := range t.Rows {
		if v, ok := data.BinaryLabel(s, r[col]); ok {
			l.rows = append(l.rows, r)
			l.y = append(l.y, float64(v))
		}
	}
	return l
}

// scores predicts rows with c, transformed.
func scores(c *Compiled, t perch.ModelType, rows [][]string) [][]float64 {
	bins := make([]uint8, c.Width())
	out := make([][]float64, len(rows))
	for i, r := range rows {
		c.Bin(r, bins)
		out[i] = make([]float64, c.K())
		c.Margin(bins, out[i])
		Transform(t, out[i])
	}
	return out
}

func auc(s [][]float64, y []float64) float64 {
	sc := make([]float64, len(s))
	lb := make([]bool, len(s))
	for i := range s {
		sc[i], lb[i] = s[i][0], y[i] == 1
	}
	return metrics.Binary(sc, lb, 0.5).AUC
}

func TestAdult(t *testing.T) {
	train, test := adultData(t)
	m, err := Train(train.schema, train.rows, train.y, perch.BinaryModel, 2, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(len(train.schema.Attributes)); err != nil {
		t.Fatal(err)
	}
	a := auc(scores(Compile(m), perch.BinaryModel, test.rows), test.y)
	t.Logf("Adult AUC %.4f, %d trees, %d nodes", a, m.Trees(), len(m.Feature))
	if a < 0.9273 {
		t.Errorf("AUC %.4f, want ≥ 0.9273", a)
	}
}

func BenchmarkTrainAdult(b *testing.B) {
	train, _ := adultData(b)
	for b.Loop() {
		if _, err := Train(train.schema, train.rows, train.y, perch.BinaryModel, 2, DefaultParams(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestContributionsSumToMargin(t *testing.T) {
	train, test := adultData(t)
	p := DefaultParams()
	p.NumTrees = 20
	m, err := Train(train.schema, train.rows, train.y, perch.BinaryModel, 2, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Compile(m)
	bins := make([]uint8, c.Width())
	margin := make([]float64, 1)
	phi := make([]float64, c.Width()+1)
	for _, r := range test.rows[:300] {
		c.Bin(r, bins)
		c.Margin(bins, margin)
		clear(phi)
		c.Contributions(bins, phi)
		s := 0.0
		for _, v := range phi {
			s += v
		}
		if d := s - margin[0]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("contributions sum to %v, margin %v", s, margin[0])
		}
	}
}

// synthetic makes n rows of four attributes (two numeric with missing
// values, a categorical, a binary) and a target that depends on them all.
func synthetic(n int, seed uint64) labelled {
	s := &perch.Schema{TargetAttributeName: "y", Attributes: []perch.Attribute{
		{Name: "a", Type: perch.Numeric}, {Name: "b", Type: perch.Numeric},
		{Name: "c", Type: perch.Categorical}, {Name: "d", Type: perch.Binary}, {Name: "y", Type: perch.Binary},
	}}
	rng := rand.New(rand.NewPCG(seed, 3))
	l := labelled{schema: s}
	for i := 0; i < n; i++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		c := rng.IntN(5)
		d := rng.IntN(2)
		z := a + 0.5*b*b + float64(c%3) - float64(d) + 0.3*rng.NormFloat64()
		r := []string{strconv.FormatFloat(a, 'g', 6, 64), strconv.FormatFloat(b, 'g', 6, 64), "c" + strconv.Itoa(c), strconv.Itoa(d), ""}
		if rng.IntN(10) == 0 {
			r[0] = ""
		}
		if rng.IntN(7) == 0 {
			r[1] = ""
		}
		y := 0.0
		if z > 1 {
			y = 1
		}
		r[4] = strconv.Itoa(int(y))
		l.rows = append(l.rows, r)
		l.y = append(l.y, y)
	}
	return l
}

// The contributions are the Shapley values of the trees' conditional
// expectations, computed here by brute force over every subset.
func TestContributionsExact(t *testing.T) {
	d := synthetic(2000, 1)
	p := DefaultParams()
	p.NumTrees, p.MaxLeaves, p.MinDataInLeaf = 5, 12, 5
	m, err := Train(d.schema, d.rows, d.y, perch.BinaryModel, 2, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Compile(m)
	w := c.Width()
	bins := make([]uint8, w)
	for _, r := range d.rows[:50] {
		c.Bin(r, bins)
		phi := make([]float64, w+1)
		c.Contributions(bins, phi)
		value := func(set int) float64 {
			var exp func(i int32) float64
			exp = func(i int32) float64 {
				f := m.Feature[i]
				switch {
				case f < 0:
					return m.Value[i]
				case set&(1<<f) != 0:
					if m.goesLeft(i, bins[f]) {
						return exp(m.Left[i])
					}
					return exp(m.Right[i])
				}
				l, r := m.Left[i], m.Right[i]
				return (m.Cover[l]*exp(l) + m.Cover[r]*exp(r)) / m.Cover[i]
			}
			v := m.Base[0]
			for _, root := range m.Roots {
				v += exp(root)
			}
			return v
		}
		fact := func(k int) float64 {
			f := 1.0
			for i := 2; i <= k; i++ {
				f *= float64(i)
			}
			return f
		}
		for j := 0; j < w; j++ {
			want := 0.0
			for set := 0; set < 1<<w; set++ {
				if set&(1<<j) != 0 {
					continue
				}
				k := bits.OnesCount(uint(set))
				want += fact(k) * fact(w-k-1) / fact(w) * (value(set|1<<j) - value(set))
			}
			if math.Abs(phi[j]-want) > 1e-9 {
				t.Fatalf("feature %d: contribution %v, Shapley value %v", j, phi[j], want)
			}
		}
		if math.Abs(phi[w]-value(0)) > 1e-9 {
			t.Fatalf("expected margin %v, want %v", phi[w], value(0))
		}
	}
}

// The only signal is whether x is missing; its values are noise. A split
// must send the missing values their own way.
func TestMissingnessSignal(t *testing.T) {
	s := &perch.Schema{TargetAttributeName: "y", Attributes: []perch.Attribute{
		{Name: "x", Type: perch.Numeric}, {Name: "noise", Type: perch.Numeric}, {Name: "y", Type: perch.Binary},
	}}
	rng := rand.New(rand.NewPCG(5, 5))
	gen := func(n int) labelled {
		l := labelled{schema: s}
		for i := 0; i < n; i++ {
			y := rng.IntN(2)
			x := strconv.FormatFloat(rng.NormFloat64(), 'g', 6, 64)
			// 90% of the positives and 10% of the negatives miss x.
			if (y == 1) == (rng.IntN(10) != 0) {
				x = ""
			}
			l.rows = append(l.rows, []string{x, strconv.FormatFloat(rng.NormFloat64(), 'g', 6, 64), strconv.Itoa(y)})
			l.y = append(l.y, float64(y))
		}
		return l
	}
	train, test := gen(5000), gen(2000)
	p := DefaultParams()
	p.NumTrees = 100
	m, err := Train(s, train.rows, train.y, perch.BinaryModel, 2, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Compile(m)
	a := auc(scores(c, perch.BinaryModel, test.rows), test.y)
	if a < 0.88 {
		t.Errorf("AUC %.4f, want ≥ 0.88 (the missing-ness alone gives 0.90)", a)
	}
	// A missing x is predicted positive, a present one negative.
	pm := scores(c, perch.BinaryModel, [][]string{{"", "0", ""}, {"0.3", "0", ""}})
	if pm[0][0] < 0.85 || pm[1][0] > 0.15 {
		t.Errorf("missing x scores %.3f, present x %.3f", pm[0][0], pm[1][0])
	}
	if m.Importance[0].Gain <= 10*m.Importance[1].Gain {
		t.Errorf("importance: x %+v, noise %+v", m.Importance[0], m.Importance[1])
	}
}

// Of 200 levels of a categorical attribute only 3 move the target; the
// trees must find those 3 and leave the rest alone.
func TestCategoricalFewLevelsMatter(t *testing.T) {
	s := &perch.Schema{TargetAttributeName: "y", Attributes: []perch.Attribute{
		{Name: "level", Type: perch.Categorical}, {Name: "y", Type: perch.Numeric},
	}}
	rng := rand.New(rand.NewPCG(6, 6))
	effect := map[int]float64{17: 3, 101: -2, 190: 4}
	gen := func(n int) labelled {
		l := labelled{schema: s}
		for i := 0; i < n; i++ {
			lv := rng.IntN(200)
			y := effect[lv] + 0.5*rng.NormFloat64()
			l.rows = append(l.rows, []string{"L" + strconv.Itoa(lv), ""})
			l.y = append(l.y, y)
		}
		return l
	}
	train := gen(40000)
	p := DefaultParams()
	p.NumTrees, p.LearningRate = 50, 0.2
	m, err := Train(s, train.rows, train.y, perch.RegressionModel, 1, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Compile(m)
	for lv := 0; lv < 200; lv++ {
		got := scores(c, perch.RegressionModel, [][]string{{"L" + strconv.Itoa(lv), ""}})[0][0]
		if want := effect[lv]; math.Abs(got-want) > 0.15 {
			t.Errorf("level %d predicted %.3f, want %.1f", lv, got, want)
		}
	}
	// A level never seen is predicted as the common ones.
	if got := scores(c, perch.RegressionModel, [][]string{{"new", ""}})[0][0]; math.Abs(got) > 0.15 {
		t.Errorf("an unseen level predicted %.3f, want 0", got)
	}
}

func TestEarlyStoppingStops(t *testing.T) {
	d := synthetic(3000, 2)
	p := DefaultParams()
	p.NumTrees, p.LearningRate, p.EarlyStoppingRounds = 2000, 0.3, 10
	m, err := Train(d.schema, d.rows, d.y, perch.BinaryModel, 2, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Trees(); n >= 200 || n < 2 {
		t.Fatalf("%d trees of up to %d", n, p.NumTrees)
	}
	if err := m.Check(len(d.schema.Attributes)); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped at %d trees", m.Trees())
}

func TestMulticlassAndRegression(t *testing.T) {
	d := synthetic(3000, 3)
	// Three classes from the same signal, and the signal itself.
	y3 := make([]float64, len(d.y))
	yr := make([]float64, len(d.y))
	for i, r := range d.rows {
		a, _ := strconv.ParseFloat(r[0], 64)
		yr[i] = 2 * a
		switch {
		case r[0] == "":
			y3[i] = 2
		case a > 0:
			y3[i] = 1
		}
	}
	m, err := Train(d.schema, d.rows, y3, perch.MulticlassModel, 3, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Compile(m)
	right := 0
	for i, s := range scores(c, perch.MulticlassModel, d.rows) {
		best := 0
		for k := range s {
			if s[k] > s[best] {
				best = k
			}
		}
		if float64(best) == y3[i] {
			right++
		}
	}
	if right < len(d.rows)*97/100 {
		t.Errorf("%d of %d classes right", right, len(d.rows))
	}
	m, err = Train(d.schema, d.rows, yr, perch.RegressionModel, 1, DefaultParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	se := 0.0
	for i, s := range scores(Compile(m), perch.RegressionModel, d.rows) {
		se += (s[0] - yr[i]) * (s[0] - yr[i])
	}
	if rmse := math.Sqrt(se / float64(len(yr))); rmse > 0.2 {
		t.Errorf("training RMSE %.3f", rmse)
	}
}

func TestTrainErrors(t *testing.T) {
	d := synthetic(100, 4)
	ones := make([]float64, len(d.y))
	for i := range ones {
		ones[i] = 1
	}
	for name, c := range map[string]struct {
		rows [][]string
		y    []float64
		want string
	}{
		"constant": {d.rows, ones, `target "y" has the same class in all 100 training rows: there is nothing to learn`},
		"one row":  {d.rows[:1], d.y[:1], "gbdt needs at least 2 training rows, found 1"},
		"no rows":  {nil, nil, "gbdt needs at least 2 training rows, found 0"},
	} {
		_, err := Train(d.schema, c.rows, c.y, perch.BinaryModel, 2, DefaultParams(), nil)
		if err == nil || err.Error() != c.want || perch.Code(err) != perch.EInvalid {
			t.Errorf("%s: got %v, want %q (Invalid)", name, err, c.want)
		}
	}
	text := &perch.Schema{TargetAttributeName: "y", Attributes: []perch.Attribute{{Name: "t", Type: perch.Text}, {Name: "y", Type: perch.Binary}}}
	if _, err := Train(text, [][]string{{"a b", "1"}, {"c", "0"}}, []float64{1, 0}, perch.BinaryModel, 2, DefaultParams(), nil); perch.Code(err) != perch.EInvalid {
		t.Errorf("text only: %v", err)
	}
}

func TestParseParams(t *testing.T) {
	p, err := ParseParams(map[string]string{"gbdt.numTrees": "300", "gbdt.learningRate": "0.05", "gbdt.maxDepth": "6", "seed": "3", "algorithm": "gbdt"})
	if err != nil {
		t.Fatal(err)
	}
	if p.NumTrees != 300 || p.LearningRate != 0.05 || p.MaxDepth != 6 || p.Seed != 3 {
		t.Errorf("got %+v", p)
	}
	for kv, want := range map[[2]string]string{
		{"gbdt.numTrees", "0"}:           `parameter gbdt.numTrees: "0" is not an integer from 1 to 100000`,
		{"gbdt.learningRate", "2"}:       `parameter gbdt.learningRate: "2" is not a number above 0 and at most 1`,
		{"gbdt.validationFraction", "1"}: `parameter gbdt.validationFraction: "1" is not a number from 0 to below 1`,
		{"gbdt.maxBins", "300"}:          `parameter gbdt.maxBins: "300" is not an integer from 3 to 255`,
		{"gbdt.lambdaL2", "-1"}:          `parameter gbdt.lambdaL2: "-1" is not a number ≥ 0`,
		{"gbdt.numTres", "3"}:            `parameter gbdt.numTres: unknown training parameter`,
		{"sgd.maxPasses", "3"}:           `parameter sgd.maxPasses: applies to algorithm sgd, not gbdt`,
	} {
		_, err := ParseParams(map[string]string{kv[0]: kv[1]})
		if err == nil || err.Error() != want {
			t.Errorf("%s=%s: got %v, want %q", kv[0], kv[1], err, want)
		}
	}
}

// The model does not depend on the number of cores.
func TestSameModelOnOneCore(t *testing.T) {
	train, _ := adultData(t)
	p := DefaultParams()
	p.NumTrees = 5
	a, err := Train(train.schema, train.rows, train.y, perch.BinaryModel, 2, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := runtime.GOMAXPROCS(1)
	b, err := Train(train.schema, train.rows, train.y, perch.BinaryModel, 2, p, nil)
	runtime.GOMAXPROCS(old)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("one core trained another model")
	}
	// The classes' trees grow at once on several cores.
	d := synthetic(2000, 7)
	y3 := make([]float64, len(d.y))
	for i, r := range d.rows {
		y3[i] = float64(len(r[2]) + int(d.y[i]) + len(r[0])%2)
	}
	p.NumTrees = 10
	a, err = Train(d.schema, d.rows, y3, perch.MulticlassModel, 5, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GOMAXPROCS(1)
	b, err = Train(d.schema, d.rows, y3, perch.MulticlassModel, 5, p, nil)
	runtime.GOMAXPROCS(old)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("one core trained another MULTICLASS model")
	}
}

func BenchmarkMargin(b *testing.B) {
	train, test := adultData(b)
	m, err := Train(train.schema, train.rows, train.y, perch.BinaryModel, 2, DefaultParams(), nil)
	if err != nil {
		b.Fatal(err)
	}
	c := Compile(m)
	bins := make([]uint8, c.Width())
	margin := make([]float64, 1)
	b.Run("bin", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			c.Bin(test.rows[i%len(test.rows)], bins)
		}
	})
	b.Run("walk", func(b *testing.B) {
		c.Bin(test.rows[0], bins)
		for b.Loop() {
			c.Margin(bins, margin)
		}
	})
	// rows walks blocks of 256 different records, as a batch does; the
	// time is per record.
	b.Run("rows", func(b *testing.B) {
		const n = 256
		w := c.Width()
		block := make([]uint8, n*w)
		margins := make([]float64, n)
		for i := range n {
			c.Bin(test.rows[i*7%len(test.rows)], block[i*w:i*w+w])
		}
		for b.Loop() {
			c.MarginRows(block, n, margins)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
	})
}

func TestNumBin(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for n := 0; n < 40; n++ {
		f := Feature{Type: perch.Numeric}
		for i := 0; i < n; i++ {
			f.Uppers = append(f.Uppers, float64(rng.IntN(50)))
		}
		slices.Sort(f.Uppers)
		for x := -1.0; x <= 51; x += 0.5 {
			want := 1
			for want-1 < len(f.Uppers) && f.Uppers[want-1] < x {
				want++
			}
			if got := f.numBin(x); int(got) != want {
				t.Fatalf("uppers %v, x %v: bin %d, want %d", f.Uppers, x, got, want)
			}
		}
	}
}
