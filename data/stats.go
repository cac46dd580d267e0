package data

import (
	"cmp"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/perchml/perch"
)

// Stats describe a datasource, as AML's data insights did: for every
// attribute its counts of valid, missing and invalid values, a summary
// fitting its type and how strongly it goes with the target.
type Stats struct {
	Records    int              `json:"records"`
	Attributes []AttributeStats `json:"attributes"`
	Target     *TargetStats     `json:"target,omitempty"`
}

// AttributeStats describe one attribute. Exactly one of Numeric,
// Categorical, Text and Binary is set, after the attribute's type; Numeric
// is nil when the attribute has no valid value.
type AttributeStats struct {
	Name    string              `json:"name"`
	Type    perch.AttributeType `json:"type"`
	Count   int                 `json:"count"`   // valid values
	Missing int                 `json:"missing"` // empty or a missing marker
	Invalid int                 `json:"invalid"` // not a value of the type

	Numeric     *NumericStats     `json:"numeric,omitempty"`
	Categorical *CategoricalStats `json:"categorical,omitempty"`
	Text        *TextStats        `json:"text,omitempty"`
	Binary      *BinaryStats      `json:"binary,omitempty"`

	// Correlation measures how the attribute goes with the target, over
	// the records where both are valid. Against a NUMERIC or BINARY target
	// (as 0/1): Pearson's r for NUMERIC and BINARY attributes, in [-1, 1],
	// and the correlation ratio eta for CATEGORICAL ones, in [0, 1].
	// Against a CATEGORICAL target: eta of NUMERIC and BINARY attributes
	// over the target's classes. It is nil for the target itself, for TEXT
	// attributes, for other pairs and where it is undefined (a constant).
	Correlation *float64 `json:"correlationWithTarget,omitempty"`
}

// NumericStats summarise the valid values of a NUMERIC attribute. StdDev
// is the population standard deviation. The histogram has 10 bins of equal
// width from Min to Max, each holding the values from Lower up to but not
// including Upper, the last one Max too; a constant attribute has a single
// bin.
type NumericStats struct {
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Mean      float64 `json:"mean"`
	Median    float64 `json:"median"`
	StdDev    float64 `json:"stddev"`
	Histogram []Bin   `json:"histogram"`
}

// Bin is one bar of a histogram.
type Bin struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Count int     `json:"count"`
}

// CategoricalStats summarise a CATEGORICAL attribute: its number of
// distinct values and the most frequent ones.
type CategoricalStats struct {
	Distinct int          `json:"distinct"`
	Top      []ValueCount `json:"top"`
}

// ValueCount is a value and how often it occurs.
type ValueCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// TextStats summarise a TEXT attribute, split into whitespace-separated
// tokens as recipes split it. At most 100,000 distinct tokens are
// counted; beyond that DistinctTokens is a lower bound and Top leaves out
// tokens first seen after the limit.
type TextStats struct {
	Tokens         int          `json:"tokens"`
	MeanTokens     float64      `json:"meanTokens"`
	DistinctTokens int          `json:"distinctTokens"`
	Top            []ValueCount `json:"top"`
}

// BinaryStats count the two values of a BINARY attribute.
type BinaryStats struct {
	True  int `json:"true"`
	False int `json:"false"`
}

// TargetStats describe the target's distribution: the count of each value
// for a BINARY, CATEGORICAL or TEXT target (most frequent first, at most
// perch.MaxClasses of them), the numeric summary for a NUMERIC one.
// Records whose target is missing or invalid are left out of training.
type TargetStats struct {
	Name     string              `json:"name"`
	Type     perch.AttributeType `json:"type"`
	Missing  int                 `json:"missing"`
	Invalid  int                 `json:"invalid"`
	Distinct int                 `json:"distinct,omitempty"`
	Values   []ValueCount        `json:"values,omitempty"`
	Numeric  *NumericStats       `json:"numeric,omitempty"`
}

const (
	topValues = 10      // entries of a top list
	maxTokens = 100_000 // distinct tokens counted per TEXT attribute
)

// ComputeStats reads every record of r, laid out as s says, and describes
// them. The result depends only on the records, not on map order or
// timing, so the same data always gives the same JSON.
func ComputeStats(r Reader, s *perch.Schema) (*Stats, error) {
	if err := ValidateSchema(s); err != nil {
		return nil, err
	}
	n := len(s.Attributes)
	ti := s.Target()
	var tkind perch.AttributeType
	if ti >= 0 {
		tkind = s.Attributes[ti].Type
	}
	accs := make([]*accumulator, n)
	for j, a := range s.Attributes {
		accs[j] = newAccumulator(a.Type, j == ti, tkind)
	}
	classes := map[string]int{} // CATEGORICAL target value -> class
	records := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != n {
			return nil, invalid("line %d: record has %d fields, schema has %d attributes", r.Line(), len(rec), n)
		}
		records++
		// y is the target as a number (NUMERIC, BINARY as 0/1), class its
		// class (CATEGORICAL); ok says it is valid.
		var y float64
		class, ok := -1, false
		if ti >= 0 && rec[ti] != "" {
			v := rec[ti]
			switch tkind {
			case perch.Numeric:
				y, ok = parseNumber(v)
			case perch.Binary:
				var l int
				l, ok = BinaryLabel(s, v)
				y = float64(l)
			case perch.Categorical:
				c, seen := classes[v]
				if !seen {
					c = len(classes)
					classes[v] = c
				}
				class, ok = c, true
			}
		}
		for j, v := range rec {
			a := accs[j]
			if j == ti {
				a.addTarget(s, v)
				continue
			}
			a.add(v, y, class, ok)
		}
	}
	st := &Stats{Records: records, Attributes: make([]AttributeStats, n)}
	for j, a := range s.Attributes {
		st.Attributes[j] = accs[j].stats(a.Name)
	}
	if ti >= 0 {
		st.Target = accs[ti].targetStats(s.TargetAttributeName)
	}
	return st, nil
}

// accumulator gathers the statistics of one attribute as records stream by.
type accumulator struct {
	typ     perch.AttributeType
	target  bool                // the attribute is the target
	tkind   perch.AttributeType // the target's type, "" for none
	missing int
	invalid int
	count   int

	values []float64 // NUMERIC: valid values

	index   map[string]int // CATEGORICAL, target: value -> entries index
	entries []valueEntry   // in order of first appearance

	tokens    int            // TEXT
	tokenIdx  map[string]int // token -> tokenCnt index
	tokenCnt  []ValueCount
	yes, no   int // BINARY
	corr      moments
	classSums []classSum // NUMERIC or BINARY against a CATEGORICAL target
}

// valueEntry is one value of a CATEGORICAL attribute, with the sum of the
// target over its records for the correlation ratio.
type valueEntry struct {
	ValueCount
	yn   int
	ysum float64
}

type classSum struct {
	n   int
	sum float64
}

// moments are running co-moments (Welford) of attribute x and target y:
// stable where sums of squares would cancel.
type moments struct {
	n             int
	mx, my        float64
	sxx, syy, sxy float64
}

func (m *moments) add(x, y float64) {
	m.n++
	dx := x - m.mx
	m.mx += dx / float64(m.n)
	dy := y - m.my
	m.my += dy / float64(m.n)
	m.sxx += dx * (x - m.mx)
	m.syy += dy * (y - m.my)
	m.sxy += dx * (y - m.my)
}

func newAccumulator(t perch.AttributeType, target bool, tkind perch.AttributeType) *accumulator {
	a := &accumulator{typ: t, target: target, tkind: tkind}
	if t == perch.Categorical || target && t != perch.Numeric {
		a.index = map[string]int{}
	}
	if t == perch.Text {
		a.tokenIdx = map[string]int{}
	}
	return a
}

// add counts value v of a feature; y, class and ok are the record's target.
func (a *accumulator) add(v string, y float64, class int, ok bool) {
	if v == "" {
		a.missing++
		return
	}
	var x float64
	switch a.typ {
	case perch.Numeric:
		var valid bool
		if x, valid = parseNumber(v); !valid {
			a.invalid++
			return
		}
		a.values = append(a.values, x)
	case perch.Binary:
		b, valid := ParseBinary(v)
		if !valid {
			a.invalid++
			return
		}
		if b {
			a.yes++
			x = 1
		} else {
			a.no++
		}
	case perch.Categorical:
		e := a.entry(v)
		if ok && class < 0 {
			e.yn++
			e.ysum += y
			a.corr.add(0, y)
		}
	case perch.Text:
		a.addTokens(v)
	}
	a.count++
	if !ok || a.typ != perch.Numeric && a.typ != perch.Binary {
		return
	}
	if class < 0 {
		a.corr.add(x, y)
		return
	}
	for len(a.classSums) <= class {
		a.classSums = append(a.classSums, classSum{})
	}
	a.classSums[class].n++
	a.classSums[class].sum += x
	a.corr.add(x, 0)
}

// addTarget counts value v of the target.
func (a *accumulator) addTarget(s *perch.Schema, v string) {
	if v == "" {
		a.missing++
		return
	}
	switch a.typ {
	case perch.Numeric:
		x, ok := parseNumber(v)
		if !ok {
			a.invalid++
			return
		}
		a.values = append(a.values, x)
	case perch.Binary:
		l, ok := BinaryLabel(s, v)
		if !ok {
			a.invalid++
			return
		}
		if l == 1 {
			a.yes++
		} else {
			a.no++
		}
		a.entry(v)
	case perch.Text:
		a.addTokens(v)
		a.entry(v)
	default:
		a.entry(v)
	}
	a.count++
}

func (a *accumulator) entry(v string) *valueEntry {
	i, ok := a.index[v]
	if !ok {
		i = len(a.entries)
		a.index[v] = i
		a.entries = append(a.entries, valueEntry{ValueCount: ValueCount{Value: v}})
	}
	e := &a.entries[i]
	e.Count++
	return e
}

func (a *accumulator) addTokens(v string) {
	n := 0
	for tok := range strings.FieldsSeq(v) {
		n++
		i, ok := a.tokenIdx[tok]
		if !ok {
			if len(a.tokenCnt) >= maxTokens {
				continue
			}
			i = len(a.tokenCnt)
			a.tokenIdx[tok] = i
			a.tokenCnt = append(a.tokenCnt, ValueCount{Value: tok})
		}
		a.tokenCnt[i].Count++
	}
	a.tokens += n
}

func (a *accumulator) stats(name string) AttributeStats {
	st := AttributeStats{Name: name, Type: a.typ, Count: a.count, Missing: a.missing, Invalid: a.invalid}
	switch a.typ {
	case perch.Numeric:
		st.Numeric = numericStats(a.values)
	case perch.Binary:
		st.Binary = &BinaryStats{True: a.yes, False: a.no}
	case perch.Categorical:
		st.Categorical = &CategoricalStats{Distinct: len(a.entries), Top: top(a.counts(), topValues)}
	case perch.Text:
		ts := &TextStats{Tokens: a.tokens, DistinctTokens: len(a.tokenCnt), Top: top(a.tokenCnt, topValues)}
		if a.count > 0 {
			ts.MeanTokens = float64(a.tokens) / float64(a.count)
		}
		st.Text = ts
	}
	if !a.target {
		st.Correlation = a.correlation()
	}
	return st
}

func (a *accumulator) counts() []ValueCount {
	vc := make([]ValueCount, len(a.entries))
	for i, e := range a.entries {
		vc[i] = e.ValueCount
	}
	return vc
}

func (a *accumulator) targetStats(name string) *TargetStats {
	ts := &TargetStats{Name: name, Type: a.typ, Missing: a.missing, Invalid: a.invalid}
	if a.typ == perch.Numeric {
		ts.Numeric = numericStats(a.values)
		return ts
	}
	ts.Distinct = len(a.entries)
	ts.Values = top(a.counts(), perch.MaxClasses)
	return ts
}

// correlation returns the attribute's correlation with the target, as
// documented on AttributeStats.
func (a *accumulator) correlation() *float64 {
	m := &a.corr
	var r float64
	switch {
	case m.n < 2 || a.tkind == "":
		return nil
	case a.typ == perch.Categorical && (a.tkind == perch.Numeric || a.tkind == perch.Binary):
		// eta² = between-value sum of squares of y / total sum of squares.
		var between float64
		for _, e := range a.entries {
			if e.yn > 0 {
				d := e.ysum/float64(e.yn) - m.my
				between += float64(e.yn) * d * d
			}
		}
		r = math.Sqrt(between / m.syy)
	case a.typ != perch.Numeric && a.typ != perch.Binary:
		return nil
	case a.tkind == perch.Categorical:
		// eta of x over the target's classes.
		var between float64
		for _, c := range a.classSums {
			if c.n > 0 {
				d := c.sum/float64(c.n) - m.mx
				between += float64(c.n) * d * d
			}
		}
		r = math.Sqrt(between / m.sxx)
	case a.tkind == perch.Numeric || a.tkind == perch.Binary:
		r = m.sxy / math.Sqrt(m.sxx*m.syy)
	default:
		return nil
	}
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return nil
	}
	r = max(-1, min(1, r))
	return &r
}

// numericStats summarises values, which it sorts; nil when there are none.
func numericStats(values []float64) *NumericStats {
	n := len(values)
	if n == 0 {
		return nil
	}
	slices.Sort(values)
	lo, hi := values[0], values[n-1]
	st := &NumericStats{Min: lo, Max: hi}
	if n%2 == 1 {
		st.Median = values[n/2]
	} else {
		st.Median = values[n/2-1]/2 + values[n/2]/2
	}
	// Scale huge values by a power of two (exactly) so sums of squares
	// cannot overflow.
	scale := 1.0
	if m := max(math.Abs(lo), math.Abs(hi)); m > 1e150 {
		_, exp := math.Frexp(m)
		scale = math.Ldexp(1, -exp)
	}
	var sum float64
	for _, x := range values {
		sum += x * scale
	}
	mean := sum / float64(n)
	var ss float64
	for _, x := range values {
		d := x*scale - mean
		ss += d * d
	}
	st.Mean = max(lo, min(hi, mean/scale))
	st.StdDev = math.Sqrt(ss/float64(n)) / scale
	st.Histogram = histogram(values)
	return st
}

// histogram bins sorted values into 10 bins of equal width.
func histogram(sorted []float64) []Bin {
	lo, hi := sorted[0], sorted[len(sorted)-1]
	if lo == hi {
		return []Bin{{Lower: lo, Upper: hi, Count: len(sorted)}}
	}
	const bins = 10
	w := (hi - lo) / bins
	bound := func(b int) float64 { return lo + float64(b)*w }
	if math.IsInf(w, 0) {
		// hi-lo overflows: interpolate, which cannot.
		bound = func(b int) float64 {
			f := float64(b) / bins
			return lo*(1-f) + hi*f
		}
	}
	h := make([]Bin, bins)
	i := 0
	for b := range h {
		h[b].Lower = bound(b)
		h[b].Upper = bound(b + 1)
		if b == bins-1 {
			h[b].Upper = hi
			h[b].Count = len(sorted) - i
			break
		}
		j := i
		for j < len(sorted) && sorted[j] < h[b].Upper {
			j++
		}
		h[b].Count = j - i
		i = j
	}
	return h
}

// top returns the k most frequent entries of vc, by count then value.
func top(vc []ValueCount, k int) []ValueCount {
	vc = slices.Clone(vc)
	slices.SortFunc(vc, func(a, b ValueCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	if len(vc) > k {
		vc = vc[:k]
	}
	return slices.Clip(vc)
}
