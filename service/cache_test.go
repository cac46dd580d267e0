package service_test

import (
	"context"
	"runtime"
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

// TestCacheBound holds at most one compiled model (CacheBytes 1): using
// one drops the other, which is read from its file again when used next.
// Predictions race threshold changes meanwhile, which must not undo one
// another.
func TestCacheBound(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newJobsEnvConfig(t, dsn, service.Config{CacheBytes: 1})
		a, rec := e.trainSmall(t)
		b, _ := e.trainSmall(t)
		e.label(t, a.ID, rec)
		e.label(t, b.ID, rec) // a is dropped
		e.label(t, a.ID, rec) // and read again; b is dropped

		stop := make(chan struct{})
		errc := make(chan error, 4)
		for i := range 4 {
			id := a.ID
			if i%2 == 1 {
				id = b.ID
			}
			go func() {
				var p perch.Prediction
				for {
					select {
					case <-stop:
						errc <- nil
						return
					default:
					}
					if err := e.svc.Predict(ctx, id, rec, &p); err != nil {
						errc <- err
						return
					}
					runtime.Gosched()
				}
			}()
		}
		for i := range 20 {
			th := float64(i % 2)
			_, err := e.svc.UpdateMLModel(ctx, []string{a.ID, b.ID}[i%2], service.Update{ScoreThreshold: &th})
			ok(t, err)
		}
		close(stop)
		for range 4 {
			ok(t, <-errc)
		}
		// The last thresholds: a 0 (label 1), b 1 (label 0).
		if la, lb := e.label(t, a.ID, rec), e.label(t, b.ID, rec); la != "1" || lb != "0" {
			t.Fatalf("labels %q and %q after the last changes, want 1 and 0", la, lb)
		}

		// b is held now, a is not: without its file, a cannot be used.
		key, err := e.objects.Key(a.ArtifactURL)
		ok(t, err)
		ok(t, e.objects.Delete(ctx, key))
		var p perch.Prediction
		if err := e.svc.Predict(ctx, a.ID, rec, &p); err == nil {
			t.Fatal("a model dropped from the cache predicted without its file")
		}
		e.label(t, b.ID, rec)
	})
}
