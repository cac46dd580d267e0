package gbdt

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Split search constants, as LightGBM has them: categories are ordered by
// their smoothed mean gradient, and categorical splits pay an extra L2
// penalty because choosing a set of categories fits noise more easily
// than choosing a threshold.
const (
	catSmooth   = 10   // added to a category's hessian when ordering
	catL2       = 10   // added to lambdaL2 when scoring a categorical split
	catMinRows  = 10   // categories with fewer rows in a node go right
	maxCatLeft  = 64   // categories on the left of a split, at most
	minHessian  = 1e-3 // a child's hessian sum, at least
	minPartRows = 2048 // rows a histogram part holds at least
	maxParts    = 8    // parts a histogram is built in at most
)

// hbin is one histogram bin: the sums of gradients and hessians of the
// rows in it, and their number.
type hbin struct {
	g, h float64
	n    int
}

type sums = hbin

func (a hbin) plus(b hbin) hbin  { return hbin{a.g + b.g, a.h + b.h, a.n + b.n} }
func (a hbin) minus(b hbin) hbin { return hbin{a.g - b.g, a.h - b.h, a.n - b.n} }

// split is a leaf's best split.
type split struct {
	gain    float64
	feat    int32
	thr     int32 // numeric: bins 1..thr go left
	defLeft bool  // numeric: missing values go left
	set     [setWords]uint64
	l, r    sums
}

// leaf is a leaf of the tree being grown: its rows are idx[lo:hi].
type leaf struct {
	lo, hi int
	node   int32
	depth  int
	hist   []hbin
	sum    sums
	best   split // best.gain 0: no split worth making
}

// grower grows one tree at a time on the gradients g, h of the rows in idx.
type grower struct {
	p     *Params
	fs    []Feature
	w     int     // features per row
	off   []int32 // each feature's first bin in a histogram
	nbins int
	bins  []uint8 // rows × w, row after row: histograms read rows
	cols  []uint8 // w × rows, column after column: partitions read one feature
	n     int     // rows
	g, h  []float64
	idx   []int32
	tmp   []int32
	used  []int32 // the features sampled for this tree
	free  [][]hbin
	parts [][]hbin
	leafs []leaf
	cats  []catStat
	m     *Model // the tree being grown, alone
}

type catStat struct {
	bin   int
	ratio float64
	s     hbin
}

// columns returns the bins of n rows column after column.
func columns(bins []uint8, n, w int) []uint8 {
	cols := make([]uint8, len(bins))
	for r := 0; r < n; r++ {
		for f, b := range bins[r*w : r*w+w] {
			cols[f*n+r] = b
		}
	}
	return cols
}

func newGrower(p *Params, fs []Feature, bins, cols []uint8, n int) *grower {
	gr := &grower{p: p, fs: fs, w: len(fs), bins: bins, cols: cols, n: n,
		idx: make([]int32, n), tmp: make([]int32, n)}
	for i := range fs {
		gr.off = append(gr.off, int32(gr.nbins))
		gr.nbins += fs[i].bins()
	}
	gr.parts = make([][]hbin, maxParts)
	for i := 1; i < maxParts; i++ {
		gr.parts[i] = make([]hbin, gr.nbins)
	}
	return gr
}

func (gr *grower) getHist() []hbin {
	if n := len(gr.free); n > 0 {
		h := gr.free[n-1]
		gr.free = gr.free[:n-1]
		return h
	}
	return make([]hbin, gr.nbins)
}

func (gr *grower) newNode(cover int) int32 {
	m := gr.m
	m.Feature = append(m.Feature, -1)
	m.Threshold = append(m.Threshold, 0)
	m.DefaultLeft = append(m.DefaultLeft, false)
	m.Left = append(m.Left, 0)
	m.Right = append(m.Right, 0)
	m.Value = append(m.Value, 0)
	m.Cover = append(m.Cover, float64(cover))
	m.Gain = append(m.Gain, 0)
	return int32(len(m.Feature) - 1)
}

// setUse sets the features the next tree may split on.
func (gr *grower) setUse(use []bool) {
	gr.used = gr.used[:0]
	for f, ok := range use {
		if ok {
			gr.used = append(gr.used, int32(f))
		}
	}
}

// grow grows a tree on the rows idx[:n] into t, alone (its root is node
// 0, its storage reused). The leaves are left in gr.leafs, their rows in
// idx, for the caller to update the margins without walking the tree.
func (gr *grower) grow(n int, t *Model) {
	p := gr.p
	gr.m = t
	t.Feature, t.Threshold, t.DefaultLeft, t.Left, t.Right = t.Feature[:0], t.Threshold[:0], t.DefaultLeft[:0], t.Left[:0], t.Right[:0]
	t.Value, t.Cover, t.Gain, t.Sets = t.Value[:0], t.Cover[:0], t.Gain[:0], t.Sets[:0]
	root := gr.newNode(n)
	hist := gr.getHist()
	gr.build(hist, gr.idx[:n])
	var tot sums
	f0 := gr.used[0]
	for _, b := range hist[gr.off[f0] : int(gr.off[f0])+gr.fs[f0].bins()] {
		tot = tot.plus(b)
	}
	gr.leafs = append(gr.leafs[:0], leaf{lo: 0, hi: n, node: root, hist: hist, sum: tot})
	gr.findBest(&gr.leafs[0])
	for len(gr.leafs) < p.MaxLeaves {
		best := -1
		for i := range gr.leafs {
			if g := gr.leafs[i].best.gain; g > 0 && (best < 0 || g > gr.leafs[best].best.gain) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		gr.split(best)
	}
	for i := range gr.leafs {
		l := &gr.leafs[i]
		gr.m.Value[l.node] = -l.sum.g / (l.sum.h + p.LambdaL2) * p.LearningRate
		if l.hist != nil {
			gr.free = append(gr.free, l.hist)
			l.hist = nil
		}
	}
}

func (gr *grower) splittable(l *leaf) bool {
	return l.sum.n >= 2*gr.p.MinDataInLeaf && (gr.p.MaxDepth == 0 || l.depth < gr.p.MaxDepth)
}

// split carries out leaf i's best split.
func (gr *grower) split(i int) {
	m := gr.m
	l := gr.leafs[i]
	sp := &l.best
	nd := l.node
	m.Feature[nd] = sp.feat
	m.Gain[nd] = sp.gain
	m.DefaultLeft[nd] = sp.defLeft
	if gr.fs[sp.feat].categorical() {
		m.Threshold[nd] = int32(len(m.Sets) / setWords)
		m.Sets = append(m.Sets, sp.set[:]...)
	} else {
		m.Threshold[nd] = sp.thr
	}
	mid := gr.partition(l.lo, l.hi, sp)
	left := leaf{lo: l.lo, hi: mid, depth: l.depth + 1, sum: sp.l}
	right := leaf{lo: mid, hi: l.hi, depth: l.depth + 1, sum: sp.r}
	left.sum.n, right.sum.n = mid-l.lo, l.hi-mid
	left.node = gr.newNode(left.sum.n)
	right.node = gr.newNode(right.sum.n)
	m.Left[nd], m.Right[nd] = left.node, right.node
	if gr.splittable(&left) || gr.splittable(&right) {
		// Build the smaller child's histogram and subtract it from the
		// parent's for the larger child's.
		small, large := &left, &right
		if right.sum.n < left.sum.n {
			small, large = large, small
		}
		small.hist = gr.getHist()
		gr.build(small.hist, gr.idx[small.lo:small.hi])
		large.hist = l.hist
		for j := range large.hist {
			large.hist[j] = large.hist[j].minus(small.hist[j])
		}
		gr.findBest(&left)
		gr.findBest(&right)
	} else {
		gr.free = append(gr.free, l.hist)
	}
	gr.leafs[i] = left
	gr.leafs = append(gr.leafs, right)
}

// partition reorders idx[lo:hi] so that the rows going left come first,
// each side in its former order, and returns where the right side starts.
func (gr *grower) partition(lo, hi int, sp *split) int {
	f := int(sp.feat)
	col := gr.cols[f*gr.n : (f+1)*gr.n]
	// A table of where each bin goes makes the loop branch-free: a
	// split's sides are as unpredictable as a coin.
	var left [256]int
	switch {
	case gr.fs[f].categorical():
		for b := range left {
			if sp.set[b>>6]&(1<<(b&63)) != 0 {
				left[b] = 1
			}
		}
	default:
		for b := 1; b <= int(sp.thr); b++ {
			left[b] = 1
		}
		if sp.defLeft {
			left[0] = 1
		}
	}
	idx, tmp := gr.idx, gr.tmp
	k, nr := lo, 0
	for _, r := range idx[lo:hi] {
		l := left[col[r]]
		idx[k] = r
		tmp[nr] = r
		k += l
		nr += 1 - l
	}
	copy(idx[k:hi], tmp[:nr])
	return k
}

// build fills dst with the histogram of rows. Large row sets are cut into
// parts summed on all cores; the cut depends only on the number of rows,
// so the sums, and the model, do not depend on the number of cores.
func (gr *grower) build(dst []hbin, rows []int32) {
	parts := min(maxParts, len(rows)/minPartRows)
	if parts <= 1 {
		clear(dst)
		gr.accumulate(dst, rows)
		return
	}
	size := (len(rows) + parts - 1) / parts
	gr.parts[0] = dst
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), parts) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= parts {
					return
				}
				buf := gr.parts[i]
				clear(buf)
				gr.accumulate(buf, rows[i*size:min(len(rows), (i+1)*size)])
			}
		})
	}
	wg.Wait()
	for _, buf := range gr.parts[1:parts] {
		for j := range dst {
			dst[j] = dst[j].plus(buf[j])
		}
	}
	gr.parts[0] = nil
}

func (gr *grower) accumulate(dst []hbin, rows []int32) {
	w, bins, off, g, h := gr.w, gr.bins, gr.off[:gr.w], gr.g, gr.h
	if len(gr.used) < w {
		used := gr.used
		for _, r := range rows {
			gv, hv := g[r], h[r]
			row := bins[int(r)*w : int(r)*w+w]
			for _, f := range used {
				e := &dst[int(off[f])+int(row[f])]
				e.g += gv
				e.h += hv
				e.n++
			}
		}
		return
	}
	for _, r := range rows {
		gv, hv := g[r], h[r]
		row := bins[int(r)*w : int(r)*w+w]
		for f, b := range row {
			e := &dst[int(off[f])+int(b)]
			e.g += gv
			e.h += hv
			e.n++
		}
	}
}

// score is a node's loss reduction over no node at all, up to a constant.
func score(s sums, lambda float64) float64 { return s.g * s.g / (s.h + lambda) }

// findBest finds the best split of l among the sampled features.
func (gr *grower) findBest(l *leaf) {
	l.best = split{}
	if !gr.splittable(l) {
		return
	}
	for _, f := range gr.used {
		h := l.hist[gr.off[f] : int(gr.off[f])+gr.fs[f].bins()]
		if gr.fs[f].categorical() {
			gr.bestCategorical(l, f, h)
		} else {
			gr.bestNumeric(l, f, h)
		}
	}
}

func (gr *grower) bestNumeric(l *leaf, f int32, h []hbin) {
	lambda, minData := gr.p.LambdaL2, gr.p.MinDataInLeaf
	tot, miss := l.sum, h[0]
	parent := score(tot, lambda)
	try := func(left sums, t int32, defLeft bool) {
		right := tot.minus(left)
		if left.n < minData || right.n < minData || left.h < minHessian || right.h < minHessian {
			return
		}
		if gain := score(left, lambda) + score(right, lambda) - parent; gain > l.best.gain {
			l.best = split{gain: gain, feat: f, thr: t, defLeft: defLeft, l: left, r: right}
		}
	}
	var acc sums
	for t := 1; t < len(h); t++ {
		acc = acc.plus(h[t])
		if acc.n == 0 {
			continue
		}
		if tot.n-acc.n < minData {
			break
		}
		if miss.n == 0 {
			// No missing value here to learn from: send unseen ones
			// with the majority.
			try(acc, int32(t), 2*acc.n >= tot.n)
			continue
		}
		try(acc, int32(t), false)
		try(acc.plus(miss), int32(t), true)
	}
}

// bestCategorical orders the categories (bins) holding enough rows by
// their smoothed mean gradient and tries every cut of that order from
// either end, as LightGBM does: the best set of categories to split off
// is a prefix of it.
func (gr *grower) bestCategorical(l *leaf, f int32, h []hbin) {
	lambda, minData := gr.p.LambdaL2+catL2, gr.p.MinDataInLeaf
	cs := gr.cats[:0]
	for b, s := range h {
		if s.n >= catMinRows {
			cs = append(cs, catStat{bin: b, ratio: s.g / (s.h + catSmooth), s: s})
		}
	}
	gr.cats = cs
	if len(cs) < 2 {
		return
	}
	slices.SortFunc(cs, func(a, b catStat) int {
		if c := cmp.Compare(a.ratio, b.ratio); c != 0 {
			return c
		}
		return cmp.Compare(a.bin, b.bin)
	})
	tot := l.sum
	parent := score(tot, lambda)
	for dir := 0; dir < 2; dir++ {
		var acc sums
		for k := 0; k < min(len(cs)-1, maxCatLeft); k++ {
			c := cs[k]
			if dir == 1 {
				c = cs[len(cs)-1-k]
			}
			acc = acc.plus(c.s)
			right := tot.minus(acc)
			if acc.n < minData || acc.h < minHessian {
				continue
			}
			if right.n < minData || right.h < minHessian {
				break
			}
			gain := score(acc, lambda) + score(right, lambda) - parent
			if gain <= l.best.gain {
				continue
			}
			sp := split{gain: gain, feat: f, l: acc, r: right}
			for j := 0; j <= k; j++ {
				b := cs[j].bin
				if dir == 1 {
					b = cs[len(cs)-1-j].bin
				}
				sp.set[b>>6] |= 1 << (b & 63)
			}
			l.best = sp
		}
	}
}
