// Package model holds the trained-model artifact and the compiled
// Predictor: the one predict path that real-time, batch, evaluation and
// pipelines all call.
//
// A model file is JSON: self-describing (it carries its schema, its recipe
// with the fitted state, its parameters and its weights), versioned, and
// deterministic, so training twice with one seed writes the same bytes.
package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/perchml/perch"
	"github.com/perchml/perch/learn/gbdt"
	"github.com/perchml/perch/learn/sgd"
	"github.com/perchml/perch/recipe"
)

// Format and Version identify model files; Decode refuses any other.
// Version 2 added tree ensembles. A file carries the lowest version that
// describes it, so a linear model's file stays readable by a perch that
// knows only version 1.
const (
	Format  = "perch-model"
	Version = 2
)

// Model is a trained model.
type Model struct {
	Type      perch.ModelType
	Algorithm string // "sgd" or "gbdt"
	Schema    *perch.Schema
	Mapper    *recipe.Mapper // sgd: the fitted recipe; gbdt reads attributes as they are
	// Classes are the labels in score order: "0","1" for BINARY, the
	// target's values for MULTICLASS, empty for REGRESSION.
	Classes []string
	// Original holds a BINARY target's own spellings of "0" and "1" when
	// the file does not use AML's (e.g. "<=50K", ">50K").
	Original       []string
	ScoreThreshold float64
	Parameters     map[string]string
	Training       Training
	Linear         *sgd.Model  // sgd
	Trees          *gbdt.Model // gbdt
}

// Training records facts about the training run that evaluations and
// reports need later.
type Training struct {
	Rows        int     `json:"rows"`        // rows used
	InvalidRows int     `json:"invalidRows"` // rows dropped: target missing or invalid
	TargetMean  float64 `json:"targetMean"`  // REGRESSION: the mean-predictor baseline
	Features    int     `json:"features"`    // features after pruning
	Pruned      int     `json:"pruned"`      // features dropped to fit sgd.maxMLModelSizeInBytes
	// IgnoredAttributes are the attributes, in schema order, that are
	// neither the target nor excluded and that the model does not read:
	// a gbdt model's TEXT attributes (only an sgd recipe turns text into
	// features) and attributes with no value in the training rows.
	IgnoredAttributes []string `json:"ignoredAttributes,omitempty"`
}

// wire is the file layout; field order here is the order in the file.
type wire struct {
	Format         string            `json:"format"`
	Version        int               `json:"version"`
	Type           perch.ModelType   `json:"type"`
	Algorithm      string            `json:"algorithm"`
	Classes        []string          `json:"classes,omitempty"`
	Original       []string          `json:"originalLabels,omitempty"`
	ScoreThreshold float64           `json:"scoreThreshold"`
	Parameters     map[string]string `json:"parameters"`
	Training       Training          `json:"training"`
	Schema         *perch.Schema     `json:"schema"`
	Recipe         json.RawMessage   `json:"recipe,omitempty"`
	Linear         *sgd.Model        `json:"linear,omitempty"`
	Trees          *gbdt.Model       `json:"trees,omitempty"`
}

// Encode writes m as a model file.
func (m *Model) Encode(w io.Writer) error {
	var rec json.RawMessage
	if m.Mapper != nil {
		var err error
		if rec, err = json.Marshal(m.Mapper); err != nil {
			return err
		}
	}
	params := m.Parameters
	if params == nil {
		params = map[string]string{}
	}
	version := 1
	if m.Trees != nil {
		version = 2
	}
	b, err := json.Marshal(wire{
		Format: Format, Version: version, Type: m.Type, Algorithm: m.Algorithm,
		Classes: m.Classes, Original: m.Original, ScoreThreshold: m.ScoreThreshold,
		Parameters: params, Training: m.Training, Schema: m.Schema, Recipe: rec,
		Linear: m.Linear, Trees: m.Trees,
	})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Bytes returns the encoded model.
func (m *Model) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	err := m.Encode(&buf)
	return buf.Bytes(), err
}

// Decode reads a model file, checking that it is one and that its parts
// agree, so a damaged file fails here rather than at prediction time.
func Decode(b []byte) (*Model, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, perch.Errorf(perch.EInvalid, "model: not a perch model file: %v", err)
	}
	if w.Format != Format {
		return nil, perch.Errorf(perch.EInvalid, "model: not a perch model file (format %q)", w.Format)
	}
	if w.Version < 1 || w.Version > Version {
		return nil, perch.Errorf(perch.EInvalid, "model: file version %d, this perch reads versions 1 to %d", w.Version, Version)
	}
	if w.Schema == nil || !w.Type.Valid() {
		return nil, perch.Errorf(perch.EInvalid, "model: file has no schema or an unknown type %q", w.Type)
	}
	if w.Linear != nil {
		// Decoding grows slices by doubling; a model kept for serving
		// should not carry the spare half.
		w.Linear.W, w.Linear.Bias = slices.Clone(w.Linear.W), slices.Clone(w.Linear.Bias)
	}
	var mp *recipe.Mapper
	if len(w.Recipe) > 0 && string(w.Recipe) != "null" {
		var err error
		if mp, err = recipe.Decode(w.Recipe, w.Schema); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	m := &Model{
		Type: w.Type, Algorithm: w.Algorithm, Schema: w.Schema, Mapper: mp,
		Classes: w.Classes, Original: w.Original, ScoreThreshold: w.ScoreThreshold,
		Parameters: w.Parameters, Training: w.Training, Linear: w.Linear, Trees: w.Trees,
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) check() error {
	k := 1
	if m.Type == perch.MulticlassModel {
		k = len(m.Classes)
	}
	if m.Type == perch.BinaryModel && len(m.Classes) != 2 {
		return perch.Errorf(perch.EInvalid, "model: a BINARY model needs 2 classes")
	}
	if t := m.Trees; t != nil {
		if m.Linear != nil {
			return perch.Errorf(perch.EInvalid, "model: file has both weights and trees")
		}
		if t.K != k {
			return perch.Errorf(perch.EInvalid, "model: trees give %d margins for %d classes", t.K, k)
		}
		return t.Check(len(m.Schema.Attributes))
	}
	l := m.Linear
	if l == nil {
		return perch.Errorf(perch.EInvalid, "model: file has no weights")
	}
	if m.Mapper == nil {
		return perch.Errorf(perch.EInvalid, "model: file has weights but no recipe")
	}
	if l.K != k || len(l.Bias) != k || len(l.W) != l.Dim*k || l.Dim != m.Mapper.Dim() {
		return perch.Errorf(perch.EInvalid, "model: weights do not match the recipe (%d features, %d classes)", m.Mapper.Dim(), k)
	}
	return nil
}

// ReadFile reads a model file from disk.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// WriteFile writes m to path atomically: a crash leaves the old file or
// the new one, never half of one.
func (m *Model) WriteFile(path string) error {
	b, err := m.Bytes()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
