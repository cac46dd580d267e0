package service_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
)

// TestErrorsShowNoServerPaths checks that errors name objects by key,
// never by the server's folder, and repeat at most the start of a long
// unknown id.
func TestErrorsShowNoServerPaths(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), envOptions{manual: true})
	ctx := context.Background()
	_, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "in/none.csv"})
	wantMessage(t, err.Error(), "in/none.csv")
	_, err = e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: "m", DataSourceID: "d", OutputURL: "file:///elsewhere/out.csv"})
	for _, err := range []error{err, func() error {
		_, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "file:///elsewhere/a.csv"})
		return err
	}()} {
		if err == nil || strings.Contains(err.Error(), e.dir) {
			t.Errorf("error %v names the server's folder %s", err, e.dir)
		}
	}
	long := strings.Repeat("x", 5000)
	_, err = e.svc.GetMLModel(ctx, long)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("unknown id of 5,000 bytes: an error of %d bytes", len(err.Error()))
	}
}

// TestSweepRemovesTemp checks that a start's sweep, on a store only this
// server uses, removes the temporary files a crash left mid-write.
func TestSweepRemovesTemp(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), envOptions{manual: true})
	tmp := filepath.Join(e.dir, ".perch", "models", "ml-1.json.0123456789abcdef.tmp")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, e.svc.Sweep(context.Background(), false))
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("a sweep that may share the store removed a temporary file: %v", err)
	}
	ok(t, e.svc.Sweep(context.Background(), true))
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the temporary file is still there after the start's sweep: %v", err)
	}
}

// TestS3Locations checks that REST and CLI callers may name objects as
// AML's callers do, s3://bucket/key, which on a folder store is the
// object bucket/key.
func TestS3Locations(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), envOptions{manual: true})
	ctx := context.Background()
	e.write(t, "examples/small.csv", head(example(t, "adult/train.csv"), 50))
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{ID: "ds-1", DataURL: "s3://examples/small.csv", TargetAttributeName: "income"})
	ok(t, err)
	if want := e.objects.URL("examples/small.csv"); d.DataURL != want {
		t.Errorf("dataUrl %s, want %s", d.DataURL, want)
	}
	_, err = e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "s3://examples/none.csv"})
	wantCode(t, err, perch.ENotFound)
	wantMessage(t, err.Error(), "examples/none.csv not found")
}
