package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/recipe"
)

// readSchema reads an AML schema file.
func readSchema(path string) (*perch.Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := data.ParseSchema(b)
	if err != nil {
		return nil, prefix(path, err)
	}
	return s, nil
}

// readRecipe reads a recipe file.
func readRecipe(path string) (*recipe.Recipe, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := recipe.Parse(b)
	if err != nil {
		return nil, prefix(path, err)
	}
	return r, nil
}

// rearrangement reads a DataRearrangement given inline as JSON or as the
// path of a file holding it.
func rearrangement(arg string) (*data.Rearrangement, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return nil, nil
	}
	if !strings.HasPrefix(arg, "{") {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		arg = string(b)
	}
	return data.ParseRearrangement(arg)
}

// open opens a data file, unzipping it when its name ends in .gz.
func open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, prefix(path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// prefix names the file an error came from.
func prefix(path string, err error) error {
	if e, ok := err.(*perch.Error); ok {
		return &perch.Error{Code: e.Code, Message: path + ": " + e.Message}
	}
	return &perch.Error{Code: perch.Code(err), Message: path + ": " + err.Error()}
}

// writeJSON writes v indented, as every command's JSON output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
