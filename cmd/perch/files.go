package main

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/recipe"
)

// readSchema reads an AML schema file.
func readSchema(path string) (*perch.Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, prefix(path, err)
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
		return nil, prefix(path, err)
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
			return nil, prefix(arg, err)
		}
		re, err := data.ParseRearrangement(string(b))
		if err != nil {
			return nil, prefix(arg, err)
		}
		return re, nil
	}
	return data.ParseRearrangement(arg)
}

// open opens a data file, unzipping it when its name ends in .gz.
func open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, prefix(path, err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err == io.EOF {
		// An empty file holds no records, as an empty CSV file does.
		return struct {
			io.Reader
			io.Closer
		}{strings.NewReader(""), f}, nil
	}
	if err != nil {
		f.Close()
		return nil, prefix(path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// prefix names the file an error came from, once: an error from opening
// the file already names it and is reduced to its cause.
func prefix(path string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == path {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	if strings.HasPrefix(err.Error(), path+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// writeJSON writes v indented, as every command's JSON output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readModel reads a model file.
func readModel(path string) (*model.Model, error) {
	m, err := model.ReadFile(path)
	if err != nil {
		return nil, prefix(path, err)
	}
	return m, nil
}

// checkOutDir checks that the directory an output file goes in exists, so
// that a long run does not end in failing to write its result.
func checkOutDir(path string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--out %s: directory %s does not exist", path, dir)
	}
	return nil
}

// notSameFile refuses an output path that is one of the inputs, which
// writing the output would destroy.
func notSameFile(out string, inputs ...string) error {
	o, err := os.Stat(out)
	if err != nil {
		return nil
	}
	for _, in := range inputs {
		if i, err := os.Stat(in); err == nil && in != "" && os.SameFile(o, i) {
			return usagef("--out %s is also an input; writing it would destroy it", out)
		}
	}
	return nil
}
