package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// trainSmall trains a BINARY model on small.csv through the manual queue
// and opens its endpoint.
func (e *jobsEnv) trainSmall(t *testing.T) (*perch.MLModel, perch.Record) {
	t.Helper()
	ctx := context.Background()
	d, dj := e.dataSource(t)
	ok(t, e.svc.Run(ctx, dj))
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	ok(t, e.svc.Run(ctx, service.Job{Kind: service.JobTrain, ID: m.ID, Attempt: 1}))
	e.manual.take()
	m, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
	ok(t, err)
	return m, record(e.getDS(t, d.ID).Schema, founding)
}

func (e *jobsEnv) label(t *testing.T, id string, r perch.Record) string {
	t.Helper()
	var p perch.Prediction
	ok(t, e.svc.Predict(context.Background(), id, r, &p))
	return p.Label
}

func TestModelCache(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		e := newJobsEnv(t, dsn)
		t.Run("StaleRefresh", e.testStaleRefresh)
		t.Run("ThresholdFromMemory", e.testThresholdFromMemory)
	})
}

// testStaleRefresh has the background check of a cached model read it
// just before a change made on this server, and finish just after: the
// older state it read must not replace the newer one.
func (e *jobsEnv) testStaleRefresh(t *testing.T) {
	ctx := context.Background()
	m, rec := e.trainSmall(t)
	_, err := e.svc.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: ptr(1.0)})
	ok(t, err)
	if l := e.label(t, m.ID, rec); l != "0" {
		t.Fatalf("label %q at threshold 1", l)
	}

	entered, release := make(chan struct{}), make(chan struct{})
	e.hooks.set(m.ID, func(context.Context) error {
		close(entered)
		<-release
		return nil
	})
	time.Sleep(1100 * time.Millisecond) // the cached model is due a check
	e.label(t, m.ID, rec)               // which starts in the background
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no background check of the cached model")
	}
	e.hooks.set(m.ID, nil)

	_, err = e.svc.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: ptr(0.0)})
	ok(t, err)
	if l := e.label(t, m.ID, rec); l != "1" {
		t.Fatalf("label %q at threshold 0", l)
	}
	close(release)
	time.Sleep(100 * time.Millisecond) // the check completes
	if l := e.label(t, m.ID, rec); l != "1" {
		t.Fatalf("label %q after a check that read the model before its change: an older state replaced a newer one", l)
	}
}

// testThresholdFromMemory changes a threshold after the model file is
// gone: the compiled model already in memory serves the new threshold,
// without reading the file again.
func (e *jobsEnv) testThresholdFromMemory(t *testing.T) {
	ctx := context.Background()
	m, rec := e.trainSmall(t)
	e.label(t, m.ID, rec)
	key, err := e.objects.Key(m.ArtifactURL)
	ok(t, err)
	ok(t, e.objects.Delete(ctx, key))
	for _, c := range []struct {
		threshold float64
		label     string
	}{{0, "1"}, {1, "0"}, {0, "1"}} {
		_, err = e.svc.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: &c.threshold})
		ok(t, err)
		var p perch.Prediction
		if err := e.svc.Predict(ctx, m.ID, rec, &p); err != nil {
			t.Fatalf("predict at threshold %v, with the model file gone: %v", c.threshold, err)
		}
		if p.Label != c.label {
			t.Fatalf("label %q at threshold %v, want %q", p.Label, c.threshold, c.label)
		}
	}
}
