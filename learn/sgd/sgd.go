// Package sgd trains linear models by stochastic gradient descent, the
// algorithm Amazon Machine Learning offered: logistic regression for BINARY
// targets, multinomial logistic regression for MULTICLASS and least squares
// for REGRESSION, with AML's sgd.* training parameters.
//
// Updates use per-coordinate adaptive step sizes (AdaGrad), which need no
// learning-rate tuning on sparse one-hot features: a rare category moves
// as fast as it needs to, a frequent one settles.
package sgd

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/perchml/perch"
)

// Params are the training parameters, parsed from AML's sgd.* keys.
type Params struct {
	MaxPasses     int     // sgd.maxPasses: passes over the data
	Shuffle       bool    // sgd.shuffleType: auto shuffles the rows before every pass
	L1            float64 // sgd.l1RegularizationAmount
	L2            float64 // sgd.l2RegularizationAmount
	MaxModelBytes int64   // sgd.maxMLModelSizeInBytes: weights are pruned to fit
	Seed          uint64  // seed: shuffling order; the same seed gives the same model
	LearningRate  float64 // sgd.learningRate (perch): base step size
}

// DefaultParams are the parameters used when none are given. Shuffling is
// on: AML's console trained that way, and its documentation recommended it.
func DefaultParams() Params {
	return Params{MaxPasses: 10, Shuffle: true, MaxModelBytes: 33554432, Seed: 1, LearningRate: 0.1}
}

// ParseParams reads AML's training parameters, with AML's ranges. Keys that
// belong to other algorithms (algorithm, gbdt.*) are left to their owners;
// any other unknown key is an error, so a typo is not silently ignored.
func ParseParams(kv map[string]string) (Params, error) {
	p := DefaultParams()
	// Keys in order, so that of two mistakes the same one is reported.
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		v := strings.TrimSpace(kv[k])
		bad := func(want string) error {
			return perch.Errorf(perch.EInvalid, "parameter %s: %q is not %s", k, v, want)
		}
		switch k {
		case "sgd.maxPasses", "sgd.passes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				return p, bad("an integer from 1 to 10000")
			}
			p.MaxPasses = n
		case "sgd.shuffleType":
			switch strings.ToLower(v) {
			case "auto":
				p.Shuffle = true
			case "none":
				p.Shuffle = false
			default:
				return p, bad("auto or none")
			}
		case "sgd.l1RegularizationAmount", "sgd.l1", "sgd.l2RegularizationAmount", "sgd.l2", "sgd.learningRate":
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
				return p, bad("a number ≥ 0")
			}
			switch k {
			case "sgd.l1RegularizationAmount", "sgd.l1":
				p.L1 = x
			case "sgd.l2RegularizationAmount", "sgd.l2":
				p.L2 = x
			default:
				if x == 0 {
					return p, bad("a number > 0")
				}
				p.LearningRate = x
			}
		case "sgd.maxMLModelSizeInBytes":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 100000 || n > 2147483648 {
				return p, bad("an integer from 100000 to 2147483648")
			}
			p.MaxModelBytes = n
		case "seed", "sgd.seed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return p, bad("a non-negative integer")
			}
			p.Seed = n
		case "algorithm", "sgd.likelihood":
		default:
			if strings.HasPrefix(k, "gbdt.") {
				continue
			}
			return p, perch.Errorf(perch.EInvalid, "parameter %s: unknown training parameter", k)
		}
	}
	if p.L1 > 0 && p.L2 > 0 {
		return p, perch.Errorf(perch.EInvalid, "parameters sgd.l1RegularizationAmount and sgd.l2RegularizationAmount cannot both be set")
	}
	return p, nil
}

// Data is a training set in compressed sparse rows: row i's features are
// Idx[Ptr[i]:Ptr[i+1]] with values Val[Ptr[i]:Ptr[i+1]]. Y holds the label:
// 0 or 1 for BINARY, the class index for MULTICLASS, the value for REGRESSION.
type Data struct {
	// Shuffled says the rows were appended in the order Permutation gave
	// for the training seed, so Train need not shuffle them again.
	Shuffled bool
	Dim      int
	Ptr      []int
	Idx      []int32
	Val      []float64
	Y        []float64
}

// Append adds one row.
func (d *Data) Append(v *perch.Vector, y float64) {
	if len(d.Ptr) == 0 {
		d.Ptr = append(d.Ptr, 0)
	}
	d.Idx = append(d.Idx, v.Index...)
	d.Val = append(d.Val, v.Value...)
	d.Ptr = append(d.Ptr, len(d.Idx))
	d.Y = append(d.Y, y)
}

// Rows returns the number of rows.
func (d *Data) Rows() int { return len(d.Y) }

// Model is a trained linear model. W holds K weights per feature
// (W[f*K+k]), so one record touches contiguous memory.
type Model struct {
	Type  perch.ModelType `json:"type"`
	K     int             `json:"classes"` // 1 for BINARY and REGRESSION
	Dim   int             `json:"dim"`
	Bias  []float64       `json:"bias"`
	W     []float64       `json:"weights"`
	YMean float64         `json:"yMean,omitempty"` // REGRESSION: targets are learnt standardised
	YStd  float64         `json:"yStd,omitempty"`
}

// Train fits a model of type t (with k classes for MULTICLASS) to d.
// progress, if not nil, is called after every pass.
func Train(d *Data, t perch.ModelType, k int, p Params, progress func(pass, passes int)) (*Model, error) {
	n := d.Rows()
	if n == 0 {
		return nil, perch.Errorf(perch.EInvalid, "no training rows")
	}
	if t != perch.MulticlassModel {
		k = 1
	} else if k < 2 {
		return nil, perch.Errorf(perch.EInvalid, "a MULTICLASS target needs at least 2 classes, found %d", k)
	}
	m := &Model{Type: t, K: k, Dim: d.Dim, Bias: make([]float64, k), W: make([]float64, d.Dim*k)}
	y := d.Y
	if t == perch.RegressionModel {
		m.YMean, m.YStd = meanStd(y)
		if m.YStd == 0 {
			m.YStd = 1
		}
		y = make([]float64, n)
		for i, v := range d.Y {
			y[i] = (v - m.YMean) / m.YStd
		}
	}
	f := newAdagrad(len(m.W), k, p, d)
	rng := rand.New(rand.NewPCG(p.Seed, 0x5851f42d4c957f2d)) // block order
	if p.Shuffle && !d.Shuffled {
		// Shuffle the rows once in memory, then each pass visits blocks of
		// them in a fresh random order: rows within a block are read
		// sequentially, which keeps the caches warm, and the order still
		// changes from pass to pass.
		d, y = shuffled(d, y, Permutation(n, p))
	}
	const block = 64
	blocks := make([]int32, (n+block-1)/block)
	for i := range blocks {
		blocks[i] = int32(i)
	}
	scores := make([]float64, k)
	for pass := 0; pass < p.MaxPasses; pass++ {
		if p.Shuffle {
			rng.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
		}
		for _, b := range blocks {
			for r := int(b) * block; r < min(n, int(b)*block+block); r++ {
				lo, hi := d.Ptr[r], d.Ptr[r+1]
				f.step(m, d.Idx[lo:hi], d.Val[lo:hi], y[r], scores)
			}
		}
		if progress != nil {
			progress(pass+1, p.MaxPasses)
		}
	}
	return m, nil
}

// Permutation returns the order in which Train visits n rows with
// parameters p when they are shuffled; a caller that builds Data in this
// order sets Data.Shuffled and saves Train a copy.
func Permutation(n int, p Params) []int {
	return rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15)).Perm(n)
}

// shuffled returns a copy of d and y with the rows in a random order.
func shuffled(d *Data, y []float64, perm []int) (*Data, []float64) {
	n := d.Rows()
	out := &Data{Dim: d.Dim, Ptr: make([]int, 1, n+1), Idx: make([]int32, 0, len(d.Idx)), Val: make([]float64, 0, len(d.Val)), Y: make([]float64, n)}
	ys := make([]float64, n)
	for i, r := range perm {
		lo, hi := d.Ptr[r], d.Ptr[r+1]
		out.Idx = append(out.Idx, d.Idx[lo:hi]...)
		out.Val = append(out.Val, d.Val[lo:hi]...)
		out.Ptr = append(out.Ptr, len(out.Idx))
		out.Y[i] = d.Y[r]
		ys[i] = y[r]
	}
	return out, ys
}

// adagrad keeps per-coordinate AdaGrad state: G, the sum of squared
// gradients, and the step size alpha/(1+√G) derived from it. Step sizes
// are refreshed in bulk (every few rows, at a cost that amortizes to a
// constant per row) rather than on every update, so an update is two
// multiply-adds with no square root or division: that is what makes a
// pass over Adult take milliseconds.
type adagrad struct {
	g2       []float64 // per weight: sum of squared gradients
	rate     []float64 // per weight: current step size
	bg2      []float64 // the same for the biases, whose steps are exact
	alpha    float64
	l1, l2   float64
	k        int
	grad     []float64
	every    int // rows between refreshes, doubling up to maxEvery
	maxEvery int
	sinceRef int
}

func newAdagrad(size, k int, p Params, d *Data) *adagrad {
	a := &adagrad{
		g2: make([]float64, size), rate: make([]float64, size),
		bg2:   make([]float64, k),
		alpha: p.LearningRate, l1: p.L1, l2: p.L2, k: k, grad: make([]float64, k),
	}
	// Refresh when the rows seen since the last refresh have touched about
	// as many weights as there are: refreshing then costs no more than the
	// updates did.
	nnz := 1.0
	if n := d.Rows(); n > 0 {
		nnz = max(1, float64(len(d.Idx))/float64(n))
	}
	// Early on, step sizes fall fast: refresh after 1, 2, 4… rows.
	a.maxEvery = max(64, int(float64(size)/(nnz*float64(k))))
	a.every = 1
	a.refresh()
	return a
}

func (a *adagrad) refresh() {
	for i, g := range a.g2 {
		a.rate[i] = a.alpha / (1 + math.Sqrt(g))
	}
	a.sinceRef = 0
}

func (a *adagrad) step(m *Model, idx []int32, val []float64, y float64, scores []float64) {
	if a.sinceRef++; a.sinceRef >= a.every {
		a.refresh()
		a.every = min(2*a.every, a.maxEvery)
	}
	k := a.k
	if k == 1 {
		a.step1(m, idx, val, y)
		return
	}
	copy(scores, m.Bias)
	for j, i := range idx {
		x := val[j]
		w := m.W[int(i)*k : int(i)*k+k]
		for c := range w {
			scores[c] += w[c] * x
		}
	}
	softmax(scores)
	g := a.grad
	copy(g, scores)
	g[int(y)] -= 1
	for c := 0; c < k; c++ {
		a.bg2[c] += g[c] * g[c]
		m.Bias[c] -= a.alpha / (1 + math.Sqrt(a.bg2[c])) * g[c]
	}
	for j, i := range idx {
		x := val[j]
		base := int(i) * k
		for c := 0; c < k; c++ {
			a.update(m.W, base+c, g[c]*x)
		}
	}
}

// step1 is step for models with one output (BINARY and REGRESSION).
func (a *adagrad) step1(m *Model, idx []int32, val []float64, y float64) {
	score := m.Bias[0]
	for j, i := range idx {
		score += m.W[i] * val[j]
	}
	var g float64
	if m.Type == perch.BinaryModel {
		g = sigmoid(score) - y
	} else {
		// Clip so one outlier cannot blow the weights up early on.
		g = max(-10, min(10, score-y))
	}
	a.bg2[0] += g * g
	m.Bias[0] -= a.alpha / (1 + math.Sqrt(a.bg2[0])) * g
	if a.l1 == 0 && a.l2 == 0 {
		// The default: no regularization, so the loop is the bare step.
		w, g2, rate := m.W, a.g2, a.rate
		for j, i := range idx {
			gi := g * val[j]
			gg := gi * gi
			n := g2[i] + gg
			g2[i] = n
			r := rate[i]
			if 4*gg > n {
				r = a.alpha / (1 + math.Sqrt(n))
				rate[i] = r
			}
			w[i] -= r * gi
		}
		return
	}
	for j, i := range idx {
		a.update(m.W, int(i), g*val[j])
	}
}

// update takes one step on weight i with loss gradient g, then applies the
// regularization: L2 as weight decay, L1 as soft thresholding (which sets
// weak weights to exactly zero).
func (a *adagrad) update(w []float64, i int, g float64) {
	gg := g * g
	a.g2[i] += gg
	r := a.rate[i]
	if 4*gg > a.g2[i] {
		// This gradient is a large share of the history: the stored step
		// size is stale, and using it could overshoot. Recompute it.
		r = a.alpha / (1 + math.Sqrt(a.g2[i]))
		a.rate[i] = r
	}
	v := w[i] - r*(g+a.l2*w[i])
	if a.l1 > 0 {
		t := r * a.l1
		switch {
		case v > t:
			v -= t
		case v < -t:
			v += t
		default:
			v = 0
		}
	}
	w[i] = v
}

// Score writes the model's outputs for v into out (len K): a probability
// for BINARY, class probabilities for MULTICLASS, the value for REGRESSION.
func (m *Model) Score(v *perch.Vector, out []float64) {
	k := m.K
	copy(out, m.Bias)
	for j, i := range v.Index {
		if int(i) >= m.Dim {
			continue
		}
		x := v.Value[j]
		w := m.W[int(i)*k : int(i)*k+k]
		for c := range w {
			out[c] += w[c] * x
		}
	}
	switch m.Type {
	case perch.BinaryModel:
		out[0] = sigmoid(out[0])
	case perch.RegressionModel:
		out[0] = m.YMean + m.YStd*out[0]
	default:
		softmax(out[:k])
	}
}

// Prune drops the features with !keep[f] and renumbers the rest densely in
// order, as recipe.Mapper.Keep renumbers its features.
func (m *Model) Prune(keep []bool) {
	k := m.K
	j := 0
	for f := 0; f < m.Dim; f++ {
		if !keep[f] {
			continue
		}
		copy(m.W[j*k:j*k+k], m.W[f*k:f*k+k])
		j++
	}
	m.W = m.W[:j*k]
	m.Dim = j
}

// Strength returns, per feature, the largest absolute weight over classes.
func (m *Model) Strength() []float64 {
	s := make([]float64, m.Dim)
	for f := range s {
		for c := 0; c < m.K; c++ {
			if a := math.Abs(m.W[f*m.K+c]); a > s[f] {
				s[f] = a
			}
		}
	}
	return s
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softmax(s []float64) {
	mx := s[0]
	for _, v := range s[1:] {
		if v > mx {
			mx = v
		}
	}
	sum := 0.0
	for i, v := range s {
		s[i] = math.Exp(v - mx)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}

func meanStd(y []float64) (mean, std float64) {
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for _, v := range y {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(y)))
}

// String describes the parameters as AML's keys.
func (p Params) String() string {
	return fmt.Sprintf("sgd.maxPasses=%d sgd.shuffleType=%s sgd.l1RegularizationAmount=%g sgd.l2RegularizationAmount=%g",
		p.MaxPasses, map[bool]string{true: "auto", false: "none"}[p.Shuffle], p.L1, p.L2)
}

// Grow makes room for rows more rows holding nnz features in all.
func (d *Data) Grow(rows, nnz int) {
	if len(d.Ptr) == 0 {
		d.Ptr = append(make([]int, 0, rows+1), 0)
	}
	d.Idx = slices.Grow(d.Idx, nnz)
	d.Val = slices.Grow(d.Val, nnz)
	d.Y = slices.Grow(d.Y, rows)
}
