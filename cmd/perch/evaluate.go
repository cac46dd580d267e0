package main

import (
	"flag"
	"io"

	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// runEvaluate: perch evaluate --model MODEL --data FILE [--schema SCHEMA] [--rearrangement JSON]
func runEvaluate(args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	modelPath := fs.String("model", "", "`MODEL` file")
	dataPath := fs.String("data", "", "evaluation data `FILE` (CSV, or .csv.gz), with the target")
	schemaPath := fs.String("schema", "", "`SCHEMA` of the data (default: the model's)")
	rearr := fs.String("rearrangement", "", "DataRearrangement `JSON` (or a file holding it)")
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
	return writeJSON(stdout, ev)
}
