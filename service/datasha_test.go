package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runJobs runs the jobs enqueued so far, and those they enqueue.
func (e *env) runJobs(t *testing.T) {
	t.Helper()
	for jobs := e.manual.take(); len(jobs) > 0; jobs = e.manual.take() {
		for _, j := range jobs {
			if err := e.svc.Run(context.Background(), j); err != nil {
				t.Fatalf("Run(%+v): %v", j, err)
			}
		}
	}
}

const changedMsg = "changed after its data source read it"

// TestDataNeverChanges checks that a data source records the sha256 of
// what it read, that what is built on it reads exactly those bytes and
// says so, and that it fails, saying why, once the object was replaced.
func TestDataNeverChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{manual: true})
		svc, ctx := e.svc, context.Background()
		adult := example(t, "adult/train.csv")
		first, other := head(adult, 300), append(head(adult, 0), adult[len(head(adult, 300)):len(head(adult, 600))]...)
		e.write(t, "in/a.csv", first)
		d, err := svc.CreateDataSource(ctx, service.DataSourceInput{ID: "ds-a", DataURL: "in/a.csv", TargetAttributeName: "income", ComputeStatistics: true})
		ok(t, err)
		_, err = svc.CreateMLModel(ctx, service.MLModelInput{ID: "ml-before", Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
		ok(t, err)
		e.runJobs(t)
		d, err = svc.GetDataSource(ctx, d.ID)
		ok(t, err)
		wantStatus(t, &d.Meta, perch.StatusCompleted)
		if d.DataSHA256 != sha(first) || d.SizeBytes != int64(len(first)) || d.Records != 300 {
			t.Fatalf("data source: sha256 %s, %d bytes, %d records; want %s, %d, 300", d.DataSHA256, d.SizeBytes, d.Records, sha(first), len(first))
		}
		m, err := svc.GetMLModel(ctx, "ml-before")
		ok(t, err)
		wantStatus(t, &m.Meta, perch.StatusCompleted)
		if m.DataSHA256 != d.DataSHA256 {
			t.Errorf("model's dataSha256 %q, want the data source's %q", m.DataSHA256, d.DataSHA256)
		}

		// The object is replaced by other rows: nothing built on the data
		// source may read them as its own.
		e.write(t, "in/a.csv", other)
		_, err = svc.CreateMLModel(ctx, service.MLModelInput{ID: "ml-after", Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
		ok(t, err)
		_, err = svc.CreateEvaluation(ctx, service.EvaluationInput{ID: "ev-after", MLModelID: "ml-before", DataSourceID: d.ID})
		ok(t, err)
		_, err = svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{ID: "bp-after", MLModelID: "ml-before", DataSourceID: d.ID, OutputURL: "out/bp.csv"})
		ok(t, err)
		e.runJobs(t)
		m, err = svc.GetMLModel(ctx, "ml-after")
		ok(t, err)
		wantStatus(t, &m.Meta, perch.StatusFailed)
		wantMessage(t, m.Message, changedMsg, "in/a.csv", d.DataSHA256[:12], sha(other)[:12])
		ev, err := svc.GetEvaluation(ctx, "ev-after")
		ok(t, err)
		wantStatus(t, &ev.Meta, perch.StatusFailed)
		wantMessage(t, ev.Message, changedMsg)
		bp, err := svc.GetBatchPrediction(ctx, "bp-after")
		ok(t, err)
		wantStatus(t, &bp.Meta, perch.StatusFailed)
		wantMessage(t, bp.Message, changedMsg)
		if ok, err := e.objects.Exists(ctx, "out/bp.csv"); err != nil || ok {
			t.Errorf("a batch prediction of changed data wrote its output (exists %v, %v)", ok, err)
		}

		// The data source's own bytes back in place, all is well again.
		e.write(t, "in/a.csv", first)
		_, err = svc.CreateEvaluation(ctx, service.EvaluationInput{ID: "ev-back", MLModelID: "ml-before", DataSourceID: d.ID})
		ok(t, err)
		_, err = svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{ID: "bp-back", MLModelID: "ml-before", DataSourceID: d.ID, OutputURL: "out/bp.csv"})
		ok(t, err)
		e.runJobs(t)
		ev, err = svc.GetEvaluation(ctx, "ev-back")
		ok(t, err)
		wantStatus(t, &ev.Meta, perch.StatusCompleted)
		bp, err = svc.GetBatchPrediction(ctx, "bp-back")
		ok(t, err)
		wantStatus(t, &bp.Meta, perch.StatusCompleted)
		if ev.DataSHA256 != d.DataSHA256 || bp.DataSHA256 != d.DataSHA256 || bp.TotalRecords != 300 {
			t.Errorf("evaluation dataSha256 %q, batch %q (%d records); want %q, 300", ev.DataSHA256, bp.DataSHA256, bp.TotalRecords, d.DataSHA256)
		}
	})
}

// TestDataNeverChangesFolder checks the same of a data source naming a
// folder, whose digest covers each file's bytes and name, and of a
// gzipped object, whose digest is of its bytes as stored.
func TestDataNeverChangesFolder(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) { dataNeverChangesFolder(t, dsn) })
}

func dataNeverChangesFolder(t *testing.T, dsn string) {
	e := newEnv(t, dsn, envOptions{manual: true})
	svc, ctx := e.svc, context.Background()
	adult := example(t, "adult/train.csv")
	one, two := head(adult, 200), append(head(adult, 0), adult[len(head(adult, 200)):len(head(adult, 400))]...)
	e.write(t, "folder/1.csv", one)
	e.write(t, "folder/sub/2.csv", two)
	gz := exampleGz(t, "adult/test.csv")
	e.write(t, "in/test.csv.gz", gz)
	for _, in := range []service.DataSourceInput{
		{ID: "ds-folder", DataURL: "folder", TargetAttributeName: "income"},
		{ID: "ds-gz", DataURL: "in/test.csv.gz", TargetAttributeName: "income"},
	} {
		_, err := svc.CreateDataSource(ctx, in)
		ok(t, err)
	}
	_, err := svc.CreateMLModel(ctx, service.MLModelInput{ID: "ml-1", Type: perch.BinaryModel, TrainingDataSourceID: "ds-folder"})
	ok(t, err)
	e.runJobs(t)
	folder, err := svc.GetDataSource(ctx, "ds-folder")
	ok(t, err)
	lines := fmt.Sprintf("%s  1.csv\n%s  sub/2.csv\n", sha(one), sha(two))
	if folder.DataSHA256 != sha([]byte(lines)) || folder.Records != 400 {
		t.Errorf("folder: sha256 %s, %d records; want sha256 of %q, 400", folder.DataSHA256, folder.Records, lines)
	}
	gzd, err := svc.GetDataSource(ctx, "ds-gz")
	ok(t, err)
	if gzd.DataSHA256 != sha(gz) {
		t.Errorf("gzipped object: sha256 %s, want that of its bytes %s", gzd.DataSHA256, sha(gz))
	}
	m, err := svc.GetMLModel(ctx, "ml-1")
	ok(t, err)
	wantStatus(t, &m.Meta, perch.StatusCompleted)

	// A file of the folder is replaced: a per-file batch prediction, laid
	// out as AML's, fails rather than list mixed results in its manifest.
	e.write(t, "folder/sub/2.csv", one)
	_, err = svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{ID: "bp-1", MLModelID: "ml-1", DataSourceID: "ds-folder", OutputURL: "results/batch-prediction/bp-1.manifest"})
	ok(t, err)
	_, err = svc.CreateMLModel(ctx, service.MLModelInput{ID: "ml-2", Type: perch.BinaryModel, TrainingDataSourceID: "ds-folder"})
	ok(t, err)
	e.runJobs(t)
	bp, err := svc.GetBatchPrediction(ctx, "bp-1")
	ok(t, err)
	wantStatus(t, &bp.Meta, perch.StatusFailed)
	wantMessage(t, bp.Message, changedMsg)
	if ok, err := e.objects.Exists(ctx, "results/batch-prediction/bp-1.manifest"); err != nil || ok {
		t.Errorf("a batch prediction of changed data wrote its manifest (exists %v, %v)", ok, err)
	}
	m, err = svc.GetMLModel(ctx, "ml-2")
	ok(t, err)
	wantStatus(t, &m.Meta, perch.StatusFailed)
	wantMessage(t, m.Message, changedMsg)
}
