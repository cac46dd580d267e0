package service_test

import (
	"context"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/s3fake"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
)

// TestS3Objects runs the service on an S3 object store (an in-process S3
// server spoken to by the real S3 client): object URLs name the bucket,
// URLs of other buckets are refused, and a batch prediction's output lands
// in the bucket.
func TestS3Objects(t *testing.T) {
	ctx := context.Background()
	srv := s3fake.Start(t, "perch")
	b, err := objects.Open(ctx, srv.Bucket("perch"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &env{store: openStore(t, testdb.SQLite(t)), objects: b}
	e.svc = service.New(service.Config{Store: e.store, Objects: b})
	e.queue = newAutoQueue(t, e.svc)
	e.svc.SetQueue(e.queue)
	e.write(t, "in/adult.csv.gz", exampleGz(t, "adult/train.csv"))

	_, err = e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "s3://other/in/adult.csv.gz"})
	wantCode(t, err, perch.EInvalid)

	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "s3://perch/in/adult.csv.gz", TargetAttributeName: "income"})
	ok(t, err)
	if d.DataURL != "s3://perch/in/adult.csv.gz" {
		t.Errorf("dataUrl %q, want s3://perch/in/adult.csv.gz", d.DataURL)
	}
	d = e.waitDataSource(t, d.ID)
	wantStatus(t, &d.Meta, perch.StatusCompleted)
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	m = e.waitModel(t, m.ID)
	wantStatus(t, &m.Meta, perch.StatusCompleted)
	bp, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: d.ID, OutputURL: "s3://perch/out/"})
	ok(t, err)
	if want := "s3://perch/out/" + bp.ID + ".csv"; bp.OutputURL != want {
		t.Errorf("outputUrl %q, want %q", bp.OutputURL, want)
	}
	bp = e.waitBatch(t, bp.ID)
	wantStatus(t, &bp.Meta, perch.StatusCompleted)
	out, err := b.ReadAll(ctx, "out/"+bp.ID+".csv")
	ok(t, err)
	if n := lineCount(out); n != d.Records || bp.TotalRecords != d.Records {
		t.Errorf("output has %d records, batch says %d, want %d", n, bp.TotalRecords, d.Records)
	}
}
