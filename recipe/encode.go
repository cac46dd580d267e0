package recipe

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/perchml/perch"
)

// MarshalJSON writes the recipe and the fitted state of every output:
//
//	{"recipe":{...},"outputs":[{"name":"age","mean":38.5,"std":13.6,"value":true,"missing":false},...]}
//
// Vocabularies are written as sorted strings and numbers in their
// shortest exact form, so fitting the same rows twice gives the same
// bytes.
func (m *Mapper) MarshalJSON() ([]byte, error) {
	b := append([]byte(nil), `{"recipe":`...)
	b = m.recipe.appendJSON(b)
	b = append(b, `,"outputs":[`...)
	for i := range m.outs {
		o := &m.outs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, o.name)
		switch o.kind {
		case kNumeric:
			b = append(b, `,"mean":`...)
			b = strconv.AppendFloat(b, o.mean, 'g', -1, 64)
			b = append(b, `,"std":`...)
			b = strconv.AppendFloat(b, o.std, 'g', -1, 64)
			b = append(b, `,"value":`...)
			b = strconv.AppendBool(b, o.value)
		case kBin:
			b = appendFloats(b, "edges", o.edges[0])
			b = append(b, `,"bins":[`...)
			for j, x := range o.bins {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(x), 10)
			}
			b = append(b, ']')
		case kCross:
			if o.a.kind == kBin {
				b = appendFloats(b, "edgesA", o.edges[0])
			}
			if o.b.kind == kBin {
				b = appendFloats(b, "edgesB", o.edges[1])
			}
		}
		switch o.kind {
		case kText, kTerms, kCross:
			b = append(b, `,"meanTerms":`...)
			b = strconv.AppendFloat(b, o.meanTerms, 'g', -1, 64)
		}
		switch o.kind {
		case kCategorical, kBinary, kText, kTerms, kCross:
			b = append(b, `,"terms":[`...)
			for j, t := range o.terms {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, t)
			}
			b = append(b, ']')
		}
		if o.kind != kText && o.kind != kTerms {
			b = append(b, `,"missing":`...)
			b = strconv.AppendBool(b, o.missing)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

func appendFloats(b []byte, key string, xs []float64) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":[`...)
	for j, x := range xs {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	}
	return append(b, ']')
}

type wireMapper struct {
	Recipe  json.RawMessage `json:"recipe"`
	Outputs []wireOutput    `json:"outputs"`
}

type wireOutput struct {
	Name    string    `json:"name"`
	Mean    *float64  `json:"mean"`
	Std     *float64  `json:"std"`
	Value   bool      `json:"value"`
	Missing bool      `json:"missing"`
	Edges   []float64 `json:"edges"`
	EdgesA  []float64 `json:"edgesA"`
	EdgesB  []float64 `json:"edgesB"`
	Bins    []int32   `json:"bins"`
	Terms   []string  `json:"terms"`
	// MeanTerms is the mean number of distinct terms of a training
	// record, by which text-like outputs scale their weights.
	MeanTerms *float64 `json:"meanTerms"`
}

// Decode reads a Mapper written by MarshalJSON, compiling its recipe
// against s. It checks the state against the recipe, so a damaged or
// mismatched file fails here rather than mapping records wrongly.
func Decode(b []byte, s *perch.Schema) (*Mapper, error) {
	var w wireMapper
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, invalid("recipe: fitted recipe is not valid: %v", err)
	}
	if len(w.Recipe) == 0 {
		return nil, invalid("recipe: fitted recipe has no recipe")
	}
	r, err := parse(w.Recipe)
	if err != nil {
		return nil, err
	}
	p, err := Compile(r, s)
	if err != nil {
		return nil, err
	}
	if len(w.Outputs) != len(p.vals) {
		return nil, invalid("recipe: fitted recipe has %d outputs, its recipe gives %d", len(w.Outputs), len(p.vals))
	}
	m := &Mapper{recipe: p.recipe, outs: make([]output, len(p.vals))}
	for i, v := range p.vals {
		o := &m.outs[i]
		o.val, o.name = v, p.names[i]
		if err := o.load(&w.Outputs[i]); err != nil {
			return nil, err
		}
	}
	if err := m.index(); err != nil {
		return nil, err
	}
	return m, nil
}

// load sets o's state from its saved form, checking it as it goes.
func (o *output) load(w *wireOutput) error {
	bad := func(what string) error {
		return invalid("recipe: fitted output %q: %s", o.name, what)
	}
	if w.Name != o.name {
		return invalid("recipe: fitted output %q is %q in the recipe", w.Name, o.name)
	}
	o.missing = w.Missing
	switch o.kind {
	case kNumeric:
		if w.Mean == nil || w.Std == nil || !(*w.Std > 0) || math.IsInf(*w.Std, 0) {
			return bad("needs a mean and a positive std")
		}
		o.mean, o.std, o.value = *w.Mean, *w.Std, w.Value
		return nil
	case kBin:
		if !increasing(w.Edges) || len(w.Edges) >= o.n {
			return bad("edges must increase and be fewer than the bins")
		}
		o.edges[0] = slices.Clone(w.Edges)
		for j, b := range w.Bins {
			if b < 0 || int(b) > len(w.Edges) || j > 0 && b <= w.Bins[j-1] {
				return bad("bins must increase and be within the edges")
			}
		}
		o.bins = slices.Clone(w.Bins)
		return nil
	}
	switch o.kind {
	case kText, kTerms, kCross:
		if w.MeanTerms == nil || !(*w.MeanTerms >= 1) || math.IsInf(*w.MeanTerms, 0) {
			return bad("needs meanTerms of 1 or more")
		}
		o.meanTerms = *w.MeanTerms
	}
	switch o.kind {
	case kCross:
		for i, side := range [2]*val{o.a, o.b} {
			e := [2][]float64{w.EdgesA, w.EdgesB}[i]
			if side.kind == kBin && (!increasing(e) || len(e) >= side.n) {
				return bad("edges must increase and be fewer than the bins")
			}
			if side.kind == kBin {
				o.edges[i] = slices.Clone(e)
			}
		}
	case kText, kTerms:
		o.missing = false
	}
	for j, t := range w.Terms {
		if j > 0 && t <= w.Terms[j-1] {
			return bad("terms must be sorted and distinct")
		}
		if o.kind == kBinary && t != binaryTerms[0] && t != binaryTerms[1] {
			return bad("BINARY terms are false and true")
		}
	}
	o.terms = slices.Clone(w.Terms)
	return nil
}

func increasing(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if !(xs[i] > xs[i-1]) {
			return false
		}
	}
	return true
}
