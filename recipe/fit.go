package recipe

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Fit learns the state of every output from the training rows: the
// vocabularies, the quantile bins, the means and deviations. rows hold raw
// fields in schema attribute order, "" for missing. The same rows always
// give the same Mapper, in any order. Values that are not valid UTF-8 stay
// out of the vocabularies, since a model file could not spell them.
//
// Outputs are fitted in parallel, each on its own, so the result does not
// depend on the schedule.
func (p *Plan) Fit(rows [][]string) (*Mapper, error) {
	if len(rows) == 0 {
		return nil, invalid("recipe: no rows to fit the recipe to")
	}
	m := &Mapper{recipe: p.recipe.clone(), outs: make([]output, len(p.vals))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, v := range p.vals {
		o := &m.outs[i]
		o.val, o.name = v, p.names[i]
		sem <- struct{}{}
		wg.Go(func() {
			o.fit(rows)
			<-sem
		})
	}
	wg.Wait()
	m.dropCollisions()
	if err := m.index(); err != nil {
		return nil, err
	}
	return m, nil
}

func (o *output) fit(rows [][]string) {
	switch o.kind {
	case kNumeric:
		o.fitNumeric(rows)
	case kBin:
		xs := o.values(rows, o.col)
		o.edges[0] = fitEdges(xs, o.n)
		if len(xs) > 0 {
			for b := range len(o.edges[0]) + 1 {
				o.bins = append(o.bins, int32(b))
			}
		}
	case kBinary:
		var seen [2]bool
		for _, r := range rows {
			if b := parseBinary(field(r, o.col)); b >= 0 {
				seen[b] = true
			} else {
				o.missing = true
			}
		}
		for b, ok := range seen {
			if ok {
				o.terms = append(o.terms, binaryTerms[b])
			}
		}
	case kCategorical:
		set := make(map[string]struct{})
		for _, r := range rows {
			f := field(r, o.col)
			if f == "" {
				o.missing = true
			} else if _, ok := set[f]; !ok && utf8.ValidString(f) {
				set[strings.Clone(f)] = struct{}{}
			}
		}
		o.terms = sorted(set)
	default:
		if o.kind == kCross {
			for i, side := range [2]*val{o.a, o.b} {
				if side.kind == kBin {
					// Crossings have no missing feature of their
					// own sides: the crossing's is set below.
					missing := o.missing
					o.edges[i] = fitEdges(o.values(rows, side.col), side.n)
					o.missing = missing
				}
			}
		}
		set := make(map[string]struct{})
		row := make(map[string]struct{})
		var buf []byte
		terms, texts := 0, 0
		for _, r := range rows {
			clear(row)
			o.eachTerm(r, &buf, func(t []byte) {
				if _, ok := row[string(t)]; !ok {
					row[string(t)] = struct{}{}
				}
				if _, ok := set[string(t)]; !ok && utf8.Valid(t) {
					set[string(t)] = struct{}{}
				}
			})
			if len(row) > 0 {
				terms += len(row)
				texts++
			} else if o.kind == kCross {
				o.missing = true
			}
		}
		o.terms = sorted(set)
		o.meanTerms = 1
		if texts > 0 {
			o.meanTerms = float64(terms) / float64(texts)
		}
	}
}

func sorted(set map[string]struct{}) []string {
	terms := make([]string, 0, len(set))
	for t := range set {
		terms = append(terms, t)
	}
	slices.Sort(terms)
	return terms
}

// fitNumeric finds the mean and standard deviation. It sums the values in
// sorted order, so that the result does not depend on the order of rows.
func (o *output) fitNumeric(rows [][]string) {
	xs := o.values(rows, o.col)
	mean, ss := 0.0, 0.0
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	for _, x := range xs {
		ss += (x - mean) * (x - mean) / float64(len(xs))
	}
	std := math.Sqrt(ss)
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		mean = 0
	}
	// A constant has no deviation to scale by, and an overflowing one none
	// that a float can hold.
	o.value = std > 0 && !math.IsInf(std, 0)
	if !o.value {
		std = 1
	}
	o.mean, o.std = mean, std
}

// values returns the sorted numbers of column col, noting whether any is
// missing.
func (o *output) values(rows [][]string, col int) []float64 {
	var xs []float64
	for _, r := range rows {
		if x, ok := parseNumber(field(r, col)); ok {
			xs = append(xs, x)
		} else {
			o.missing = true
		}
	}
	slices.Sort(xs)
	return xs
}

// fitEdges finds the edges of n equal-frequency bins of sorted values xs.
// Each bin takes its share of the values not yet binned, extended to the
// end of a run of equal values, and its upper edge lies halfway to the next
// larger value. So equal values share a bin, every bin holds a training
// value, and a value too frequent for one bin (say the zeros of a
// capital gain) gets a bin of its own while the rest are still split.
func fitEdges(xs []float64, n int) []float64 {
	var edges []float64
	start := 0
	for r := n; r > 1 && start < len(xs); r-- {
		i := start + max(1, (len(xs)-start)/r)
		a := xs[i-1]
		j, _ := slices.BinarySearchFunc(xs[i:], a, func(x, a float64) int {
			if x <= a {
				return -1
			}
			return 1
		})
		j += i
		if j == len(xs) {
			break
		}
		b := xs[j]
		e := a/2 + b/2
		if e <= a || e > b {
			e = b
		}
		edges = append(edges, e)
		start = j
	}
	return edges
}

// eachTerm calls add with each term of a text-like output in record r,
// built in *buf, and reports whether the record had any. It spells terms
// exactly as Map hashes them.
func (o *output) eachTerm(r []string, buf *[]byte, add func([]byte)) bool {
	switch o.kind {
	case kText:
		t := tokenizer{s: field(r, o.col), nopunct: o.nopunct}
		found := false
		for tok, ok := t.next(); ok; tok, ok = t.next() {
			found = true
			*buf = appendToken((*buf)[:0], tok, o.lower)
			add(*buf)
		}
		return found
	case kTerms:
		var toks []string
		t := tokenizer{s: field(r, o.col), nopunct: o.nopunct}
		for tok, ok := t.next(); ok; tok, ok = t.next() {
			toks = append(toks, tok)
		}
		for j := range toks {
			if o.osb {
				for d := 1; d < o.n && j+d < len(toks); d++ {
					b := appendToken((*buf)[:0], toks[j], o.lower)
					b = append(b, strings.Repeat("_", d)...)
					*buf = appendToken(b, toks[j+d], o.lower)
					add(*buf)
				}
				continue
			}
			b := (*buf)[:0]
			for k := j; k < j+o.n && k < len(toks); k++ {
				if k > j {
					b = append(b, ' ')
				}
				b = appendToken(b, toks[k], o.lower)
				add(b)
			}
			*buf = b
		}
		return len(toks) > 0
	}
	found := false
	a := newTerms(o.a, field(r, o.a.col), o.edges[0])
	for ta, ok := a.next(); ok; ta, ok = a.next() {
		b := newTerms(o.b, field(r, o.b.col), o.edges[1])
		for tb, ok := b.next(); ok; tb, ok = b.next() {
			found = true
			t := appendToken((*buf)[:0], ta, o.a.lower)
			t = append(t, '_')
			*buf = appendToken(t, tb, o.b.lower)
			add(*buf)
		}
	}
	return found
}

// dropCollisions removes the rare term whose hash equals an earlier
// term's, so that every vocabulary entry has its own key. Outputs and
// terms are sorted, so which one goes is deterministic.
func (m *Mapper) dropCollisions() {
	seen := make(map[uint64]struct{})
	for oi := range m.outs {
		o := &m.outs[oi]
		if len(o.terms) == 0 || o.kind == kBinary {
			continue
		}
		s := seed(oi)
		kept := o.terms[:0]
		for _, t := range o.terms {
			h := hashString(s, t)
			if _, dup := seen[h]; dup {
				continue
			}
			seen[h] = struct{}{}
			kept = append(kept, t)
		}
		o.terms = kept
	}
}
