package service_test

import (
	"context"
	"math"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// A model asked for with algorithm=gbdt trains trees, says so, and serves
// them through the same endpoint; a mistyped gbdt parameter is refused at
// once, before any data is read.
func TestGBDTModel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite://"+t.TempDir()+"/perch.db", envOptions{})
	e.write(t, "adult.csv.gz", exampleGz(t, "adult/train.csv"))
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "adult.csv.gz", TargetAttributeName: "income"})
	ok(t, err)
	d = e.waitDataSource(t, d.ID)

	_, err = e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
		Parameters: map[string]string{"algorithm": "gbdt", "gbdt.numTree": "50"}})
	wantCode(t, err, perch.EInvalid)
	wantMessage(t, err.Error(), "gbdt.numTree")

	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
		Parameters: map[string]string{"algorithm": "gbdt", "gbdt.numTrees": "50"}})
	ok(t, err)
	if m.Algorithm != "gbdt" {
		t.Errorf("algorithm %q, want gbdt", m.Algorithm)
	}
	m = e.waitModel(t, m.ID)
	wantStatus(t, &m.Meta, perch.StatusCompleted)
	_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
	ok(t, err)
	var p perch.Prediction
	ok(t, e.svc.Predict(ctx, m.ID, record(d.Schema, founding), &p))
	if p.Algorithm != "GBDT" || p.Label != "0" {
		t.Errorf("founding record: %+v, want label 0 from GBDT", p)
	}

	// The explanation adds up to the margin: the log-odds of the score.
	var x perch.Prediction
	ok(t, e.svc.Explain(ctx, m.ID, record(d.Schema, founding), &x))
	c := x.Contributions
	if c == nil || len(c.Margins) != 1 || c.Margins[0].Class != "" || len(c.Names) != len(d.Schema.Attributes)-1 || len(c.Margins[0].Values) != len(c.Names) {
		t.Fatalf("explanation: %+v", c)
	}
	sum := c.Margins[0].Expected
	for _, v := range c.Margins[0].Values {
		sum += v
	}
	score := x.Scores[0].Value
	if margin := math.Log(score / (1 - score)); math.Abs(sum-margin) > 1e-6 {
		t.Errorf("contributions add up to %v, the margin is %v", sum, margin)
	}
	if c.Names[0] != "age" || c.Margins[0].Values[0] == 0 {
		t.Errorf("age contributes nothing: %v %v", c.Names, c.Margins[0].Values)
	}
}
