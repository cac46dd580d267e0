package gbdt

import (
	"math"
	"slices"

	"github.com/perchml/perch"
	"github.com/perchml/perch/recipe"
)

// Model is a trained ensemble. Its trees are flattened into parallel
// arrays indexed by node, over all trees, so that the model is a handful
// of slices with no pointers: cheap to keep, to encode and to walk.
//
// Tree t belongs to round t/K and adds to the margin of class t%K. A node
// whose Feature is -1 is a leaf holding Value; any other node sends a row
// to Left or Right. Children always follow their parent, so a walk
// cannot loop.
type Model struct {
	K        int       `json:"classes"` // margins: classes for MULTICLASS, 1 otherwise
	Base     []float64 `json:"base"`    // starting margin of each class
	Features []Feature `json:"features"`
	Roots    []int32   `json:"roots"`

	Feature []int32 `json:"feature"`
	// Threshold is, at a numeric split, the last bin that goes left; at a
	// categorical split, the index of its set of bins that go left.
	Threshold   []int32   `json:"threshold"`
	DefaultLeft []bool    `json:"defaultLeft"` // numeric splits: where a missing value goes
	Left        []int32   `json:"left"`
	Right       []int32   `json:"right"`
	Value       []float64 `json:"value"` // leaves: the learning rate is applied
	Cover       []float64 `json:"cover"` // training rows through the node, for contributions
	Gain        []float64 `json:"gain"`  // splits: the loss reduction
	// Sets holds the categorical splits' bins that go left, setWords
	// words each.
	Sets []uint64 `json:"sets,omitempty"`

	Importance []Importance `json:"importance"` // per feature
}

// setWords is the size of one categorical split's bitset: 256 bins.
const setWords = 4

// Importance is how much a feature was used.
type Importance struct {
	Gain   float64 `json:"gain"`   // total loss reduction of its splits
	Splits int     `json:"splits"` // number of splits on it
}

// Feature is a schema attribute as the trees see it: a small bin number.
// Bin 0 holds missing values everywhere.
//
// A NUMERIC or BINARY attribute's value x (BINARY read as 0 or 1) is in
// bin i+1 for the first i with x ≤ Uppers[i], and in bin len(Uppers)+1
// when it is above them all. A CATEGORICAL attribute's value is in bin
// i+2 when it is Categories[i], and in bin 1 otherwise: categories rarer
// than gbdt.minCategoryRows in training, and those never seen, share it.
type Feature struct {
	Name       string              `json:"name"`
	Column     int                 `json:"column"`
	Type       perch.AttributeType `json:"type"`
	Uppers     []float64           `json:"uppers,omitempty"`
	Categories []string            `json:"categories,omitempty"`
}

// bins returns the number of bins of f, missing included.
func (f *Feature) bins() int {
	if f.Type == perch.Categorical {
		return 2 + len(f.Categories)
	}
	return 2 + len(f.Uppers)
}

func (f *Feature) categorical() bool { return f.Type == perch.Categorical }

// numBin returns the bin of a number.
func (f *Feature) numBin(x float64) uint8 {
	u := f.Uppers
	lo, hi := 0, len(u)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if u[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return uint8(lo + 1)
}

// Trees returns the number of trees.
func (m *Model) Trees() int { return len(m.Roots) }

// Check verifies that m is well formed for records of width fields, so
// that a damaged model file fails when read rather than when it predicts.
func (m *Model) Check(width int) error {
	bad := func(what string) error { return perch.Errorf(perch.EInvalid, "model: trees: %s", what) }
	if m.K < 1 || len(m.Base) != m.K || len(m.Roots)%m.K != 0 {
		return bad("classes, base margins and trees do not agree")
	}
	if len(m.Importance) != len(m.Features) {
		return bad("importance does not match the features")
	}
	for _, f := range m.Features {
		if f.Column < 0 || f.Column >= width || f.bins() > 256 {
			return bad("feature " + f.Name + " is out of range")
		}
		switch f.Type {
		case perch.Categorical:
		case perch.Numeric, perch.Binary:
			if !slices.IsSorted(f.Uppers) {
				return bad("feature " + f.Name + " has unsorted bins")
			}
		default:
			return bad("feature " + f.Name + " has an unknown type")
		}
	}
	n := len(m.Feature)
	for _, l := range [][]int32{m.Threshold, m.Left, m.Right} {
		if len(l) != n {
			return bad("node arrays differ in length")
		}
	}
	if len(m.DefaultLeft) != n || len(m.Value) != n || len(m.Cover) != n || len(m.Gain) != n || len(m.Sets)%setWords != 0 {
		return bad("node arrays differ in length")
	}
	for i, r := range m.Roots {
		if r < 0 || int(r) >= n || (i > 0 && r <= m.Roots[i-1]) {
			return bad("a tree root is out of range")
		}
	}
	for i, f := range m.Feature {
		if f == -1 {
			continue
		}
		if f < 0 || int(f) >= len(m.Features) {
			return bad("a split names no feature")
		}
		if l, r := m.Left[i], m.Right[i]; l <= int32(i) || r <= int32(i) || int(l) >= n || int(r) >= n {
			return bad("a split's children are out of range")
		}
		t := m.Threshold[i]
		if m.Features[f].categorical() {
			if t < 0 || int(t+1)*setWords > len(m.Sets) {
				return bad("a categorical split's set is out of range")
			}
		} else if t < 0 || int(t) >= m.Features[f].bins() {
			return bad("a split's threshold is out of range")
		}
	}
	return nil
}

// node is a compiled split or leaf: 16 bytes, so that a walk stays in cache.
type node struct {
	feat  int32 // -1: a leaf
	thr   int32 // numeric: last bin going left; categorical: first word of its set
	left  int32 // leaf: index into values
	right int32
}

// Compiled is a Model prepared for prediction. It is read-only and safe
// for concurrent use.
type Compiled struct {
	m       *Model
	nodes   []node
	defLeft []bool
	cat     []bool // per feature
	roots   []int32
	values  []float64
	lookup  []map[string]uint8 // per categorical feature: value → bin
	parse   []func(string) (float64, bool)
}

// Compile prepares m for prediction.
func Compile(m *Model) *Compiled {
	c := &Compiled{m: m, roots: m.Roots, defLeft: m.DefaultLeft}
	c.nodes = make([]node, len(m.Feature))
	for i, f := range m.Feature {
		nd := node{feat: f, thr: m.Threshold[i], left: m.Left[i], right: m.Right[i]}
		if f < 0 {
			nd.left = int32(len(c.values))
			c.values = append(c.values, m.Value[i])
		} else if m.Features[f].categorical() {
			nd.thr = m.Threshold[i] * setWords
		}
		c.nodes[i] = nd
	}
	c.cat = make([]bool, len(m.Features))
	c.lookup = make([]map[string]uint8, len(m.Features))
	for i := range m.Features {
		f := &m.Features[i]
		c.cat[i] = f.categorical()
		if c.cat[i] {
			c.lookup[i] = make(map[string]uint8, len(f.Categories))
			for j, v := range f.Categories {
				c.lookup[i][v] = uint8(j + 2)
			}
		}
	}
	return c
}

// Model returns the model c predicts with.
func (c *Compiled) Model() *Model { return c.m }

// Width is the number of bins Bin writes: one per feature.
func (c *Compiled) Width() int { return len(c.m.Features) }

// K is the number of margins a record has.
func (c *Compiled) K() int { return c.m.K }

// Bin writes the bin of each feature of a record (fields in schema
// column order, "" for missing) to bins. A value that does not parse as
// its type is missing.
func (c *Compiled) Bin(fields []string, bins []uint8) {
	for i := range c.m.Features {
		f := &c.m.Features[i]
		var v string
		if f.Column < len(fields) {
			v = fields[f.Column]
		}
		bins[i] = binValue(f, c.lookup[i], v)
	}
}

// binValue returns the bin of the raw value v of f.
func binValue(f *Feature, lookup map[string]uint8, v string) uint8 {
	if v == "" {
		return 0
	}
	switch f.Type {
	case perch.Categorical:
		if b, ok := lookup[v]; ok {
			return b
		}
		return 1
	case perch.Binary:
		b, ok := perch.ParseBinary(v)
		if !ok {
			return 0
		}
		if b {
			return f.numBin(1)
		}
		return f.numBin(0)
	default:
		x, ok := recipe.ParseNumber(v)
		if !ok {
			return 0
		}
		return f.numBin(x)
	}
}

// leaf returns the leaf of tree root that bins reach.
func (c *Compiled) leaf(root int32, bins []uint8) int32 {
	nodes := c.nodes
	i := root
	for {
		nd := &nodes[i]
		if nd.feat < 0 {
			return nd.left
		}
		b := bins[nd.feat]
		var left bool
		switch {
		case c.cat[nd.feat]:
			left = c.m.Sets[nd.thr+int32(b>>6)]&(1<<(b&63)) != 0
		case b == 0:
			left = c.defLeft[i]
		default:
			left = int32(b) <= nd.thr
		}
		if left {
			i = nd.left
		} else {
			i = nd.right
		}
	}
}

// Margin writes the raw margins of one binned record to margin (K values).
func (c *Compiled) Margin(bins []uint8, margin []float64) {
	k := c.m.K
	copy(margin[:k], c.m.Base)
	for t, r := range c.roots {
		margin[t%k] += c.values[c.leaf(r, bins)]
	}
}

// MarginRows writes the margins of n binned records (bins holds Width
// bins per record, margins K per record). It walks every record through
// one tree before the next, so a tree's nodes stay in cache.
func (c *Compiled) MarginRows(bins []uint8, n int, margins []float64) {
	k, w := c.m.K, len(c.m.Features)
	for r := 0; r < n; r++ {
		copy(margins[r*k:r*k+k], c.m.Base)
	}
	for t, root := range c.roots {
		cl := t % k
		for r := 0; r < n; r++ {
			margins[r*k+cl] += c.values[c.leaf(root, bins[r*w:r*w+w])]
		}
	}
}

// Transform turns margins into scores in place: the probability of "1"
// for BINARY, class probabilities for MULTICLASS, the value for
// REGRESSION.
func Transform(t perch.ModelType, margins []float64) {
	switch t {
	case perch.BinaryModel:
		margins[0] = sigmoid(margins[0])
	case perch.MulticlassModel:
		softmax(margins)
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func softmax(v []float64) {
	mx := v[0]
	for _, x := range v[1:] {
		mx = max(mx, x)
	}
	s := 0.0
	for i, x := range v {
		v[i] = math.Exp(x - mx)
		s += v[i]
	}
	for i := range v {
		v[i] /= s
	}
}
