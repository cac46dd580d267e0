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
func runBatch(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	modelPath := fs.String("model", "", "`MODEL` file")
	in := fs.String("in", "", "records to predict: a CSV `FILE` in the schema's column order, or .csv.gz")
	out := fs.String("out", "", "CSV `FILE` of predictions to write (- for stdout)")
	header := fs.String("header", "auto", "`true|false|auto`: whether the input has a header line (auto: as the schema's dataFileContainsHeader says)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], commands["batch"].synopsis)
	}
	for _, f := range [][2]string{{"model", *modelPath}, {"in", *in}, {"out", *out}} {
		if err := need(f[0], f[1]); err != nil {
			return err
		}
	}
	switch *header {
	case "auto", "true", "false":
	default:
		return usagef("--header %q: want true, false or auto", *header)
	}
	m, err := readModel(*modelPath)
	if err != nil {
		return err
	}
	p, err := model.Compile(m)
	if err != nil {
		return err
	}
	opt := batch.Options{Header: m.Schema.DataFileContainsHeader}
	switch *header {
	case "auto":
	case "true", "false":
		opt.Header = *header == "true"
	}
	r, err := open(*in)
	if err != nil {
		return err
	}
	defer r.Close()
	w := stdout
	var f *os.File
	if *out != "-" {
		if err := checkOutDir(*out); err != nil {
			return err
		}
		if err := notSameFile(*out, *in, *modelPath); err != nil {
			return err
		}
		if f, err = os.Create(*out + ".tmp"); err != nil {
			return fmt.Errorf("--out: %w", err)
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
	fmt.Fprintf(stderr, "predicted %d records (%d invalid) in %s, %.0f records/s\n",
		res.Records, res.Invalid, el.Round(time.Millisecond), float64(res.Records)/el.Seconds())
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "  %s\n", e)
	}
	return nil
}
