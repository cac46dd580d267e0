package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/recipe"
)

// runTrain: perch train --data FILE --schema SCHEMA --type TYPE [--recipe R]
// [--rearrangement JSON] [--param key=value ...] --out MODEL
func runTrain(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	dataPath := fs.String("data", "", "training data (CSV, or .csv.gz)")
	schemaPath := fs.String("schema", "", "AML data schema JSON file")
	typ := fs.String("type", "", "model type: BINARY, MULTICLASS or REGRESSION")
	recipePath := fs.String("recipe", "", "AML recipe JSON file (default: the suggested recipe)")
	rearr := fs.String("rearrangement", "", "DataRearrangement JSON (or a file holding it)")
	out := fs.String("out", "", "model file to write")
	quiet := fs.Bool("quiet", false, "no progress bar")
	var params multi
	fs.Var(&params, "param", "training parameter key=value (repeatable), e.g. sgd.maxPasses=10")
	if _, err := parseFlags(fs, args); err != nil {
		return err
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
	s, err := readSchema(*schemaPath)
	if err != nil {
		return err
	}
	var rc *recipe.Recipe
	if *recipePath != "" {
		if rc, err = readRecipe(*recipePath); err != nil {
			return err
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
	bar := newProgress(os.Stderr, *quiet)
	m, err := learn.Train(t, learn.Options{Type: mt, Recipe: rc, Params: kv, Progress: bar.update})
	bar.done()
	if err != nil {
		return err
	}
	if err := m.WriteFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trained %s %s model on %d rows (%d skipped: target missing or invalid), %d features, in %s: %s\n",
		m.Type, m.Algorithm, m.Training.Rows, m.Training.InvalidRows, m.Training.Features,
		time.Since(start).Round(time.Millisecond), *out)
	return nil
}

// progress draws a bar on a terminal and stays silent elsewhere.
type progress struct {
	w     io.Writer
	on    bool
	drawn bool
}

func newProgress(f *os.File, quiet bool) *progress {
	st, err := f.Stat()
	return &progress{w: f, on: !quiet && err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) update(stage string, done, total int) {
	if !p.on || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	label := "features"
	if stage == "sgd" {
		label = fmt.Sprintf("pass %d/%d", done, total)
	}
	fmt.Fprintf(p.w, "\rtraining [%s%s] %-12s", strings.Repeat("#", n), strings.Repeat(" ", width-n), label)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
