package model

import (
	"slices"
	"strings"
	"sync"

	"github.com/perchml/perch"
	"github.com/perchml/perch/learn/gbdt"
	"github.com/perchml/perch/recipe"
)

// Predictor is a model compiled for prediction. It is safe for concurrent
// use: per-call state lives in pooled scratch space, so a steady stream of
// predictions does not allocate.
type Predictor struct {
	m         *Model
	algorithm string
	target    int
	numeric   []bool // columns whose values must parse as numbers
	reads     []int  // columns the model reads, in schema order: a record without one lacks it
	names     []string
	labels    []string       // Classes, for the hot path
	trees     *gbdt.Compiled // gbdt models
	k         int            // scores per record
	pool      sync.Pool
}

type scratch struct {
	v      perch.Vector
	scores []float64
	fields []string
	bins   []uint8 // gbdt: one bin per feature, for rowBlock records
}

// rowBlock is the number of records ScoreRows bins at a time.
const rowBlock = 256

// Compile prepares m for prediction.
func Compile(m *Model) (*Predictor, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	s := m.Schema
	p := &Predictor{
		m:         m,
		algorithm: strings.ToUpper(m.Algorithm),
		target:    s.Target(),
		numeric:   make([]bool, len(s.Attributes)),
		names:     make([]string, len(s.Attributes)),
		labels:    m.Classes,
	}
	for i, a := range s.Attributes {
		p.names[i] = a.Name
		p.numeric[i] = a.Type == perch.Numeric && !s.Excluded(a.Name)
	}
	k, w := 1, 0
	if m.Trees != nil {
		p.trees = gbdt.Compile(m.Trees)
		k, w = m.Trees.K, p.trees.Width()
		for _, f := range m.Trees.Features {
			p.reads = append(p.reads, f.Column)
		}
		slices.Sort(p.reads)
		p.reads = slices.Compact(p.reads)
	} else {
		k = m.Linear.K
		for i, a := range s.Attributes {
			if !s.Excluded(a.Name) && !slices.Contains(m.Training.IgnoredAttributes, a.Name) {
				p.reads = append(p.reads, i)
			}
		}
	}
	p.k = k
	n := len(s.Attributes)
	p.pool.New = func() any {
		return &scratch{scores: make([]float64, k), fields: make([]string, n), bins: make([]uint8, w*rowBlock)}
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
	out.Missing = out.Missing[:0]
	out.Contributions = nil
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
	for _, i := range p.reads {
		if i >= len(fields) || fields[i] == "" {
			out.Missing = append(out.Missing, p.names[i])
		}
	}
	p.score(fields, sc.scores[:p.k], sc)
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
		for c, v := range sc.scores[:p.k] {
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
// Predict takes it. Unknown attributes are ignored; absent ones are
// missing, as empty ones are, as AML did, and out.Missing names those the
// model reads.
func (p *Predictor) PredictRecord(r perch.Record, out *perch.Prediction) {
	sc := p.pool.Get().(*scratch)
	p.Fields(r, sc.fields)
	p.predict(sc.fields, out, sc)
	p.pool.Put(sc)
}

// Fields lays a record out as Predict takes it, in dst (of Width fields):
// schema column order, values trimmed, "" for absent or missing ones.
// Looking each attribute up in the record, rather than each of the
// record's names in an index of the schema, costs the same and keeps no
// index in memory for every model served.
func (p *Predictor) Fields(r perch.Record, dst []string) {
	for i, name := range p.names {
		v, ok := r[name]
		if !ok {
			dst[i] = ""
			continue
		}
		v = strings.TrimSpace(v)
		if v == "?" { // the readers' default missing marker
			v = ""
		}
		dst[i] = v
	}
}

// Score returns the raw score(s) for fields: the probability of "1" for
// BINARY, the value for REGRESSION, and for MULTICLASS the index of the
// best class. Evaluation uses it to avoid building label strings.
func (p *Predictor) Score(fields []string, scores []float64) {
	sc := p.pool.Get().(*scratch)
	p.score(fields, scores, sc)
	p.pool.Put(sc)
}

func (p *Predictor) score(fields []string, scores []float64, sc *scratch) {
	if p.trees != nil {
		bins := sc.bins[:p.trees.Width()]
		p.trees.Bin(fields, bins)
		p.trees.Margin(bins, scores)
		gbdt.Transform(p.m.Type, scores)
		return
	}
	p.m.Mapper.Map(fields, &sc.v)
	p.m.Linear.Score(&sc.v, scores)
}

// Outputs is the number of scores Score writes for one record: the
// number of classes for MULTICLASS, 1 otherwise.
func (p *Predictor) Outputs() int { return p.k }

// ScoreRows writes the scores of many records, Outputs() per record, as
// Score would, with one pooled scratch space for them all.
func (p *Predictor) ScoreRows(rows [][]string, scores []float64) {
	k := p.k
	if p.trees == nil {
		for i, r := range rows {
			p.Score(r, scores[i*k:i*k+k])
		}
		return
	}
	sc := p.pool.Get().(*scratch)
	w := p.trees.Width()
	for lo := 0; lo < len(rows); lo += rowBlock {
		block := rows[lo:min(len(rows), lo+rowBlock)]
		for i, r := range block {
			p.trees.Bin(r, sc.bins[i*w:i*w+w])
		}
		out := scores[lo*k : (lo+len(block))*k]
		p.trees.MarginRows(sc.bins, len(block), out)
		for i := range block {
			gbdt.Transform(p.m.Type, out[i*k:i*k+k])
		}
	}
	p.pool.Put(sc)
}

// Contributions explains the prediction of one record (fields in schema
// column order) by each attribute's contribution to the raw margin, by
// TreeSHAP: for each class, one value per schema attribute (0 for the
// attributes the model does not use) and then the expected margin, which
// all add up to the margin (the log-odds of "1" for BINARY, the value for
// REGRESSION). out is reused when large enough. Only tree models explain.
func (p *Predictor) Contributions(fields []string, out []float64) ([]float64, error) {
	if p.trees == nil {
		return nil, perch.Errorf(perch.EInvalid, "contributions: the model's algorithm %s does not explain predictions (gbdt does)", p.m.Algorithm)
	}
	tm := p.m.Trees
	w := p.trees.Width()
	n := len(p.names) + 1
	out = slices.Grow(out[:0], p.k*n)[:p.k*n]
	clear(out)
	bins := make([]uint8, w)
	p.trees.Bin(fields, bins)
	phi := make([]float64, p.k*(w+1))
	p.trees.Contributions(bins, phi)
	for c := 0; c < p.k; c++ {
		for f := range tm.Features {
			out[c*n+tm.Features[f].Column] += phi[c*(w+1)+f]
		}
		out[c*n+n-1] = phi[c*(w+1)+w]
	}
	return out, nil
}

// Explain predicts one record (fields in schema column order) as Predict
// does and sets out.Contributions to its explanation by TreeSHAP, one
// value per input attribute. Only tree models explain.
func (p *Predictor) Explain(fields []string, out *perch.Prediction) error {
	phi, err := p.Contributions(fields, nil)
	if err != nil {
		return err
	}
	p.Predict(fields, out)
	s := p.m.Schema
	c := &perch.Contributions{}
	var cols []int
	for i, a := range s.Attributes {
		if !s.Excluded(a.Name) {
			c.Names = append(c.Names, a.Name)
			cols = append(cols, i)
		}
	}
	n := len(p.names) + 1
	for k := range p.k {
		m := perch.Margin{Expected: phi[k*n+n-1], Values: make([]float64, len(cols))}
		if p.m.Type == perch.MulticlassModel {
			m.Class = p.labels[k]
		}
		for j, i := range cols {
			m.Values[j] = phi[k*n+i]
		}
		c.Margins = append(c.Margins, m)
	}
	out.Contributions = c
	return nil
}
