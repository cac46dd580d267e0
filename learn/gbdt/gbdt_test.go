package gbdt

import (
	"bytes"
	"math"
	"math/bits"
	"math/rand/v2"
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
