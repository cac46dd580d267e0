package main

import (
	"flag"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
)

// runSchema: perch schema infer FILE [--target NAME] [--positive VALUE]
// [--sample N] [--type NAME=TYPE ...]
func runSchema(args []string, _ io.Reader, stdout, _ io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		args = append([]string{"infer"}, args...)
	}
	if len(args) == 0 || args[0] != "infer" {
		return usagef("usage: %s", commands["schema"].synopsis)
	}
	fs := flag.NewFlagSet("schema infer", flag.ContinueOnError)
	target := fs.String("target", "", "`NAME` of the attribute to predict")
	positive := fs.String("positive", "", "for a two-valued target that is not 1/0, yes/no…: the `VALUE` that means 1 (default: the less frequent)")
	rows := fs.Int("sample", 0, "`N` rows to read for inference (0: 10000)")
	var types multi
	fs.Var(&types, "type", "`NAME=TYPE` (repeatable): give attribute NAME the TYPE BINARY, CATEGORICAL, NUMERIC or TEXT\ninstead of the inferred one, e.g. --type zip=CATEGORICAL")
	pos, err := parseFlags(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	kv, err := keyValues("type", types)
	if err != nil {
		return err
	}
	overrides := make(map[string]perch.AttributeType, len(kv))
	for _, name := range slices.Sorted(maps.Keys(kv)) { // the first mistake in name order is the one told
		t := perch.AttributeType(strings.ToUpper(strings.TrimSpace(kv[name])))
		if !t.Valid() {
			return usagef("--type %s=%s: unknown type %q (want BINARY, CATEGORICAL, NUMERIC or TEXT)", name, kv[name], kv[name])
		}
		overrides[name] = t
	}
	if len(pos) != 1 {
		return usagef("usage: %s", commands["schema"].synopsis)
	}
	if *rows < 0 {
		return usagef("--sample %d: want a number of rows ≥ 0", *rows)
	}
	f, err := open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := data.InferSchema(f, data.InferOptions{Target: *target, Positive: *positive, SampleRows: *rows, Types: overrides})
	if err != nil {
		return prefix(pos[0], err)
	}
	return writeJSON(stdout, s)
}
