// Package learn runs training and evaluation: it turns a table of records
// into a model (target labels, recipe features, a learner, the size limit)
// and measures a model on a table through the one predict path.
package learn

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn/gbdt"
	"github.com/perchml/perch/learn/sgd"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/recipe"
)

// Options say what to train.
type Options struct {
	Type   perch.ModelType
	Recipe *recipe.Recipe    // nil: the suggested recipe for the schema
	Params map[string]string // training parameters: algorithm, AML's sgd.*, gbdt.*, seed
	// Schema is the data's schema when it is known before training (Train
	// uses the table's): text attributes make sgd the default, since
	// only a recipe turns text into features.
	Schema *perch.Schema
	// Progress, if set, is told how far training has come: stage is
	// "features" or "sgd" (passes), or "gbdt" (rounds).
	Progress func(stage string, done, total int)
}

// DefaultAlgorithm is the algorithm Train uses when Params names none and
// nothing else asks for sgd: gradient-boosted trees, which beat the
// linear model on tabular data and train as fast.
const DefaultAlgorithm = "gbdt"

// Train fits a model to t with the algorithm Params["algorithm"] names:
// "sgd" (linear, on the recipe's features) or "gbdt" (gradient-boosted
// trees, on the schema's attributes).
func Train(t *data.Table, opt Options) (*model.Model, error) {
	s := t.Schema
	if err := data.ValidateTarget(s, opt.Type); err != nil {
		return nil, err
	}
	opt.Schema = s
	alg, err := CheckParams(opt)
	if err != nil {
		return nil, err
	}
	if alg == "gbdt" {
		return trainTrees(t, opt)
	}
	params, err := sgd.ParseParams(opt.Params)
	if err != nil {
		return nil, err
	}
	tg, err := newTarget(t, opt.Type)
	if err != nil {
		return nil, err
	}
	rows, ys, err := tg.rows(t)
	if err != nil {
		return nil, err
	}
	rc := opt.Recipe
	if rc == nil {
		rc = recipe.Suggest(s, nil)
	}
	plan, err := recipe.Compile(rc, s)
	if err != nil {
		return nil, err
	}
	mapper, err := plan.Fit(rows)
	if err != nil {
		return nil, err
	}
	d := &sgd.Data{Dim: mapper.Dim()}
	var v perch.Vector
	if len(rows) > 0 {
		// Size the rows from the first one, so building them seldom copies.
		mapper.Map(rows[0], &v)
		d.Grow(len(rows), len(rows)*(len(v.Index)+1))
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	if params.Shuffle {
		order = sgd.Permutation(len(rows), params)
		d.Shuffled = true
	}
	for i, r := range order {
		mapper.Map(rows[r], &v)
		d.Append(&v, ys[r])
		if opt.Progress != nil && (i%4096 == 0 || i == len(rows)-1) {
			opt.Progress("features", i+1, len(rows))
		}
	}
	var progress func(int, int)
	if opt.Progress != nil {
		progress = func(done, total int) { opt.Progress("sgd", done, total) }
	}
	lin, err := sgd.Train(d, opt.Type, len(tg.classes), params, progress)
	if err != nil {
		return nil, err
	}
	pruned := fitSize(lin, mapper, params.MaxModelBytes)
	m := &model.Model{
		Type: opt.Type, Algorithm: "sgd", Schema: s, Mapper: mapper,
		Classes: tg.classes, Original: tg.original, ScoreThreshold: 0.5,
		Parameters: canonicalParams(opt.Params),
		Training: model.Training{
			Rows: len(rows), InvalidRows: len(t.Rows) - len(rows),
			TargetMean: tg.mean(ys), Features: mapper.Dim(), Pruned: pruned,
		},
		Linear: lin,
	}
	if opt.Type != perch.BinaryModel {
		m.ScoreThreshold = 0
	}
	return m, nil
}

// CheckParams checks what can be checked of a training request without
// its data (the algorithm, the names and ranges of its parameters, whether
// it may have a recipe) and returns the algorithm it asks for. Train
// checks the same first; a caller that takes a request now and trains
// later calls it to refuse a mistake at once.
func CheckParams(opt Options) (string, error) {
	alg := algorithm(opt, DefaultAlgorithm)
	switch alg {
	case "sgd":
		// sgd.ParseParams leaves gbdt.* keys to their owner; here there
		// is none, and a model must not ignore what was asked of it.
		for _, k := range slices.Sorted(maps.Keys(opt.Params)) {
			if strings.HasPrefix(k, "gbdt.") {
				return alg, perch.Errorf(perch.EInvalid, "parameter %s: applies to algorithm gbdt, not sgd", k)
			}
		}
		_, err := sgd.ParseParams(opt.Params)
		return alg, err
	case "gbdt":
		if opt.Recipe != nil {
			return alg, perch.Errorf(perch.EInvalid, "a recipe applies to algorithm sgd: gbdt learns from the schema's attributes as they are")
		}
		_, err := gbdt.ParseParams(opt.Params)
		return alg, err
	}
	return alg, perch.Errorf(perch.EInvalid, "parameter algorithm: %q is not available (want sgd or gbdt)", alg)
}

// algorithm returns the algorithm opt asks for: the one it names, else sgd
// when it has a recipe or sgd.* parameters (which only sgd reads) or its
// schema has text attributes (which only a recipe reads), else def.
func algorithm(opt Options, def string) string {
	if alg := opt.Params["algorithm"]; alg != "" {
		return alg
	}
	if opt.Recipe != nil {
		return "sgd"
	}
	for k := range opt.Params {
		if strings.HasPrefix(k, "sgd.") {
			return "sgd"
		}
	}
	if s := opt.Schema; s != nil {
		for i, a := range s.Attributes {
			if a.Type == perch.Text && i != s.Target() && !s.Excluded(a.Name) {
				return "sgd"
			}
		}
	}
	return def
}

// trainTrees trains gradient-boosted trees on the attributes of t.
func trainTrees(t *data.Table, opt Options) (*model.Model, error) {
	params, err := gbdt.ParseParams(opt.Params)
	if err != nil {
		return nil, err
	}
	tg, err := newTarget(t, opt.Type)
	if err != nil {
		return nil, err
	}
	rows, ys, err := tg.rows(t)
	if err != nil {
		return nil, err
	}
	var progress func(int, int)
	if opt.Progress != nil {
		progress = func(done, total int) { opt.Progress("gbdt", done, total) }
	}
	trees, err := gbdt.Train(t.Schema, rows, ys, opt.Type, len(tg.classes), params, progress)
	if err != nil {
		return nil, err
	}
	m := &model.Model{
		Type: opt.Type, Algorithm: "gbdt", Schema: t.Schema,
		Classes: tg.classes, Original: tg.original, ScoreThreshold: 0.5,
		Parameters: params.Canonical(),
		Training: model.Training{
			Rows: len(rows), InvalidRows: len(t.Rows) - len(rows),
			TargetMean: tg.mean(ys), Features: len(trees.Features),
			IgnoredAttributes: ignored(t.Schema, trees),
		},
		Trees: trees,
	}
	if opt.Type != perch.BinaryModel {
		m.ScoreThreshold = 0
	}
	return m, nil
}

// ignored returns the attributes, in schema order, that could be features
// but that the trees do not read: TEXT ones, which only a recipe turns into
// features, and ones without a value in the training rows.
func ignored(s *perch.Schema, trees *gbdt.Model) []string {
	read := make([]bool, len(s.Attributes))
	for _, f := range trees.Features {
		read[f.Column] = true
	}
	var names []string
	for i, a := range s.Attributes {
		if !read[i] && !s.Excluded(a.Name) {
			names = append(names, a.Name)
		}
	}
	return names
}

// bytesPerFeature estimates what one feature costs in a model file: its
// weights as decimal text and its vocabulary entry.
func bytesPerFeature(k int) int64 { return int64(24*k + 24) }

// fitSize drops the weakest features until the model fits maxBytes, as
// AML's sgd.maxMLModelSizeInBytes did, and drops features whose weights are
// all zero (L1 makes many). It returns how many features it dropped.
func fitSize(lin *sgd.Model, mp *recipe.Mapper, maxBytes int64) int {
	strength := lin.Strength()
	keep := make([]bool, lin.Dim)
	n := 0
	for f, s := range strength {
		keep[f] = s != 0
		if keep[f] {
			n++
		}
	}
	limit := int(maxBytes / bytesPerFeature(lin.K))
	if n > limit {
		order := make([]int, 0, n)
		for f := range strength {
			if keep[f] {
				order = append(order, f)
			}
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(strength[b], strength[a]) })
		for _, f := range order[limit:] {
			keep[f] = false
		}
	}
	remap := mp.Keep(keep)
	// The mapper may keep features it cannot drop (numeric ones); keep the
	// weights of exactly the features it kept.
	kept := make([]bool, lin.Dim)
	dropped := 0
	for f, to := range remap {
		kept[f] = to >= 0
		if to < 0 {
			dropped++
		}
	}
	lin.Prune(kept)
	return dropped
}

func canonicalParams(p map[string]string) map[string]string {
	out := map[string]string{"algorithm": "sgd"}
	d := sgd.DefaultParams()
	out["sgd.maxPasses"] = strconv.Itoa(d.MaxPasses)
	out["sgd.shuffleType"] = "auto"
	out["sgd.maxMLModelSizeInBytes"] = strconv.FormatInt(d.MaxModelBytes, 10)
	for k, v := range p {
		out[k] = v
	}
	return out
}

// target turns target values into learner labels.
type target struct {
	typ      perch.ModelType
	schema   *perch.Schema
	col      int
	classes  []string
	original []string
	index    map[string]int
	numeric  bool // MULTICLASS on a NUMERIC target: the classes are numbers
}

// numericTarget reports whether s's target is NUMERIC, which for a
// MULTICLASS model makes each distinct number a class.
func numericTarget(s *perch.Schema) bool {
	i := s.Target()
	return i >= 0 && s.Attributes[i].Type == perch.Numeric
}

// numberClass returns the class a NUMERIC target's value names: the number
// in its shortest decimal spelling, so "1", "1.0" and "01" are one class.
// ok is false for a missing value or one that is no number, which leaves
// its row out, as an invalid target does.
func numberClass(v string) (class string, ok bool) {
	x, ok := recipe.ParseNumber(v)
	if !ok || v == "" {
		return "", false
	}
	return strconv.FormatFloat(x+0, 'f', -1, 64), true // +0 turns -0 into 0
}

func newTarget(t *data.Table, typ perch.ModelType) (*target, error) {
	s := t.Schema
	tg := &target{typ: typ, schema: s, col: s.Target()}
	switch typ {
	case perch.BinaryModel:
		tg.classes = []string{"0", "1"}
		if s.PositiveValue != "" {
			// The file spells its two values its own way: find the other one.
			other := ""
			for i, r := range t.Rows {
				v := r[tg.col]
				if v == "" || v == s.PositiveValue {
					continue
				}
				if other == "" {
					other = v
				} else if v != other {
					return nil, perch.Errorf(perch.EInvalid, "line %d, attribute %q: third target value %q (the BINARY target has values %q and %q)",
						t.Lines[i], s.TargetAttributeName, v, other, s.PositiveValue)
				}
			}
			tg.original = []string{other, s.PositiveValue}
		}
	case perch.MulticlassModel:
		tg.numeric = numericTarget(s)
		seen := map[string]bool{}
		for _, r := range t.Rows {
			v, ok := r[tg.col], r[tg.col] != ""
			if tg.numeric {
				v, ok = numberClass(v)
			}
			if ok && !seen[v] {
				seen[v] = true
				tg.classes = append(tg.classes, v)
			}
		}
		if len(tg.classes) > perch.MaxClasses && tg.numeric {
			return nil, perch.Errorf(perch.EInvalid, "target %q is NUMERIC with %d distinct values; a MULTICLASS model takes at most %d classes (a REGRESSION model predicts the number)",
				s.TargetAttributeName, len(tg.classes), perch.MaxClasses)
		}
		if len(tg.classes) > perch.MaxClasses {
			return nil, perch.Errorf(perch.EInvalid, "target %q has %d classes; a MULTICLASS model takes at most %d", s.TargetAttributeName, len(tg.classes), perch.MaxClasses)
		}
		if len(tg.classes) < 2 {
			return nil, perch.Errorf(perch.EInvalid, "target %q has %d class; a MULTICLASS model needs at least 2", s.TargetAttributeName, len(tg.classes))
		}
		slices.SortFunc(tg.classes, compareLabels)
		tg.index = make(map[string]int, len(tg.classes))
		for i, c := range tg.classes {
			tg.index[c] = i
		}
	}
	return tg, nil
}

// compareLabels orders class labels numerically when both are numbers
// (so "10" follows "9"), and as text otherwise.
func compareLabels(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	switch {
	case errA == nil && errB == nil:
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

// value returns the label of row r, or false when its target is missing
// or invalid (such rows are left out of training and evaluation).
func (tg *target) value(r []string) (float64, bool) {
	v := r[tg.col]
	if v == "" {
		return 0, false
	}
	switch tg.typ {
	case perch.BinaryModel:
		l, ok := data.BinaryLabel(tg.schema, v)
		return float64(l), ok
	case perch.MulticlassModel:
		if tg.numeric {
			if v, ok := numberClass(v); ok {
				c, ok := tg.index[v]
				return float64(c), ok
			}
			return 0, false
		}
		c, ok := tg.index[v]
		return float64(c), ok
	default:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		return x, true
	}
}

// rows returns the rows of t whose target is valid, and their labels.
func (tg *target) rows(t *data.Table) ([][]string, []float64, error) {
	rows := make([][]string, 0, len(t.Rows))
	ys := make([]float64, 0, len(t.Rows))
	for _, r := range t.Rows {
		if y, ok := tg.value(r); ok {
			rows = append(rows, r)
			ys = append(ys, y)
		}
	}
	if len(rows) == 0 {
		return nil, nil, perch.Errorf(perch.EInvalid, "no row has a valid value of the target %q", t.Schema.TargetAttributeName)
	}
	return rows, ys, nil
}

func (tg *target) mean(ys []float64) float64 {
	if tg.typ != perch.RegressionModel {
		return 0
	}
	s := 0.0
	for _, y := range ys {
		s += y
	}
	return s / float64(len(ys))
}
