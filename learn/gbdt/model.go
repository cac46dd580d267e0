package gbdt

import (
	"math"
	"slices"
	"unsafe"

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

// numBin returns the bin of a number. The search halves its range
// without a branch on the comparisons, which a processor cannot predict.
func (f *Feature) numBin(x float64) uint8 {
	u := f.Uppers
	if len(u) == 0 {
		return 1
	}
	base, n := 0, len(u)
	for n > 1 {
		half := n / 2
		if u[base+half-1] < x {
			base += half
		}
		n -= half
	}
	if u[base] < x {
		base++
	}
	return uint8(base + 1)
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
		if f.Column < 0 || f.Column >= width || f.bins() > 256 || len(m.Features) > math.MaxUint16 {
			return bad("feature " + f.Name + " is out of range")
		}
		switch f.Type {
		case perch.Categorical:
			seen := make(map[string]bool, len(f.Categories))
			for _, c := range f.Categories {
				if seen[c] {
					return bad("feature " + f.Name + " lists a category twice")
				}
				seen[c] = true
			}
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
		if r < 0 || int(r) >= n || (i > 0 && r <= m.Roots[i-1]) || (i == 0 && r != 0) {
			return bad("a tree root is out of range")
		}
	}
	// Each node but a root has one parent, in its own tree, before it: a
	// tree is a tree, not a loop nor a graph whose walks multiply.
	parents := make([]uint8, n)
	for _, r := range m.Roots {
		parents[r] = 1
	}
	t, end := 0, int32(n)
	for i, f := range m.Feature {
		for t+1 < len(m.Roots) && int32(i) >= m.Roots[t+1] {
			t++
		}
		if t+1 < len(m.Roots) {
			end = m.Roots[t+1]
		} else {
			end = int32(n)
		}
		if f == -1 {
			continue
		}
		if f < 0 || int(f) >= len(m.Features) {
			return bad("a split names no feature")
		}
		l, r := m.Left[i], m.Right[i]
		if l <= int32(i) || r <= int32(i) || l >= end || r >= end || l == r || parents[l] != 0 || parents[r] != 0 {
			return bad("a split's children are out of range")
		}
		parents[l], parents[r] = 1, 1
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

// node is a compiled split or leaf, 16 bytes. A split's right child
// follows its left one and a leaf steps to itself, so that a walk is
// arithmetic without a branch the processor would mispredict, and several
// walks can go on at once. A categorical split on at most 64 bins holds
// its set in bits, so a step reads the node and the record's bin, no more.
type node struct {
	bits uint64 // categorical splits: the bins going right; wide ones: the first word in sets
	next uint32 // a split's left child; a leaf itself
	feat uint16
	thr  uint8 // numeric splits: bin-(kind&missRight) < thr goes left, in uint8 arithmetic
	kind uint8 // missRight, wide and leaf flags
}

const (
	missRight = 1 // a numeric split sending missing values (bin 0) right
	wide      = 2 // a categorical split on more than 64 bins
	leafNode  = 4
)

// Compiled is a Model prepared for prediction. It is read-only and safe
// for concurrent use.
type Compiled struct {
	m      *Model
	nodes  []node
	sets   []uint64  // the wide categorical splits' sets of bins going right
	values []float64 // per node: a leaf's value
	roots  []uint32
	depths []uint8     // per tree: the most splits a walk takes to a leaf
	lookup []*catIndex // per categorical feature: value → bin
}

// Compile prepares m, which must have passed Check, for prediction.
func Compile(m *Model) *Compiled {
	c := &Compiled{m: m, nodes: make([]node, 0, len(m.Feature)), values: make([]float64, 0, len(m.Feature))}
	c.sets = make([]uint64, len(m.Sets))
	for i, w := range m.Sets {
		c.sets[i] = ^w
	}
	// Lay each tree out again, breadth first, children side by side.
	var queue, at []int32 // nodes to place, and where
	var depth []uint8     // and at what depth
	for _, root := range m.Roots {
		c.roots = append(c.roots, uint32(len(c.nodes)))
		queue, at, depth = append(queue[:0], root), append(at[:0], int32(len(c.nodes))), append(depth[:0], 0)
		c.nodes = append(c.nodes, node{})
		c.values = append(c.values, 0)
		var deepest uint8
		for q := 0; q < len(queue); q++ {
			i, to := queue[q], at[q]
			deepest = max(deepest, depth[q])
			f := m.Feature[i]
			if f < 0 {
				// Bins are at most 254, so b-0 < 255 always goes "left".
				c.nodes[to] = node{kind: leafNode, thr: 255, next: uint32(to)}
				c.values[to] = m.Value[i]
				continue
			}
			nd := node{feat: uint16(f), next: uint32(len(c.nodes))}
			switch t := m.Threshold[i]; {
			case m.Features[f].categorical() && m.Features[f].bins() <= 64:
				// b-0 < 255 never goes right: the bits decide.
				nd.thr, nd.bits = 255, ^m.Sets[t*setWords]
			case m.Features[f].categorical():
				nd.kind, nd.thr, nd.bits = wide, 255, uint64(t*setWords)
			case m.DefaultLeft[i]:
				nd.thr = uint8(t + 1) // b < t+1: bins 0..t go left
			default:
				nd.kind, nd.thr = missRight, uint8(t) // b-1 < t: bins 1..t go left; 0 wraps to 255
			}
			c.nodes[to] = nd
			queue = append(queue, m.Left[i], m.Right[i])
			at = append(at, int32(len(c.nodes)), int32(len(c.nodes)+1))
			depth = append(depth, depth[q]+1, depth[q]+1)
			c.nodes = append(c.nodes, node{}, node{})
			c.values = append(c.values, 0, 0)
		}
		c.depths = append(c.depths, deepest)
	}
	c.lookup = make([]*catIndex, len(m.Features))
	for i := range m.Features {
		f := &m.Features[i]
		if f.categorical() {
			c.lookup[i] = newCatIndex(f.Categories)
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
func binValue(f *Feature, lookup *catIndex, v string) uint8 {
	if v == "" {
		return 0
	}
	switch f.Type {
	case perch.Categorical:
		return lookup.bin(v)
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

// step returns the node a record with these bins goes to from node i:
// a split's child, or a leaf itself. It must stay small enough to be
// inlined: a call would cost more than the step. It reads nodes and bins
// unchecked: Check has bounded every child and feature index by the
// arrays Compile built, and callers check that bins holds Width bins.
func (c *Compiled) step(nodes, bins unsafe.Pointer, i uint32) uint32 {
	nd := (*node)(unsafe.Add(nodes, uintptr(i)*unsafe.Sizeof(node{})))
	b := *(*uint8)(unsafe.Add(bins, nd.feat))
	bits := nd.bits
	if nd.kind&wide != 0 {
		bits = c.sets[bits+uint64(b>>6)]
	}
	var ge uint32
	if b-nd.kind&missRight >= nd.thr {
		ge = 1
	}
	return nd.next + (uint32(bits>>(b&63)&1) | ge)
}

// walk returns the leaf of the tree t that a record reaches.
func (c *Compiled) walk(t int, bins []uint8) uint32 {
	nodes, bp := unsafe.Pointer(unsafe.SliceData(c.nodes)), c.binsPointer(bins)
	i := c.roots[t]
	for n := c.depths[t]; n > 0; n-- {
		i = c.step(nodes, bp, i)
	}
	return i
}

// binsPointer returns where bins start, after checking that they are
// as many as the features, which step reads unchecked.
func (c *Compiled) binsPointer(bins []uint8) unsafe.Pointer {
	if len(bins) < len(c.m.Features) {
		panic("gbdt: fewer bins than features")
	}
	return unsafe.Pointer(unsafe.SliceData(bins))
}

// walk4 walks a record through four trees at once: each walk waits on its
// memory reads, and four of them wait together. A leaf steps to itself,
// so the walks take as many steps as the deepest tree needs, with no test
// of whether they are done.
func (c *Compiled) walk4(t int, bins []uint8) (uint32, uint32, uint32, uint32) {
	nodes, bp := unsafe.Pointer(unsafe.SliceData(c.nodes)), c.binsPointer(bins)
	r, d := c.roots[t:t+4], c.depths[t:t+4]
	i0, i1, i2, i3 := r[0], r[1], r[2], r[3]
	for n := max(d[0], d[1], d[2], d[3]); n > 0; n-- {
		i0, i1, i2, i3 = c.step(nodes, bp, i0), c.step(nodes, bp, i1), c.step(nodes, bp, i2), c.step(nodes, bp, i3)
	}
	return i0, i1, i2, i3
}

// walk8 walks a record through eight trees at once, as walk4 does.
// Eight walks in flight keep the processor busier than four; more would
// not fit its registers.
func (c *Compiled) walk8(t int, bins []uint8) (uint32, uint32, uint32, uint32, uint32, uint32, uint32, uint32) {
	nodes, bp := unsafe.Pointer(unsafe.SliceData(c.nodes)), c.binsPointer(bins)
	r, d := c.roots[t:t+8], c.depths[t:t+8]
	i0, i1, i2, i3, i4, i5, i6, i7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
	for n := max(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]); n > 0; n-- {
		i0, i1, i2, i3 = c.step(nodes, bp, i0), c.step(nodes, bp, i1), c.step(nodes, bp, i2), c.step(nodes, bp, i3)
		i4, i5, i6, i7 = c.step(nodes, bp, i4), c.step(nodes, bp, i5), c.step(nodes, bp, i6), c.step(nodes, bp, i7)
	}
	return i0, i1, i2, i3, i4, i5, i6, i7
}

// Margin writes the raw margins of one binned record to margin (K values),
// adding the trees in order.
func (c *Compiled) Margin(bins []uint8, margin []float64) {
	k, roots, v := c.m.K, c.roots, c.values
	copy(margin[:k], c.m.Base)
	t := 0
	if k == 1 {
		s := margin[0]
		for ; t+8 <= len(roots); t += 8 {
			a, b, d, e, f, g, h, i := c.walk8(t, bins)
			s = s + v[a] + v[b] + v[d] + v[e] + v[f] + v[g] + v[h] + v[i]
		}
		for ; t+4 <= len(roots); t += 4 {
			a, b, d, e := c.walk4(t, bins)
			s = s + v[a] + v[b] + v[d] + v[e]
		}
		for ; t < len(roots); t++ {
			s += v[c.walk(t, bins)]
		}
		margin[0] = s
		return
	}
	for ; t+4 <= len(roots); t += 4 {
		a, b, d, e := c.walk4(t, bins)
		margin[t%k] += v[a]
		margin[(t+1)%k] += v[b]
		margin[(t+2)%k] += v[d]
		margin[(t+3)%k] += v[e]
	}
	for ; t < len(roots); t++ {
		margin[t%k] += v[c.walk(t, bins)]
	}
}

// MarginRows writes the margins of n binned records (bins holds Width
// bins per record, margins K per record). Walking one record through
// eight trees at once beat walking several records through one tree: the
// whole model stays in the processor's second-level cache either way.
func (c *Compiled) MarginRows(bins []uint8, n int, margins []float64) {
	k, w := c.m.K, len(c.m.Features)
	for r := 0; r < n; r++ {
		c.Margin(bins[r*w:r*w+w], margins[r*k:r*k+k])
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
