package main

import (
	"flag"
	"io"

	"github.com/perchml/perch/recipe"
)

// runRecipe: perch recipe suggest --schema SCHEMA [--data FILE]
func runRecipe(args []string, _ io.Reader, stdout, _ io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		args = append([]string{"suggest"}, args...)
	}
	if len(args) == 0 || args[0] != "suggest" {
		return usagef("usage: %s", commands["recipe"].synopsis)
	}
	fs := flag.NewFlagSet("recipe suggest", flag.ContinueOnError)
	schemaPath := fs.String("schema", "", "`SCHEMA` file: the AML data schema (JSON)")
	dataPath := fs.String("data", "", "data `FILE` whose statistics refine the suggestion")
	pos, err := parseFlags(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], commands["recipe"].synopsis)
	}
	if err := need("schema", *schemaPath); err != nil {
		return err
	}
	s, err := readSchema(*schemaPath)
	if err != nil {
		return err
	}
	var hints map[string]recipe.AttributeHint
	if *dataPath != "" {
		st, err := computeStats(*dataPath, *schemaPath, "")
		if err != nil {
			return err
		}
		hints = make(map[string]recipe.AttributeHint, len(st.Attributes))
		for _, a := range st.Attributes {
			h := recipe.AttributeHint{Count: a.Count, Missing: a.Missing}
			if a.Categorical != nil {
				h.Distinct = a.Categorical.Distinct
			}
			hints[a.Name] = h
		}
	}
	return writeJSON(stdout, recipe.Suggest(s, hints))
}
