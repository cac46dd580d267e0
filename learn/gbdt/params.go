package gbdt

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/perchml/perch"
)

// Params are the training parameters, parsed from the gbdt.* keys.
type Params struct {
	NumTrees            int     // gbdt.numTrees: boosting rounds (one tree per class per round)
	LearningRate        float64 // gbdt.learningRate: shrinkage of every leaf value
	MaxLeaves           int     // gbdt.maxLeaves: leaves per tree
	MaxDepth            int     // gbdt.maxDepth: 0 for no limit besides maxLeaves
	MinDataInLeaf       int     // gbdt.minDataInLeaf: rows a leaf must hold
	LambdaL2            float64 // gbdt.lambdaL2: L2 penalty on leaf values
	RowFraction         float64 // gbdt.rowFraction: rows sampled for each tree
	FeatureFraction     float64 // gbdt.featureFraction: attributes sampled for each tree
	EarlyStoppingRounds int     // gbdt.earlyStoppingRounds: 0 trains every round
	ValidationFraction  float64 // gbdt.validationFraction: rows held out for early stopping
	MaxBins             int     // gbdt.maxBins: bins of a numeric attribute, the missing bin included
	MinCategoryRows     int     // gbdt.minCategoryRows: rarer categories share one bin
	Seed                uint64  // seed: sampling; the same seed gives the same model
}

// DefaultParams are the parameters used when none are given: 100 trees
// of at most 31 leaves and depth 6, which predict a record in a couple of
// microseconds, with each tree seeing 70% of the attributes.
func DefaultParams() Params {
	return Params{
		NumTrees: 100, LearningRate: 0.15, MaxLeaves: 31, MaxDepth: 6, MinDataInLeaf: 5, LambdaL2: 1,
		RowFraction: 1, FeatureFraction: 0.7, ValidationFraction: 0.1, MaxBins: 255,
		MinCategoryRows: 10, Seed: 1,
	}
}

// ParseParams reads the gbdt.* training parameters and seed. Keys that
// belong to sgd are refused, so that a model does not silently ignore
// what was asked of it; any other unknown key is an error too.
func ParseParams(kv map[string]string) (Params, error) {
	p := DefaultParams()
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		v := strings.TrimSpace(kv[k])
		bad := func(want string) error {
			return perch.Errorf(perch.EInvalid, "parameter %s: %q is not %s", k, v, want)
		}
		integer := func(lo, hi int) (int, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return 0, bad("an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
			}
			return n, nil
		}
		// fraction reads a number in (0, 1], or [0, 1) when open is set.
		fraction := func(open bool) (float64, error) {
			x, err := strconv.ParseFloat(v, 64)
			if open {
				if err != nil || !(x >= 0 && x < 1) {
					return 0, bad("a number from 0 to below 1")
				}
			} else if err != nil || !(x > 0 && x <= 1) {
				return 0, bad("a number above 0 and at most 1")
			}
			return x, nil
		}
		var err error
		switch k {
		case "gbdt.numTrees":
			p.NumTrees, err = integer(1, 100000)
		case "gbdt.learningRate":
			p.LearningRate, err = fraction(false)
		case "gbdt.maxLeaves":
			p.MaxLeaves, err = integer(2, 4096)
		case "gbdt.maxDepth":
			p.MaxDepth, err = integer(0, 64)
		case "gbdt.minDataInLeaf":
			p.MinDataInLeaf, err = integer(1, 1<<30)
		case "gbdt.lambdaL2":
			x, e := strconv.ParseFloat(v, 64)
			if e != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
				err = bad("a number ≥ 0")
			}
			p.LambdaL2 = x
		case "gbdt.rowFraction":
			p.RowFraction, err = fraction(false)
		case "gbdt.featureFraction":
			p.FeatureFraction, err = fraction(false)
		case "gbdt.earlyStoppingRounds":
			p.EarlyStoppingRounds, err = integer(0, 100000)
		case "gbdt.validationFraction":
			p.ValidationFraction, err = fraction(true)
			if err == nil && p.ValidationFraction == 0 {
				err = bad("a number above 0 and below 1")
			}
		case "gbdt.maxBins":
			p.MaxBins, err = integer(3, 255)
		case "gbdt.minCategoryRows":
			p.MinCategoryRows, err = integer(1, 1<<30)
		case "seed":
			n, e := strconv.ParseUint(v, 10, 64)
			if e != nil {
				err = bad("a non-negative integer")
			}
			p.Seed = n
		case "algorithm":
		default:
			if strings.HasPrefix(k, "sgd.") {
				return p, perch.Errorf(perch.EInvalid, "parameter %s: applies to algorithm sgd, not gbdt", k)
			}
			return p, perch.Errorf(perch.EInvalid, "parameter %s: unknown training parameter", k)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// Canonical returns every parameter as text, defaults filled in, as a
// model file records them.
func (p Params) Canonical() map[string]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return map[string]string{
		"algorithm":                "gbdt",
		"gbdt.numTrees":            strconv.Itoa(p.NumTrees),
		"gbdt.learningRate":        f(p.LearningRate),
		"gbdt.maxLeaves":           strconv.Itoa(p.MaxLeaves),
		"gbdt.maxDepth":            strconv.Itoa(p.MaxDepth),
		"gbdt.minDataInLeaf":       strconv.Itoa(p.MinDataInLeaf),
		"gbdt.lambdaL2":            f(p.LambdaL2),
		"gbdt.rowFraction":         f(p.RowFraction),
		"gbdt.featureFraction":     f(p.FeatureFraction),
		"gbdt.earlyStoppingRounds": strconv.Itoa(p.EarlyStoppingRounds),
		"gbdt.validationFraction":  f(p.ValidationFraction),
		"gbdt.maxBins":             strconv.Itoa(p.MaxBins),
		"gbdt.minCategoryRows":     strconv.Itoa(p.MinCategoryRows),
		"seed":                     strconv.FormatUint(p.Seed, 10),
	}
}
