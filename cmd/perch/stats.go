package main

import (
	"flag"
	"io"

	"github.com/perchml/perch/data"
)

// runStats: perch stats FILE --schema SCHEMA [--rearrangement JSON]
func runStats(args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	schemaPath := fs.String("schema", "", "`SCHEMA` file: the AML data schema (JSON)")
	rearr := fs.String("rearrangement", "", "DataRearrangement `JSON` (or a file holding it)")
	asJSON := fs.Bool("json", false, "print every statistic (histograms, top values, correlations) as JSON rather than a summary")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: %s", commands["stats"].synopsis)
	}
	if err := need("schema", *schemaPath); err != nil {
		return err
	}
	st, err := computeStats(pos[0], *schemaPath, *rearr)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, st)
	}
	return writeStatsSummary(stdout, st)
}

func computeStats(path, schemaPath, rearr string) (*data.Stats, error) {
	s, err := readSchema(schemaPath)
	if err != nil {
		return nil, err
	}
	re, err := rearrangement(rearr)
	if err != nil {
		return nil, err
	}
	t, err := data.LoadFile(path, s, re)
	if err != nil {
		return nil, prefix(path, err)
	}
	return data.ComputeStats(&tableReader{t: t}, s)
}

// tableReader reads a loaded table as records.
type tableReader struct {
	t *data.Table
	i int
}

func (r *tableReader) Read() ([]string, error) {
	if r.i >= len(r.t.Rows) {
		return nil, io.EOF
	}
	r.i++
	return r.t.Rows[r.i-1], nil
}

func (r *tableReader) Line() int {
	if r.i == 0 {
		return 0
	}
	return r.t.Lines[r.i-1]
}

func (r *tableReader) Offset() int64 {
	if r.i == 0 {
		return 0
	}
	return r.t.Offsets[r.i-1]
}
