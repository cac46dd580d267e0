package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/perchml/perch/batch"
	"github.com/perchml/perch/model"
)

// runBatch: perch batch --model MODEL --in FILE --out FILE
func runBatch(args []string, _ io.Reader, _ io.Writer) error {
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	modelPath := fs.String("model", "", "model file")
	in := fs.String("in", "", "records to predict (CSV in the schema's column order, or .csv.gz)")
	out := fs.String("out", "", "CSV of predictions to write (- for stdout)")
	header := fs.String("header", "auto", "whether the input has a header line: true, false, or auto (the schema's dataFileContainsHeader)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, f := range [][2]string{{"model", *modelPath}, {"in", *in}, {"out", *out}} {
		if err := need(f[0], f[1]); err != nil {
			return err
		}
	}
	m, err := model.ReadFile(*modelPath)
	if err != nil {
		return prefix(*modelPath, err)
	}
	p, err := model.Compile(m)
	if err != nil {
		return err
	}
	opt := batch.Options{Header: m.Schema.DataFileContainsHeader}
	switch *header {
	case "auto":
	case "true":
		opt.Header = true
	case "false":
		opt.Header = false
	default:
		return usagef("--header %q: want true, false or auto", *header)
	}
	r, err := open(*in)
	if err != nil {
		return err
	}
	defer r.Close()
	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out + ".tmp"); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	start := time.Now()
	res, err := batch.Run(p, r, w, opt)
	if err != nil {
		return prefix(*in, err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return err
		}
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "predicted %d records (%d invalid) in %s, %.0f records/s\n",
		res.Records, res.Invalid, el.Round(time.Millisecond), float64(res.Records)/el.Seconds())
	for _, e := range res.Errors {
		fmt.Fprintf(os.Stderr, "  %s\n", e)
	}
	return nil
}
