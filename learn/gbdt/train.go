// Package gbdt trains gradient-boosted decision trees on histograms, as
// LightGBM and XGBoost's hist method do, in pure Go.
//
// Attributes are used as the schema gives them, not through a recipe:
// numbers are cut into at most gbdt.maxBins quantile bins, with a bin of
// their own for missing values whose direction each split learns;
// categories are used natively, ordered at every node by their gradient
// statistics; BINARY attributes are numbers 0 and 1; TEXT attributes are
// not used. Trees grow leaf by leaf, the leaf with the best loss reduction
// first, up to gbdt.maxLeaves leaves and gbdt.maxDepth levels, on
// histograms built on every core; the larger child's histogram is its
// parent's minus its sibling's. A MULTICLASS round grows its classes'
// trees at once. Training is deterministic for a seed, whatever the
// number of cores.
//
// A Model is flat arrays, encoded in the model file; Compile turns it
// into walks without branches for prediction, and Contributions explains
// a prediction by TreeSHAP.
package gbdt

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/perchml/perch"
)

// Train fits an ensemble of type t to rows (fields in the columns of
// schema s, "" for missing) labelled y: 0 or 1 for BINARY, the class index
// for MULTICLASS (of k classes), the value for REGRESSION. progress, if
// not nil, is called after every round.
func Train(s *perch.Schema, rows [][]string, y []float64, t perch.ModelType, k int, p Params, progress func(done, total int)) (*Model, error) {
	n := len(rows)
	if n < 2 {
		return nil, perch.Errorf(perch.EInvalid, "gbdt needs at least 2 training rows, found %d", n)
	}
	if t != perch.MulticlassModel {
		k = 1
	} else if k < 2 {
		return nil, perch.Errorf(perch.EInvalid, "a MULTICLASS target needs at least 2 classes, found %d", k)
	}
	if err := checkTarget(s, t, y); err != nil {
		return nil, err
	}
	fs := buildFeatures(s, rows, &p)
	if len(fs) == 0 {
		return nil, perch.Errorf(perch.EInvalid, "no attribute gbdt can learn from: it does not use TEXT attributes (algorithm sgd does)")
	}
	bins := binRows(fs, rows)
	rng := rand.New(rand.NewPCG(p.Seed, 0x2545f4914f6cdd1d))

	train := make([]int32, n)
	for i := range train {
		train[i] = int32(i)
	}
	var valid []int32
	if p.EarlyStoppingRounds > 0 {
		nv := int(math.Round(float64(n) * p.ValidationFraction))
		if nv < 1 || n-nv < 2 {
			return nil, perch.Errorf(perch.EInvalid, "gbdt.earlyStoppingRounds: %d rows are too few to hold out a fraction %g of them", n, p.ValidationFraction)
		}
		perm := rng.Perm(n)
		valid = make([]int32, nv)
		for i, r := range perm[:nv] {
			valid[i] = int32(r)
		}
		train = train[:0]
		for _, r := range perm[nv:] {
			train = append(train, int32(r))
		}
		// In row order, so that histograms read memory forwards.
		slices.Sort(valid)
		slices.Sort(train)
	}

	m := &Model{K: k, Base: baseMargins(t, k, y, train), Features: fs, Importance: make([]Importance, len(fs))}
	margins := make([]float64, n*k)
	for r := 0; r < n; r++ {
		copy(margins[r*k:r*k+k], m.Base)
	}
	grad := make([]float64, n*k)
	hess := make([]float64, n*k)
	// One grower per core, up to one per class: the trees of a round's
	// classes grow at once, each into its own fragment, and are appended
	// in class order.
	cols := columns(bins, n, len(fs))
	growers := make([]*grower, min(k, runtime.GOMAXPROCS(0)))
	for i := range growers {
		growers[i] = newGrower(&p, fs, bins, cols, n)
	}
	uses := make([][]bool, k)
	frags := make([]*Model, k)
	for c := range uses {
		uses[c] = make([]bool, len(fs))
		frags[c] = &Model{Features: fs}
	}
	sample := train
	var others []int32 // rows whose margins need a walk through the tree
	if p.RowFraction < 1 {
		sample = make([]int32, 0, len(train))
		others = make([]int32, 0, len(train))
	}
	walk := make([]int32, 0, len(train)+len(valid))

	best, bestRound, nodesAt, setsAt := math.Inf(1), -1, []int{0}, []int{0}
	for round := 0; round < p.NumTrees; round++ {
		gradients(t, k, y, margins, grad, hess, train)
		if p.RowFraction < 1 {
			sample, others = sample[:0], others[:0]
			for _, r := range train {
				if rng.Float64() < p.RowFraction {
					sample = append(sample, r)
				} else {
					others = append(others, r)
				}
			}
			if len(sample) == 0 {
				sample = append(sample, others[len(others)-1])
				others = others[:len(others)-1]
			}
		}
		walk = append(append(walk[:0], others...), valid...)
		for c := range uses {
			sampleFeatures(uses[c], p.FeatureFraction, rng)
		}
		grow := func(gr *grower, c int) {
			gr.setUse(uses[c])
			gr.g, gr.h = grad[c*n:(c+1)*n], hess[c*n:(c+1)*n]
			copy(gr.idx, sample)
			f := frags[c]
			gr.grow(len(sample), f)
			for _, l := range gr.leafs {
				v := f.Value[l.node]
				for _, r := range gr.idx[l.lo:l.hi] {
					margins[int(r)*k+c] += v
				}
			}
			w := len(fs)
			for _, r := range walk {
				margins[int(r)*k+c] += f.Value[f.leaf(0, bins[int(r)*w:int(r)*w+w])]
			}
		}
		if len(growers) == 1 {
			for c := 0; c < k; c++ {
				grow(growers[0], c)
				m.append(frags[c])
			}
		} else {
			var next atomic.Int32
			var wg sync.WaitGroup
			for _, gr := range growers {
				wg.Go(func() {
					for c := int(next.Add(1)) - 1; c < k; c = int(next.Add(1)) - 1 {
						grow(gr, c)
					}
				})
			}
			wg.Wait()
			for _, f := range frags {
				m.append(f)
			}
		}
		nodesAt, setsAt = append(nodesAt, len(m.Feature)), append(setsAt, len(m.Sets))
		if progress != nil {
			progress(round+1, p.NumTrees)
		}
		if valid != nil {
			l := loss(t, k, y, margins, valid)
			if l < best {
				best, bestRound = l, round
			} else if round-bestRound >= p.EarlyStoppingRounds {
				break
			}
		}
	}
	if valid != nil && bestRound+1 < len(m.Roots)/k {
		m.truncate((bestRound+1)*k, nodesAt[bestRound+1], setsAt[bestRound+1])
	}
	for i, f := range m.Feature {
		if f >= 0 {
			m.Importance[f].Gain += m.Gain[i]
			m.Importance[f].Splits++
		}
	}
	return m, nil
}

// truncate keeps the first trees trees, which hold the first nodes nodes
// and sets words of categorical sets.
func (m *Model) truncate(trees, nodes, sets int) {
	m.Roots = m.Roots[:trees]
	m.Feature, m.Threshold, m.Left, m.Right = m.Feature[:nodes], m.Threshold[:nodes], m.Left[:nodes], m.Right[:nodes]
	m.DefaultLeft, m.Value, m.Cover, m.Gain = m.DefaultLeft[:nodes], m.Value[:nodes], m.Cover[:nodes], m.Gain[:nodes]
	m.Sets = m.Sets[:sets]
}

// checkTarget refuses a target with one value: a model of it would be a
// constant, and the boosting would have no gradient to follow.
func checkTarget(s *perch.Schema, t perch.ModelType, y []float64) error {
	for _, v := range y[1:] {
		if v != y[0] {
			return nil
		}
	}
	what := "value"
	if t != perch.RegressionModel {
		what = "class"
	}
	return perch.Errorf(perch.EInvalid, "target %q has the same %s in all %d training rows: there is nothing to learn", s.TargetAttributeName, what, len(y))
}

// baseMargins returns the margins that best fit the training rows before
// any tree: the log-odds of "1", the log of each class's frequency, or the
// mean.
func baseMargins(t perch.ModelType, k int, y []float64, rows []int32) []float64 {
	base := make([]float64, k)
	switch t {
	case perch.BinaryModel:
		s := 0.0
		for _, r := range rows {
			s += y[r]
		}
		q := min(max(s/float64(len(rows)), 1e-6), 1-1e-6)
		base[0] = math.Log(q / (1 - q))
	case perch.MulticlassModel:
		counts := make([]float64, k)
		for _, r := range rows {
			counts[int(y[r])]++
		}
		for c := range base {
			base[c] = math.Log(max(counts[c]/float64(len(rows)), 1e-6))
		}
	default:
		s := 0.0
		for _, r := range rows {
			s += y[r]
		}
		base[0] = s / float64(len(rows))
	}
	return base
}

// gradients writes the first and second derivatives of the loss with
// respect to each margin of the training rows: log-loss for BINARY,
// softmax cross-entropy for MULTICLASS, half the squared error for
// REGRESSION. They are stored class after class, n rows each.
func gradients(t perch.ModelType, k int, y, margins, grad, hess []float64, rows []int32) {
	n := len(y)
	parallel(len(rows), 4096, func(lo, hi int) {
		switch t {
		case perch.BinaryModel:
			for _, r := range rows[lo:hi] {
				q := sigmoid(margins[r])
				grad[r] = q - y[r]
				hess[r] = max(q*(1-q), 1e-16)
			}
		case perch.MulticlassModel:
			var stack [maxClassesStack]float64
			pr := stack[:min(k, maxClassesStack)]
			if k > maxClassesStack {
				pr = make([]float64, k)
			}
			// K/(K-1) makes the hessian the one of K independent binary
			// problems, as LightGBM scales it.
			f := float64(k) / float64(k-1)
			for _, r := range rows[lo:hi] {
				copy(pr, margins[int(r)*k:int(r)*k+k])
				softmax(pr)
				for c, q := range pr {
					g := q
					if int(y[r]) == c {
						g -= 1
					}
					grad[c*n+int(r)] = g
					hess[c*n+int(r)] = max(f*q*(1-q), 1e-16)
				}
			}
		default:
			for _, r := range rows[lo:hi] {
				grad[r] = margins[r] - y[r]
				hess[r] = 1
			}
		}
	})
}

// maxClassesStack is the number of classes whose probabilities fit on the
// stack while computing gradients.
const maxClassesStack = 64

// loss returns the mean loss of the margins of rows.
func loss(t perch.ModelType, k int, y, margins []float64, rows []int32) float64 {
	s := 0.0
	pr := make([]float64, k)
	for _, r := range rows {
		switch t {
		case perch.BinaryModel:
			q := min(max(sigmoid(margins[r]), 1e-15), 1-1e-15)
			if y[r] == 1 {
				s -= math.Log(q)
			} else {
				s -= math.Log(1 - q)
			}
		case perch.MulticlassModel:
			copy(pr, margins[int(r)*k:int(r)*k+k])
			softmax(pr)
			s -= math.Log(max(pr[int(y[r])], 1e-15))
		default:
			d := margins[r] - y[r]
			s += d * d
		}
	}
	return s / float64(len(rows))
}

// sampleFeatures picks the features a tree may split on.
func sampleFeatures(use []bool, fraction float64, rng *rand.Rand) {
	if fraction >= 1 {
		for i := range use {
			use[i] = true
		}
		return
	}
	clear(use)
	n := max(1, int(math.Round(fraction*float64(len(use)))))
	for _, f := range rng.Perm(len(use))[:n] {
		use[f] = true
	}
}

// append adds the tree f, grown alone, to m.
func (m *Model) append(f *Model) {
	base, sets := int32(len(m.Feature)), int32(len(m.Sets)/setWords)
	m.Roots = append(m.Roots, base)
	for i, ft := range f.Feature {
		t, l, r := f.Threshold[i], f.Left[i], f.Right[i]
		if ft >= 0 {
			l, r = l+base, r+base
			if m.Features[ft].categorical() {
				t += sets
			}
		}
		m.Feature = append(m.Feature, ft)
		m.Threshold = append(m.Threshold, t)
		m.Left = append(m.Left, l)
		m.Right = append(m.Right, r)
	}
	m.DefaultLeft = append(m.DefaultLeft, f.DefaultLeft...)
	m.Value = append(m.Value, f.Value...)
	m.Cover = append(m.Cover, f.Cover...)
	m.Gain = append(m.Gain, f.Gain...)
	m.Sets = append(m.Sets, f.Sets...)
}

// leaf returns the leaf of the tree rooted at node i that a row with
// these bins reaches.
func (m *Model) leaf(i int32, bins []uint8) int32 {
	for m.Feature[i] >= 0 {
		if m.goesLeft(i, bins[m.Feature[i]]) {
			i = m.Left[i]
		} else {
			i = m.Right[i]
		}
	}
	return i
}

// goesLeft reports whether bin b goes left at split i.
func (m *Model) goesLeft(i int32, b uint8) bool {
	t := m.Threshold[i]
	switch {
	case m.Features[m.Feature[i]].categorical():
		return m.Sets[int(t)*setWords+int(b>>6)]&(1<<(b&63)) != 0
	case b == 0:
		return m.DefaultLeft[i]
	default:
		return int32(b) <= t
	}
}

// parallel calls fn on consecutive ranges of [0, n), grain long, on all
// cores.
func parallel(n, grain int, fn func(lo, hi int)) {
	chunks := (n + grain - 1) / grain
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				fn(c*grain, min(n, (c+1)*grain))
			}
		})
	}
	wg.Wait()
}
