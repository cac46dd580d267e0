package recipe

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/perchml/perch"
)

// Mapper turns records into feature vectors. It is a Plan fitted to
// training rows: it knows each output's vocabulary, bins, mean and
// deviation.
//
// The features of each output are numbered consecutively, outputs in
// recipe order (groups expanded in schema order), and within an output:
//
//   - NUMERIC (a variable or normalize): the standardized value (x-mean)/std,
//     then name=missing, set to 1 when the value is missing or not a number.
//     A missing value contributes 0, the training mean.
//   - CATEGORICAL, BINARY, quantile_bin and cartesian: one feature per value
//     seen in training (BINARY values are false and true; bins are numbered
//     from 0), in sorted order, then name=missing. Values not seen in
//     training give no feature.
//   - TEXT, ngram and osb: one feature per term seen in training, in sorted
//     order. A record's terms are weighted sqrt(m/k), k being the number of
//     its distinct terms and m the mean of k over the training records. A
//     record's vector for the output so has length sqrt(m) however long
//     its text, and values near 1 when its length is typical: the scale of
//     the other features, which learners that adapt their step sizes per
//     feature (FTRL, AdaGrad) need to learn all features at one pace. k
//     counts terms that have no feature too, so that dropping features
//     with Keep leaves the others as the learner saw them. cartesian
//     weights its crossings the same way (so 1 when neither side is TEXT),
//     crossing the first 100 words of a TEXT side.
//
// Missing-value features exist only for outputs that had missing values in
// training. A vector's indices are strictly increasing.
//
// Map, Dim, FeatureName, Recipe and MarshalJSON are safe for concurrent
// use: Map writes only to the caller's Vector (and to pooled scratch
// space), so one Mapper serves any number of goroutines, each with its own
// Vector. Keep changes the Mapper and must not run concurrently with them.
type Mapper struct {
	recipe *Recipe
	outs   []output
	vocab  vocab     // hash of (output, term) → feature
	feats  []featRef // feature → where it comes from
	hashes sync.Pool // of *[]uint64: a record's term hashes, for Map
}

// output is one output variable with its fitted state.
type output struct {
	*val
	name string
	seed uint64

	// Fitted state, saved by MarshalJSON.
	mean, std      float64      // kNumeric
	edges          [2][]float64 // kBin: [0]; kCross: the sides that are kBin
	terms          []string     // vocabulary, sorted
	bins           []int32      // kBin: the bins that have a feature, ascending
	value, missing bool         // kNumeric: value feature; all but text: missing feature
	meanTerms      float64      // text-like: mean distinct terms of a training record that has any

	// Feature numbers, derived from the state by index.
	valueIdx, missIdx int32
	binIdx            []int32 // kBin: bin → feature; kBinary: false, true → feature; -1 for none
}

// featRef says where a feature comes from: item is a position in its
// output's terms or bins, or one of these.
type featRef struct{ out, item int32 }

const (
	itemValue   = -1
	itemMissing = -2
)

// binaryTerms are the vocabulary of a BINARY variable, in sorted order.
var binaryTerms = [2]string{"false", "true"}

// binLabels spell bin numbers, so that crossing a bin builds no string.
var binLabels [maxBins]string

func init() {
	for i := range binLabels {
		binLabels[i] = strconv.Itoa(i)
	}
}

// Dim returns the number of features; they are numbered 0 to Dim-1.
func (m *Mapper) Dim() int { return len(m.feats) }

// Recipe returns the recipe m was compiled from.
func (m *Mapper) Recipe() *Recipe { return m.recipe.clone() }

// FeatureName names feature i for people: workclass=Private,
// quantile_bin(age,10)=3, ngram(text,2)=free call, normalize(capital_gain),
// age=missing. It returns "" for a number that is not a feature.
func (m *Mapper) FeatureName(i int32) string {
	if i < 0 || int(i) >= len(m.feats) {
		return ""
	}
	f := m.feats[i]
	o := &m.outs[f.out]
	switch {
	case f.item == itemValue:
		return o.name
	case f.item == itemMissing:
		return o.name + "=missing"
	case o.kind == kBin:
		return o.name + "=" + strconv.Itoa(int(o.bins[f.item]))
	}
	return o.name + "=" + o.terms[f.item]
}

// index numbers the features from the fitted state and builds the lookup
// tables Map uses. It fails if two terms share a hash, which Fit prevents
// and only a damaged file can cause.
func (m *Mapper) index() error {
	n := 0
	for i := range m.outs {
		n += len(m.outs[i].terms)
	}
	entries := make([]vocabEntry, 0, n)
	m.feats = m.feats[:0]
	add := func(out, item int) int32 {
		m.feats = append(m.feats, featRef{int32(out), int32(item)})
		return int32(len(m.feats) - 1)
	}
	for oi := range m.outs {
		o := &m.outs[oi]
		o.seed = seed(oi)
		o.valueIdx, o.missIdx, o.binIdx = -1, -1, nil
		if o.value {
			o.valueIdx = add(oi, itemValue)
		}
		switch o.kind {
		case kBin:
			o.binIdx = make([]int32, len(o.edges[0])+1)
			for i := range o.binIdx {
				o.binIdx[i] = -1
			}
			for j, b := range o.bins {
				o.binIdx[b] = add(oi, j)
			}
		case kBinary:
			o.binIdx = []int32{-1, -1}
			for j, t := range o.terms {
				b := 0
				if t == binaryTerms[1] {
					b = 1
				}
				o.binIdx[b] = add(oi, j)
			}
		case kCategorical, kText, kTerms, kCross:
			for j, t := range o.terms {
				entries = append(entries, vocabEntry{hashString(o.seed, t), add(oi, j), int32(oi)})
			}
		}
		if o.missing {
			o.missIdx = add(oi, itemMissing)
		}
	}
	// A compiled model lives as long as the server serves it: no spare
	// capacity from the appends above.
	m.feats = slices.Clone(m.feats)
	return m.vocab.build(entries, func(out int32) error {
		return invalid("recipe: terms of %q collide", m.outs[out].name)
	})
}

// vocab finds a term's feature by the term's hash: the hashes sorted, and
// searched by halving. It takes half the memory of a map of the same
// entries, and a model keeps it for as long as it is served.
type vocab struct {
	keys  []uint64
	feats []int32
}

type vocabEntry struct {
	key       uint64
	feat, out int32
}

// build fills v from entries, failing (with collide's error) if two share
// a hash.
func (v *vocab) build(entries []vocabEntry, collide func(out int32) error) error {
	slices.SortFunc(entries, func(a, b vocabEntry) int { return cmp.Compare(a.key, b.key) })
	v.keys = make([]uint64, len(entries))
	v.feats = make([]int32, len(entries))
	for i, e := range entries {
		if i > 0 && e.key == entries[i-1].key {
			return collide(e.out)
		}
		v.keys[i], v.feats[i] = e.key, e.feat
	}
	return nil
}

// get returns the feature of hash h.
func (v *vocab) get(h uint64) (int32, bool) {
	lo, hi := 0, len(v.keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if v.keys[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(v.keys) && v.keys[lo] == h {
		return v.feats[lo], true
	}
	return 0, false
}

// Map writes the features of one record to v, which it resets first.
// fields holds the record's raw values in schema attribute order, ""
// for missing; fields past its end count as missing. Map allocates
// nothing once v has grown to hold a record, except when it reads a
// number too large for a float64.
func (m *Mapper) Map(fields []string, v *perch.Vector) {
	v.Reset()
	var hs *[]uint64
	for i := range m.outs {
		o := &m.outs[i]
		switch o.kind {
		case kNumeric:
			x, ok := parseNumber(field(fields, o.col))
			switch {
			case !ok:
				if o.missIdx >= 0 {
					v.Add(o.missIdx, 1)
				}
			case o.valueIdx >= 0:
				if z := (x - o.mean) / o.std; z != 0 {
					v.Add(o.valueIdx, z)
				}
			}
		case kCategorical:
			f := field(fields, o.col)
			if f == "" {
				if o.missIdx >= 0 {
					v.Add(o.missIdx, 1)
				}
			} else if j, ok := m.vocab.get(hashString(o.seed, f)); ok {
				v.Add(j, 1)
			}
		case kBinary:
			b := parseBinary(field(fields, o.col))
			if b < 0 {
				if o.missIdx >= 0 {
					v.Add(o.missIdx, 1)
				}
			} else if j := o.binIdx[b]; j >= 0 {
				v.Add(j, 1)
			}
		case kBin:
			x, ok := parseNumber(field(fields, o.col))
			if !ok {
				if o.missIdx >= 0 {
					v.Add(o.missIdx, 1)
				}
			} else if j := o.binIdx[bin(o.edges[0], x)]; j >= 0 {
				v.Add(j, 1)
			}
		default:
			if o.kind == kCross && o.a.kind != kText && o.b.kind != kText {
				m.crossOne(o, fields, v)
				continue
			}
			if hs == nil {
				hs, _ = m.hashes.Get().(*[]uint64)
				if hs == nil {
					hs = new([]uint64)
				}
			}
			start := len(v.Index)
			switch o.kind {
			case kText:
				m.tokens(o, fields, v, hs)
			case kTerms:
				if o.osb {
					m.osb(o, fields, v, hs)
				} else {
					m.ngrams(o, fields, v, hs)
				}
			default:
				m.cross(o, fields, v, hs)
			}
			if !weigh(v, start, hs, o.meanTerms) && o.missIdx >= 0 {
				v.Add(o.missIdx, 1)
			}
		}
	}
	if hs != nil {
		m.hashes.Put(hs)
	}
}

func field(fields []string, col int) string {
	if col < len(fields) {
		return fields[col]
	}
	return ""
}

// lookup notes term hash h and appends its feature, if it has one, with a
// placeholder value that weigh sets.
func (m *Mapper) lookup(v *perch.Vector, hs *[]uint64, h uint64) {
	*hs = append(*hs, h)
	if j, ok := m.vocab.get(h); ok {
		v.Add(j, 0)
	}
}

// weigh finishes a text-like output: it sorts the features appended since
// start, removes duplicates and gives each the weight sqrt(mean/k), k being
// the number of distinct terms noted in hs, which it empties. It reports
// whether there were any terms.
func weigh(v *perch.Vector, start int, hs *[]uint64, mean float64) bool {
	if len(*hs) == 0 {
		return false
	}
	slices.Sort(*hs)
	k := len(slices.Compact(*hs))
	*hs = (*hs)[:0]
	seg := v.Index[start:]
	if len(seg) == 0 {
		return true
	}
	slices.Sort(seg)
	n := start + len(slices.Compact(seg))
	v.Index = v.Index[:n]
	v.Value = v.Value[:n]
	w := math.Sqrt(mean / float64(k))
	for i := start; i < n; i++ {
		v.Value[i] = w
	}
	return true
}

// tokens looks up the words of a TEXT output.
func (m *Mapper) tokens(o *output, fields []string, v *perch.Vector, hs *[]uint64) {
	t := tokenizer{s: field(fields, o.col), nopunct: o.nopunct}
	for tok, ok := t.next(); ok; tok, ok = t.next() {
		m.lookup(v, hs, hashToken(o.seed, tok, o.lower))
	}
}

// ngrams looks up the n-grams of sizes 1 to n, keeping the last n words in
// a ring so that it builds no string.
func (m *Mapper) ngrams(o *output, fields []string, v *perch.Vector, hs *[]uint64) {
	var ring [maxGram]string
	t := tokenizer{s: field(fields, o.col), nopunct: o.nopunct}
	n, c := o.n, 0
	for tok, ok := t.next(); ok; tok, ok = t.next() {
		ring[c%n] = tok
		c++
		for size := 1; size <= n && size <= c; size++ {
			h := o.seed
			for k := c - size; k < c; k++ {
				if k > c-size {
					h = hashByte(h, ' ')
				}
				h = hashToken(h, ring[k%n], o.lower)
			}
			m.lookup(v, hs, h)
		}
	}
}

// osb looks up the orthogonal sparse bigrams: each word paired with each of
// the next w-1 words, joined by one underscore per step.
func (m *Mapper) osb(o *output, fields []string, v *perch.Vector, hs *[]uint64) {
	var ring [maxGram]string
	t := tokenizer{s: field(fields, o.col), nopunct: o.nopunct}
	w, c := o.n, 0
	for tok, ok := t.next(); ok; tok, ok = t.next() {
		ring[c%w] = tok
		c++
		for d := 1; d < w && d < c; d++ {
			h := hashToken(o.seed, ring[(c-1-d)%w], o.lower)
			for range d {
				h = hashByte(h, '_')
			}
			m.lookup(v, hs, hashToken(h, tok, o.lower))
		}
	}
}

// cross looks up the crossings of a cartesian: every term of one side with
// every term of the other, joined by an underscore.
func (m *Mapper) cross(o *output, fields []string, v *perch.Vector, hs *[]uint64) {
	a := newTerms(o.a, field(fields, o.a.col), o.edges[0])
	for ta, ok := a.next(); ok; ta, ok = a.next() {
		h := hashByte(hashToken(o.seed, ta, o.a.lower), '_')
		b := newTerms(o.b, field(fields, o.b.col), o.edges[1])
		for tb, ok := b.next(); ok; tb, ok = b.next() {
			m.lookup(v, hs, hashToken(h, tb, o.b.lower))
		}
	}
}

// crossOne is cross for sides that have one value each, so that there are
// no duplicates to remove and k is 1.
func (m *Mapper) crossOne(o *output, fields []string, v *perch.Vector) {
	a := newTerms(o.a, field(fields, o.a.col), o.edges[0])
	b := newTerms(o.b, field(fields, o.b.col), o.edges[1])
	switch {
	case a.done || b.done:
		if o.missIdx >= 0 {
			v.Add(o.missIdx, 1)
		}
	default:
		h := hashString(hashByte(hashString(o.seed, a.one), '_'), b.one)
		if j, ok := m.vocab.get(h); ok {
			v.Add(j, math.Sqrt(o.meanTerms))
		}
	}
}

// maxCrossWords bounds the words of a TEXT side that cartesian crosses, so
// that crossing two long texts costs at most maxCrossWords² terms.
const maxCrossWords = 100

// terms yields the terms of one side of a cartesian: the first
// maxCrossWords words of a TEXT side, or the one value of any other side.
type terms struct {
	t     tokenizer
	one   string
	text  bool
	done  bool
	words int
}

func newTerms(v *val, f string, edges []float64) terms {
	switch v.kind {
	case kText:
		return terms{t: tokenizer{s: f, nopunct: v.nopunct}, text: true}
	case kCategorical:
		return terms{one: f, done: f == ""}
	case kBinary:
		if b := parseBinary(f); b >= 0 {
			return terms{one: binaryTerms[b]}
		}
	case kBin:
		if x, ok := parseNumber(f); ok {
			return terms{one: binLabels[bin(edges, x)]}
		}
	}
	return terms{done: true}
}

func (t *terms) next() (string, bool) {
	if t.text {
		if t.words == maxCrossWords {
			return "", false
		}
		t.words++
		return t.t.next()
	}
	if t.done {
		return "", false
	}
	t.done = true
	return t.one, true
}

// bin returns the bin of x: the number of edges at or below it, so bin i
// holds edges[i-1] <= x < edges[i] and a value on an edge goes up.
func bin(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x >= edges[mid] {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// parseNumber reads a NUMERIC value. Anything that is not a finite number
// counts as missing. Values that are not decimal numbers are kept away from
// strconv, whose error would allocate.
// ParseNumber reads a NUMERIC value the way a Mapper does: a finite
// decimal number, surrounding spaces allowed. Anything else is missing.
func ParseNumber(s string) (float64, bool) { return parseNumber(s) }

func parseNumber(s string) (float64, bool) {
	if len(s) == 0 || s[0] <= ' ' || s[len(s)-1] <= ' ' || s[0] >= utf8.RuneSelf || s[len(s)-1] >= utf8.RuneSelf {
		s = strings.TrimSpace(s) // the readers trim, so this is seldom needed
	}
	if x, ok := simpleDecimal(s); ok {
		return x, true
	}
	if !decimal(s) && !strings.HasPrefix(strings.TrimLeft(s, "+-"), "0x") && !strings.HasPrefix(strings.TrimLeft(s, "+-"), "0X") {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// simpleDecimal parses the common case, an optional minus sign and at most
// 15 digits with an optional point, without strconv: the digits form an
// exact integer and dividing by an exact power of ten rounds once, so the
// result is the one strconv.ParseFloat gives. Anything else is left to it.
func simpleDecimal(s string) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	digits, frac, point := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if point {
				frac++
			}
		case c == '.' && !point:
			point = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	x := float64(mant) / pow10[frac]
	if neg {
		x = -x
	}
	return x, true
}

// decimal reports whether s is a decimal number: an optional sign, digits
// with an optional point, and an optional exponent.
func decimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// parseBinary reads a BINARY value in one of AML's spellings, in any
// case: 1, y, yes, t, true and 0, n, no, f, false. It returns 1 or 0, or
// -1 for anything else, which counts as missing.
func parseBinary(s string) int {
	v, ok := perch.ParseBinary(s)
	switch {
	case !ok:
		return -1
	case v:
		return 1
	}
	return 0
}

// Keep drops the features f with !keep[f] and numbers the rest densely,
// in the same order; features past the end of keep are kept. It returns
// each old feature's new number, or -1 for a dropped one. A dropped
// feature is as if it had never been fitted: its value no longer gives a
// feature. Learners use Keep to fit a model into a size limit.
func (m *Mapper) Keep(keep []bool) []int32 {
	remap := make([]int32, len(m.feats))
	terms := make([][]string, len(m.outs))
	bins := make([][]int32, len(m.outs))
	for i := range m.outs {
		m.outs[i].value, m.outs[i].missing = false, false
	}
	next := int32(0)
	for i, f := range m.feats {
		if i < len(keep) && !keep[i] {
			remap[i] = -1
			continue
		}
		remap[i] = next
		next++
		o := &m.outs[f.out]
		switch {
		case f.item == itemValue:
			o.value = true
		case f.item == itemMissing:
			o.missing = true
		case o.kind == kBin:
			bins[f.out] = append(bins[f.out], o.bins[f.item])
		default:
			terms[f.out] = append(terms[f.out], o.terms[f.item])
		}
	}
	for i := range m.outs {
		m.outs[i].terms, m.outs[i].bins = terms[i], bins[i]
	}
	if err := m.index(); err != nil {
		// A subset of terms that did not collide cannot collide.
		panic(err)
	}
	return remap
}
