package model

import (
	"strings"
	"sync"

	"github.com/perchml/perch"
	"github.com/perchml/perch/recipe"
)

// Predictor is a model compiled for prediction. It is safe for concurrent
// use: per-call state lives in pooled scratch space, so a steady stream of
// predictions does not allocate.
type Predictor struct {
	m         *Model
	algorithm string
	positions map[string]int // attribute name → column, for Records only
	target    int
	numeric   []bool // columns whose values must parse as numbers
	names     []string
	labels    []string // Classes, for the hot path
	pool      sync.Pool
}

type scratch struct {
	v      perch.Vector
	scores []float64
	fields []string
}

// Compile prepares m for prediction.
func Compile(m *Model) (*Predictor, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	s := m.Schema
	p := &Predictor{
		m:         m,
		algorithm: strings.ToUpper(m.Algorithm),
		positions: make(map[string]int, len(s.Attributes)),
		target:    s.Target(),
		numeric:   make([]bool, len(s.Attributes)),
		names:     make([]string, len(s.Attributes)),
		labels:    m.Classes,
	}
	for i, a := range s.Attributes {
		p.positions[a.Name] = i
		p.names[i] = a.Name
		p.numeric[i] = a.Type == perch.Numeric && !s.Excluded(a.Name)
	}
	k := m.Linear.K
	n := len(s.Attributes)
	p.pool.New = func() any {
		return &scratch{scores: make([]float64, k), fields: make([]string, n)}
	}
	return p, nil
}

// Model returns the model p predicts with.
func (p *Predictor) Model() *Model { return p.m }

// Width is the number of fields Predict expects: the schema's attributes.
func (p *Predictor) Width() int { return len(p.names) }

// Predict predicts one record given as fields in schema column order, ""
// for missing. out's storage is reused.
func (p *Predictor) Predict(fields []string, out *perch.Prediction) {
	sc := p.pool.Get().(*scratch)
	p.predict(fields, out, sc)
	p.pool.Put(sc)
}

func (p *Predictor) predict(fields []string, out *perch.Prediction, sc *scratch) {
	m := p.m
	out.Type = m.Type
	out.Algorithm = p.algorithm
	out.Invalid = out.Invalid[:0]
	out.Scores = out.Scores[:0]
	out.Original = ""
	out.Value = 0
	out.Label = ""
	for i, ok := range p.numeric {
		if ok && i < len(fields) && fields[i] != "" {
			if _, ok := recipe.ParseNumber(fields[i]); !ok {
				out.Invalid = append(out.Invalid, p.names[i])
			}
		}
	}
	m.Mapper.Map(fields, &sc.v)
	m.Linear.Score(&sc.v, sc.scores)
	switch m.Type {
	case perch.BinaryModel:
		c := 0
		if sc.scores[0] >= m.ScoreThreshold {
			c = 1
		}
		out.Label = p.labels[c]
		out.Scores = append(out.Scores, perch.Score{Label: out.Label, Value: sc.scores[0]})
		if len(m.Original) == 2 {
			out.Original = m.Original[c]
		}
	case perch.MulticlassModel:
		best := 0
		for c, v := range sc.scores {
			if v > sc.scores[best] {
				best = c
			}
			out.Scores = append(out.Scores, perch.Score{Label: p.labels[c], Value: v})
		}
		out.Label = p.labels[best]
	default:
		out.Value = sc.scores[0]
	}
}

// PredictRecord predicts a record given as attribute name → value, as AML's
// Predict takes it. Unknown attributes are ignored and absent ones are
// missing, as AML did.
func (p *Predictor) PredictRecord(r perch.Record, out *perch.Prediction) {
	sc := p.pool.Get().(*scratch)
	for i := range sc.fields {
		sc.fields[i] = ""
	}
	for k, v := range r {
		if i, ok := p.positions[k]; ok {
			v = strings.TrimSpace(v)
			if v == "?" { // the readers' default missing marker
				v = ""
			}
			sc.fields[i] = v
		}
	}
	p.predict(sc.fields, out, sc)
	p.pool.Put(sc)
}

// Score returns the raw score(s) for fields: the probability of "1" for
// BINARY, the value for REGRESSION, and for MULTICLASS the index of the
// best class. Evaluation uses it to avoid building label strings.
func (p *Predictor) Score(fields []string, scores []float64) {
	sc := p.pool.Get().(*scratch)
	p.m.Mapper.Map(fields, &sc.v)
	p.m.Linear.Score(&sc.v, scores)
	p.pool.Put(sc)
}
