// Package sgd trains linear models by stochastic gradient descent, the
// algorithm Amazon Machine Learning offered: logistic regression for BINARY
// targets, multinomial logistic regression for MULTICLASS and least squares
// for REGRESSION, with AML's sgd.* training parameters.
//
// Updates use per-coordinate adaptive step sizes (FTRL-Proximal), which need
// no learning-rate tuning on sparse one-hot features and apply L1 exactly,
// so the weights a pass leaves behind are already sparse.
package sgd

import (
	"fmt"
	"math"
	"math/rand/v2"
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
	for k, v := range kv {
		v = strings.TrimSpace(v)
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
	Dim int
	Ptr []int
	Idx []int32
	Val []float64
	Y   []float64
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
	f := newFTRL(len(m.W), k, p, n)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	scores := make([]float64, k)
	for pass := 0; pass < p.MaxPasses; pass++ {
		if p.Shuffle {
			rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, r := range order {
			lo, hi := d.Ptr[r], d.Ptr[r+1]
			idx, val := d.Idx[lo:hi], d.Val[lo:hi]
			f.step(m, idx, val, y[r], scores)
		}
		if progress != nil {
			progress(pass+1, p.MaxPasses)
		}
	}
	f.finish(m)
	return m, nil
}

// ftrl keeps FTRL-Proximal's per-coordinate state: z (the adjusted gradient
// sum) and n (the squared-gradient sum). Weights are derived from them.
type ftrl struct {
	z, n       []float64
	bz, bn     []float64
	alpha      float64
	beta       float64
	l1, l2     float64
	k          int
	grad       []float64
	regression bool
}

// newFTRL sizes the state. AML's regularization amounts are per example
// (the objective is the mean loss plus amount×‖w‖); FTRL's penalties apply
// to the summed loss of every step, so they are scaled by the steps taken.
func newFTRL(size, k int, p Params, rows int) *ftrl {
	steps := float64(rows) * float64(p.MaxPasses)
	return &ftrl{
		z: make([]float64, size), n: make([]float64, size),
		bz: make([]float64, k), bn: make([]float64, k),
		alpha: p.LearningRate, beta: 1, l1: p.L1 * steps, l2: p.L2 * steps, k: k,
		grad: make([]float64, k),
	}
}

// weight returns the FTRL-Proximal weight for state z, n.
func (f *ftrl) weight(z, n float64) float64 {
	if z <= f.l1 && z >= -f.l1 {
		return 0
	}
	s := f.l1
	if z < 0 {
		s = -s
	}
	return -(z - s) / ((f.beta+math.Sqrt(n))/f.alpha + f.l2)
}

func (f *ftrl) step(m *Model, idx []int32, val []float64, y float64, scores []float64) {
	k := f.k
	// Materialise the weights this row touches, then score.
	for c := 0; c < k; c++ {
		m.Bias[c] = -f.bz[c] / ((f.beta + math.Sqrt(f.bn[c])) / f.alpha)
		scores[c] = m.Bias[c]
	}
	for j, i := range idx {
		x := val[j]
		base := int(i) * k
		for c := 0; c < k; c++ {
			w := f.weight(f.z[base+c], f.n[base+c])
			m.W[base+c] = w
			scores[c] += w * x
		}
	}
	g := f.grad
	switch m.Type {
	case perch.BinaryModel:
		g[0] = sigmoid(scores[0]) - y
	case perch.RegressionModel:
		g[0] = scores[0] - y
		// Clip so one outlier cannot blow the weights up early on.
		if g[0] > 10 {
			g[0] = 10
		} else if g[0] < -10 {
			g[0] = -10
		}
	default:
		softmax(scores)
		for c := 0; c < k; c++ {
			g[c] = scores[c]
		}
		g[int(y)] -= 1
	}
	for c := 0; c < k; c++ {
		f.update(&f.bz[c], &f.bn[c], m.Bias[c], g[c])
	}
	for j, i := range idx {
		x := val[j]
		base := int(i) * k
		for c := 0; c < k; c++ {
			f.update(&f.z[base+c], &f.n[base+c], m.W[base+c], g[c]*x)
		}
	}
}

func (f *ftrl) update(z, n *float64, w, g float64) {
	n2 := *n + g*g
	sigma := (math.Sqrt(n2) - math.Sqrt(*n)) / f.alpha
	*z += g - sigma*w
	*n = n2
}

// finish writes every weight from the final state.
func (f *ftrl) finish(m *Model) {
	for i := range m.W {
		m.W[i] = f.weight(f.z[i], f.n[i])
	}
	for c := range m.Bias {
		m.Bias[c] = -f.bz[c] / ((f.beta + math.Sqrt(f.bn[c])) / f.alpha)
	}
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
