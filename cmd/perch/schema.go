package main

import (
	"flag"
	"io"

	"github.com/perchml/perch/data"
)

// runSchema: perch schema infer FILE [--target NAME] [--positive VALUE]
func runSchema(args []string, _ io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "infer" {
		return usagef("usage: perch schema infer FILE [--target NAME] [--positive VALUE]")
	}
	fs := flag.NewFlagSet("schema infer", flag.ContinueOnError)
	target := fs.String("target", "", "attribute to predict")
	positive := fs.String("positive", "", "for a two-valued target that is not 1/0, yes/no…: the value that means 1 (default: the less frequent)")
	rows := fs.Int("sample", 0, "rows to read for inference (0: 10000)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: perch schema infer FILE [--target NAME]")
	}
	f, err := open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := data.InferSchema(f, data.InferOptions{Target: *target, Positive: *positive, SampleRows: *rows})
	if err != nil {
		return prefix(pos[0], err)
	}
	return writeJSON(stdout, s)
}
