package service_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// A batch prediction of unlabelled data (no target column, as a batch
// prediction's input usually is) predicts every record and writes no
// trueLabel column.
func TestBatchUnlabelled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite://"+t.TempDir()+"/perch.db", envOptions{})
	e.write(t, "adult.csv.gz", exampleGz(t, "adult/train.csv"))
	var in bytes.Buffer
	for _, l := range strings.Split(strings.TrimSuffix(string(example(t, "adult/test.csv")), "\n"), "\n") {
		in.WriteString(l[:strings.LastIndexByte(l, ',')] + "\n")
	}
	e.write(t, "unlabelled.csv", in.Bytes())
	train, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "adult.csv.gz", TargetAttributeName: "income"})
	ok(t, err)
	train = e.waitDataSource(t, train.ID)
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: train.ID})
	ok(t, err)
	m = e.waitModel(t, m.ID)
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "unlabelled.csv"})
	ok(t, err)
	d = e.waitDataSource(t, d.ID)
	wantStatus(t, &d.Meta, perch.StatusCompleted)
	bp, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: d.ID})
	ok(t, err)
	bp = e.waitBatch(t, bp.ID)
	wantStatus(t, &bp.Meta, perch.StatusCompleted)
	out, err := e.objects.ReadAll(ctx, "batch-predictions/"+bp.ID+".csv")
	ok(t, err)
	if !bytes.HasPrefix(out, []byte("bestAnswer,score\n")) {
		t.Errorf("output starts %.40q, want the header bestAnswer,score", out)
	}
	if n := lineCount(out); n != d.Records || bp.TotalRecords != d.Records || bp.InvalidRecords != 0 {
		t.Errorf("%d output rows, %d records (%d invalid), want %d", n, bp.TotalRecords, bp.InvalidRecords, d.Records)
	}
}
