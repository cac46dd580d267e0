package gbdt

import (
	"bytes"
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
