package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// runEvaluate: perch evaluate --model MODEL --data FILE [--schema SCHEMA] [--rearrangement JSON] [--json]
func runEvaluate(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	modelPath := fs.String("model", "", "`MODEL` file")
	dataPath := fs.String("data", "", "evaluation data `FILE` (CSV, or .csv.gz), with the target")
	schemaPath := fs.String("schema", "", "`SCHEMA` of the data (default: the model's)")
	rearr := fs.String("rearrangement", "", "DataRearrangement `JSON` (or a file holding it)")
	asJSON := fs.Bool("json", false, "print the whole report as JSON (ROC curve, threshold table, histograms)\nrather than a summary")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], commands["evaluate"].synopsis)
	}
	if err := need("model", *modelPath); err != nil {
		return err
	}
	if err := need("data", *dataPath); err != nil {
		return err
	}
	m, err := readModel(*modelPath)
	if err != nil {
		return err
	}
	s := m.Schema
	if *schemaPath != "" {
		if s, err = readSchema(*schemaPath); err != nil {
			return err
		}
	}
	re, err := rearrangement(*rearr)
	if err != nil {
		return err
	}
	t, err := data.LoadFile(*dataPath, s, re)
	if err != nil {
		return prefix(*dataPath, err)
	}
	p, err := model.Compile(m)
	if err != nil {
		return err
	}
	ev, err := learn.Evaluate(p, t)
	if err != nil {
		return err
	}
	if !*asJSON {
		return writeEvaluationSummary(stdout, ev)
	}
	if err := writeJSON(stdout, ev); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "evaluated %s model on %d records (%d invalid):%s\n", ev.Type, ev.Records, ev.InvalidRecords, metricSummary(ev))
	return nil
}

// metricSummary lists AML's metrics of an evaluation, " Name value" each.
func metricSummary(ev *learn.Evaluation) string {
	keys := make([]string, 0, len(ev.PerformanceMetrics.Properties))
	for k := range ev.PerformanceMetrics.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v := ev.PerformanceMetrics.Properties[k]
		if x, err := strconv.ParseFloat(v, 64); err == nil {
			v = strconv.FormatFloat(x, 'g', 4, 64)
		}
		fmt.Fprintf(&b, " %s %s", k, v)
	}
	return b.String()
}
