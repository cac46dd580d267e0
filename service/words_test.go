package service_test

import (
	"context"
	"strings"
	"testing"

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
