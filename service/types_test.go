package service_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// A data source whose target is inferred NUMERIC (iris's species 0, 1, 2)
// trains a MULTICLASS model with the numbers as classes, which predicts
// and evaluates like any other.
func TestMulticlassNumericTarget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite://"+t.TempDir()+"/perch.db", envOptions{})
	e.write(t, "iris.csv.gz", exampleGz(t, "iris/iris.csv"))
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "iris.csv.gz", TargetAttributeName: "species"})
	ok(t, err)
	d = e.waitDataSource(t, d.ID)
	wantStatus(t, &d.Meta, perch.StatusCompleted)
	if typ := d.Schema.Attributes[d.Schema.Target()].Type; typ != perch.Numeric {
		t.Fatalf("species inferred %s, want NUMERIC", typ)
	}
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.MulticlassModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	m = e.waitModel(t, m.ID)
	wantStatus(t, &m.Meta, perch.StatusCompleted)

	_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
	ok(t, err)
	var p perch.Prediction
	ok(t, e.svc.Predict(ctx, m.ID, perch.Record{"sepal_length": "6.3", "petal_length": "6.0", "petal_width": "2.5"}, &p))
	var labels []string
	for _, s := range p.Scores {
		labels = append(labels, s.Label)
	}
	if p.Label != "2" || !slices.Equal(labels, []string{"0", "1", "2"}) || !slices.Equal(p.Missing, []string{"sepal_width"}) {
		t.Errorf("a virginica lacking sepal_width: label %q, scores %v, missing %q; want 2, scores for 0, 1, 2 and [sepal_width]", p.Label, p.Scores, p.Missing)
	}

	ev, err := e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m.ID, DataSourceID: d.ID})
	ok(t, err)
	ev = e.waitEvaluation(t, ev.ID)
	wantStatus(t, &ev.Meta, perch.StatusCompleted)
	if f1, err := strconv.ParseFloat(ev.PerformanceMetrics["MulticlassAvgFScore"], 64); err != nil || f1 < 0.9 {
		t.Errorf("macro-F1 %q on the training data, want ≥ 0.9", ev.PerformanceMetrics["MulticlassAvgFScore"])
	}
}

// A NUMERIC target with more distinct values than a MULTICLASS model takes
// classes fails the training, saying which attribute and what to do.
func TestMulticlassNumericTooManyClasses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite://"+t.TempDir()+"/perch.db", envOptions{})
	var b strings.Builder
	b.WriteString("x,price\n")
	for i := range 150 {
		fmt.Fprintf(&b, "%d,%d.5\n", i%10, i)
	}
	e.write(t, "prices.csv", []byte(b.String()))
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "prices.csv", TargetAttributeName: "price"})
	ok(t, err)
	d = e.waitDataSource(t, d.ID)
	wantStatus(t, &d.Meta, perch.StatusCompleted)
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.MulticlassModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	m = e.waitModel(t, m.ID)
	wantStatus(t, &m.Meta, perch.StatusFailed)
	wantMessage(t, m.Message, `target "price" is NUMERIC with 150 distinct values; a MULTICLASS model takes at most 100 classes (a REGRESSION model predicts the number)`)
}

// TestIgnoredAttributesOnModel checks that trees asked to learn from a
// schema with a TEXT attribute say on the model that they ignore it.
func TestIgnoredAttributesOnModel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite://"+t.TempDir()+"/perch.db", envOptions{})
	var b strings.Builder
	b.WriteString("x,note,label\n")
	for i := range 200 {
		fmt.Fprintf(&b, "%d,some words %d,%d\n", i, i%7, i%2)
	}
	e.write(t, "notes.csv", []byte(b.String()))
	sms := &perch.Schema{Version: "1.0", DataFormat: "CSV", DataFileContainsHeader: true, TargetAttributeName: "label",
		Attributes: []perch.Attribute{{Name: "x", Type: perch.Numeric}, {Name: "note", Type: perch.Text}, {Name: "label", Type: perch.Binary}}}
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "notes.csv", Schema: sms})
	ok(t, err)
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
		Parameters: map[string]string{"algorithm": "gbdt", "gbdt.numTrees": "3"}})
	ok(t, err)
	m = e.waitModel(t, m.ID)
	if !slices.Equal(m.IgnoredAttributes, []string{"note"}) {
		t.Errorf("model %s (%s, %s): ignoredAttributes %q, want [note]", m.ID, m.Status, m.Message, m.IgnoredAttributes)
	}
}
