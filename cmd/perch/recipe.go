package main

import (
	"flag"
	"io"

	"github.com/perchml/perch/recipe"
)

// runRecipe: perch recipe suggest --schema SCHEMA [--data FILE]
func runRecipe(args []string, _ io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "suggest" {
		return usagef("usage: perch recipe suggest --schema SCHEMA [--data FILE]")
	}
	fs := flag.NewFlagSet("recipe suggest", flag.ContinueOnError)
	schemaPath := fs.String("schema", "", "AML data schema JSON file")
	dataPath := fs.String("data", "", "data file whose statistics refine the suggestion")
	if _, err := parseFlags(fs, args[1:]); err != nil {
		return err
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
