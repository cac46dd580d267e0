package service_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// withBadLine returns a CSV file whose record on line n (1-based,
// counting the header) has one field too few.
func withBadLine(b []byte, n int) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	i := bytes.LastIndexByte(lines[n-1], ',')
	lines[n-1] = append(lines[n-1][:i:i], '\n')
	return bytes.Join(lines, nil)
}

func TestFailures(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, envOptions{})
		train := example(t, "adult/train.csv")
		small := head(train, 2000)
		e.write(t, "small.csv", small)
		// Past the rows schema inference samples, so only the full read
		// finds it.
		e.write(t, "late.csv", withBadLine(train, 12001))
		e.write(t, "early.csv", withBadLine(small, 5))
		e.write(t, "not-gzip.csv.gz", small)

		t.Run("BadLine", func(t *testing.T) {
			for _, c := range []struct {
				key  string
				line int
			}{{"late.csv", 12001}, {"early.csv", 5}} {
				d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: c.key, TargetAttributeName: "income"})
				ok(t, err)
				d = e.waitDataSource(t, d.ID)
				wantStatus(t, &d.Meta, perch.StatusFailed)
				wantRun(t, &d.Meta)
				wantMessage(t, d.Message, fmt.Sprintf("line %d", c.line), "has 14 fields, want 15")
			}
		})

		t.Run("NoRecords", func(t *testing.T) {
			e.write(t, "empty.csv", head(small, 0))
			e.write(t, "one.csv", head(small, 1))
			_, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv",
				Rearrangement: `{"splitting":{"percentBegin":50,"percentEnd":50}}`})
			wantCode(t, err, perch.EInvalid)
			if msg := err.Error(); strings.Count(msg, "rearrangement") != 1 {
				t.Errorf("message %q: want rearrangement named once", msg)
			}
			for _, in := range []service.DataSourceInput{
				{DataURL: "empty.csv", TargetAttributeName: "income"},
				{DataURL: "one.csv", TargetAttributeName: "income", Rearrangement: `{"splitting":{"percentBegin":0,"percentEnd":50}}`},
			} {
				d, err := e.svc.CreateDataSource(ctx, in)
				ok(t, err)
				d = e.waitDataSource(t, d.ID)
				wantStatus(t, &d.Meta, perch.StatusFailed)
				wantMessage(t, d.Message, "no records")
			}
		})

		t.Run("NotGzip", func(t *testing.T) {
			d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "not-gzip.csv.gz", TargetAttributeName: "income"})
			ok(t, err)
			d = e.waitDataSource(t, d.ID)
			wantStatus(t, &d.Meta, perch.StatusFailed)
			wantMessage(t, d.Message, "not-gzip.csv.gz")
		})

		t.Run("DataURL", func(t *testing.T) {
			for _, c := range []struct {
				url  string
				code perch.ErrorCode
				says string
			}{
				{"", perch.EInvalid, "dataUrl"},
				{"file:///etc/passwd", perch.EInvalid, "not in the object store"},
				{"s3://elsewhere/small.csv", perch.ENotFound, "elsewhere/small.csv not found"},
				{"file:///elsewhere/small.csv", perch.EInvalid, "not in the object store"},
				{"../small.csv", perch.EInvalid, "dataUrl"},
				{"missing.csv", perch.ENotFound, "missing.csv"},
				{e.objects.URL("missing.csv"), perch.ENotFound, "missing.csv"},
			} {
				_, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: c.url})
				wantCode(t, err, c.code)
				wantMessage(t, err.Error(), c.says)
			}
			_, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv", Rearrangement: "{"})
			wantCode(t, err, perch.EInvalid)
			_, err = e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv", Schema: &perch.Schema{}})
			wantCode(t, err, perch.EInvalid)
			if msg := err.Error(); strings.Count(msg, "schema") != 1 {
				t.Errorf("message %q: want the schema named once", msg)
			}
			_, err = e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv", Tags: map[string]string{"aws:x": "y"}})
			wantCode(t, err, perch.EInvalid)
		})

		d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv", TargetAttributeName: "income"})
		ok(t, err)
		d = e.waitDataSource(t, d.ID)
		wantStatus(t, &d.Meta, perch.StatusCompleted)
		_, err = e.svc.CreateDataSource(ctx, service.DataSourceInput{ID: d.ID, DataURL: "small.csv"})
		wantCode(t, err, perch.EConflict)

		t.Run("ModelInput", func(t *testing.T) {
			for _, c := range []struct {
				in   service.MLModelInput
				code perch.ErrorCode
				says string
			}{
				{service.MLModelInput{Type: perch.RegressionModel, TrainingDataSourceID: d.ID}, perch.EInvalid, "income"},
				{service.MLModelInput{Type: "TREE", TrainingDataSourceID: d.ID}, perch.EInvalid, "TREE"},
				{service.MLModelInput{Type: perch.BinaryModel}, perch.EInvalid, "trainingDataSourceId"},
				{service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: "ds-missing"}, perch.ENotFound, "ds-missing"},
				{service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID, Recipe: "{"}, perch.EInvalid, "recipe"},
				{service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
					Recipe: `{"outputs": ["nosuch"]}`}, perch.EInvalid, "recipe"},
				{service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
					Parameters: map[string]string{"sgd.maxPasses": "many"}}, perch.EInvalid, "sgd.maxPasses"},
				{service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
					Parameters: map[string]string{"algorithm": "xgboost"}}, perch.EInvalid, "xgboost"},
			} {
				_, err := e.svc.CreateMLModel(ctx, c.in)
				wantCode(t, err, c.code)
				wantMessage(t, err.Error(), c.says)
			}
		})

		t.Run("FailedDataSource", func(t *testing.T) {
			e.write(t, "bad.csv", withBadLine(small, 3))
			bad, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "bad.csv", TargetAttributeName: "income"})
			ok(t, err)
			// Created while its data source is PENDING: the model fails
			// when the data source does, saying why.
			m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: bad.ID})
			ok(t, err)
			m = e.waitModel(t, m.ID)
			wantStatus(t, &m.Meta, perch.StatusFailed)
			wantMessage(t, m.Message, bad.ID, "FAILED", "line 3")

			_, err = e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: bad.ID})
			wantCode(t, err, perch.EInvalid)
			wantMessage(t, err.Error(), bad.ID, "FAILED", "line 3")

			_, err = e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m.ID, DataSourceID: d.ID})
			wantCode(t, err, perch.EInvalid)
			_, err = e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: d.ID})
			wantCode(t, err, perch.EInvalid)
		})

		t.Run("TargetMismatch", func(t *testing.T) {
			// The mismatch shows only once the pending data source's
			// schema is known: the model fails then.
			p, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv", TargetAttributeName: "income"})
			ok(t, err)
			m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.RegressionModel, TrainingDataSourceID: p.ID})
			ok(t, err)
			m = e.waitModel(t, m.ID)
			wantStatus(t, &m.Meta, perch.StatusFailed)
			wantMessage(t, m.Message, "income")

			// A data source without a target cannot train.
			nt, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "small.csv"})
			ok(t, err)
			nt = e.waitDataSource(t, nt.ID)
			wantStatus(t, &nt.Meta, perch.StatusCompleted)
			_, err = e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: nt.ID})
			wantCode(t, err, perch.EInvalid)
			wantMessage(t, err.Error(), "targetAttributeName")
		})

		t.Run("EvaluationInput", func(t *testing.T) {
			_, err := e.svc.CreateEvaluation(ctx, service.EvaluationInput{DataSourceID: d.ID})
			wantCode(t, err, perch.EInvalid)
			_, err = e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: "ml-missing", DataSourceID: d.ID})
			wantCode(t, err, perch.ENotFound)
			_, err = e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: "ml-missing", DataSourceID: d.ID})
			wantCode(t, err, perch.ENotFound)
		})
	})
}
