package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/recipe"
)

// trainParams are the training parameters --param accepts, as "perch
// train -h" lists them and as a mistyped key is matched against.
var trainParams = []string{
	"algorithm", "seed",
	"sgd.maxPasses", "sgd.shuffleType", "sgd.l1RegularizationAmount", "sgd.l2RegularizationAmount",
	"sgd.maxMLModelSizeInBytes", "sgd.learningRate",
	"gbdt.numTrees", "gbdt.learningRate", "gbdt.maxLeaves", "gbdt.maxDepth", "gbdt.minDataInLeaf",
	"gbdt.lambdaL2", "gbdt.rowFraction", "gbdt.featureFraction", "gbdt.earlyStoppingRounds",
	"gbdt.validationFraction", "gbdt.maxBins", "gbdt.minCategoryRows",
}

// runTrain: perch train --data FILE --schema SCHEMA --type TYPE [--recipe R]
// [--rearrangement JSON] [--param key=value ...] --out MODEL
func runTrain(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	dataPath := fs.String("data", "", "training data `FILE` (CSV, or .csv.gz)")
	schemaPath := fs.String("schema", "", "`SCHEMA` file: the AML data schema (JSON)")
	typ := fs.String("type", "", "model `TYPE`: BINARY, MULTICLASS or REGRESSION")
	recipePath := fs.String("recipe", "", "`RECIPE` file: an AML recipe (JSON; default: the suggested recipe)")
	rearr := fs.String("rearrangement", "", "DataRearrangement `JSON` (or a file holding it)")
	out := fs.String("out", "", "`MODEL` file to write")
	quiet := fs.Bool("quiet", false, "no progress bar")
	var params multi
	fs.Var(&params, "param", "training parameter `key=value` (repeatable), e.g. algorithm=gbdt, gbdt.numTrees=300; the keys:\n"+
		trainParams[0]+" (sgd or gbdt), "+trainParams[1]+",\n"+strings.Join(trainParams[2:6], ", ")+",\n"+
		strings.Join(trainParams[6:8], ", ")+",\n"+strings.Join(trainParams[8:13], ", ")+",\n"+
		strings.Join(trainParams[13:17], ", ")+",\n"+strings.Join(trainParams[17:], ", "))
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], strings.Join(strings.Fields(commands["train"].synopsis), " "))
	}
	for _, f := range [][2]string{{"data", *dataPath}, {"schema", *schemaPath}, {"type", *typ}, {"out", *out}} {
		if err := need(f[0], f[1]); err != nil {
			return err
		}
	}
	mt := perch.ModelType(strings.ToUpper(*typ))
	if !mt.Valid() {
		return usagef("--type %q: want BINARY, MULTICLASS or REGRESSION", *typ)
	}
	kv, err := keyValues("param", params)
	if err != nil {
		return err
	}
	if err := checkParams(kv); err != nil {
		return err
	}
	if err := checkOutDir(*out); err != nil {
		return err
	}
	if err := notSameFile(*out, *dataPath, *schemaPath, *recipePath); err != nil {
		return err
	}
	// Everything that can be checked without the data is checked before
	// it is read, so a mistake costs no loading time.
	s, err := readSchema(*schemaPath)
	if err != nil {
		return err
	}
	if s.TargetAttributeName == "" {
		return fmt.Errorf("%s: the schema names no targetAttributeName to predict (perch schema infer FILE --target NAME writes one)", *schemaPath)
	}
	if err := data.ValidateTarget(s, mt); err != nil {
		return prefix(*schemaPath, err)
	}
	var rc *recipe.Recipe
	if *recipePath != "" {
		if rc, err = readRecipe(*recipePath); err != nil {
			return err
		}
		if _, err := recipe.Compile(rc, s); err != nil {
			return prefix(*recipePath, err)
		}
	}
	re, err := rearrangement(*rearr)
	if err != nil {
		return err
	}
	start := time.Now()
	t, err := data.LoadFile(*dataPath, s, re)
	if err != nil {
		return prefix(*dataPath, err)
	}
	bar := newProgress(stderr, *quiet)
	m, err := learn.Train(t, learn.Options{Type: mt, Recipe: rc, Params: kv, Progress: bar.update})
	bar.done()
	if err != nil {
		return err
	}
	if err := m.WriteFile(*out); err != nil {
		return fmt.Errorf("writing the model: %w", err)
	}
	skipped := ""
	if n := m.Training.InvalidRows; n > 0 {
		skipped = fmt.Sprintf(" (%d more skipped: target missing or invalid)", n)
	}
	fmt.Fprintf(stderr, "trained %s %s model on %d rows%s, %d features, in %s: %s\n",
		m.Type, strings.ToUpper(m.Algorithm), m.Training.Rows, skipped, m.Training.Features,
		time.Since(start).Round(time.Millisecond), *out)
	if note := ignoredNote(m.Schema, m.Training.IgnoredAttributes); note != "" {
		fmt.Fprintln(stderr, note)
	}
	return nil
}

// ignoredNote says which attributes a model does not read, and why, or
// returns "" when it reads them all.
func ignoredNote(s *perch.Schema, ignored []string) string {
	var text, empty []string
	for _, n := range ignored {
		if i := s.Index(n); i >= 0 && s.Attributes[i].Type == perch.Text {
			text = append(text, n)
		} else {
			empty = append(empty, n)
		}
	}
	var notes []string
	if len(text) > 0 {
		notes = append(notes, fmt.Sprintf("note: the model ignores %s: gbdt does not read TEXT attributes (--param algorithm=sgd does)", strings.Join(text, ", ")))
	}
	if len(empty) > 0 {
		notes = append(notes, fmt.Sprintf("note: the model ignores %s: no training row has a value", strings.Join(empty, ", ")))
	}
	return strings.Join(notes, "\n")
}

// checkParams checks the training parameters, one key at a time in sorted
// order so that the first mistake is the one reported, and suggests the
// parameter a mistyped key was meant to be.
func checkParams(kv map[string]string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one := map[string]string{k: kv[k]}
		if a, ok := kv["algorithm"]; ok {
			one["algorithm"] = a
		}
		if _, err := learn.CheckParams(learn.Options{Type: perch.BinaryModel, Params: one}); err != nil {
			msg := "--param " + strings.TrimPrefix(err.Error(), "parameter ")
			if near := nearest(k, trainParams); near != "" && !slices.Contains(trainParams, k) {
				msg += "; did you mean " + near + "?"
			}
			return usagef("%s", msg)
		}
	}
	if _, err := learn.CheckParams(learn.Options{Type: perch.BinaryModel, Params: kv}); err != nil {
		return usagef("--param: %v", err)
	}
	return nil
}

// nearest returns the candidate closest to s when it is close enough to be
// a slip of the keyboard, or "".
func nearest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if strings.EqualFold("sgd."+s, c) {
			d = 0
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// progress draws a bar on a terminal and stays silent elsewhere.
type progress struct {
	w     io.Writer
	on    bool
	drawn bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	on := false
	if f, ok := w.(*os.File); ok && !quiet {
		st, err := f.Stat()
		on = err == nil && st.Mode()&os.ModeCharDevice != 0
	}
	return &progress{w: w, on: on}
}

func (p *progress) update(stage string, done, total int) {
	if !p.on || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	label := "features"
	switch stage {
	case "sgd":
		label = fmt.Sprintf("pass %d/%d", done, total)
	case "gbdt":
		label = fmt.Sprintf("tree %d/%d", done, total)
	}
	fmt.Fprintf(p.w, "\rtraining [%s%s] %-12s", strings.Repeat("#", n), strings.Repeat(" ", width-n), label)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
