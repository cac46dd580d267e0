package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
)

// TestProgress checks that a running job tells on its entity how far it
// has come, and that the entity keeps no progress once done.
func TestProgress(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), envOptions{manual: true, config: service.Config{ProgressEvery: 20 * time.Millisecond}})
	ctx := context.Background()
	e.write(t, "adult.csv.gz", exampleGz(t, "adult/train.csv"))
	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{ID: "ds", DataURL: "adult.csv.gz", TargetAttributeName: "income"})
	ok(t, err)
	e.runJobs(t)
	_, err = e.svc.CreateMLModel(ctx, service.MLModelInput{ID: "ml", Type: perch.BinaryModel, TrainingDataSourceID: d.ID,
		Parameters: map[string]string{"gbdt.numTrees": "400", "gbdt.learningRate": "0.02", "gbdt.earlyStoppingRounds": "0"}})
	ok(t, err)
	done := make(chan struct{})
	go func() { defer close(done); e.runJobs(t) }()
	var seen []perch.Progress
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(10 * time.Millisecond):
		}
		m, err := e.svc.GetMLModel(ctx, "ml")
		ok(t, err)
		if p := m.Progress; p != nil && (len(seen) == 0 || *p != seen[len(seen)-1]) {
			seen = append(seen, *p)
		}
	}
	m, err := e.svc.GetMLModel(ctx, "ml")
	ok(t, err)
	wantStatus(t, &m.Meta, perch.StatusCompleted)
	if m.Progress != nil {
		t.Errorf("a COMPLETED model keeps its progress %+v", m.Progress)
	}
	var trees []perch.Progress
	for _, p := range seen {
		if p.Phase == "training" && p.Unit == "trees" {
			trees = append(trees, p)
		}
	}
	if len(trees) == 0 {
		t.Fatalf("no progress of the trees seen: %+v", seen)
	}
	last := trees[len(trees)-1]
	if last.Total != 400 || last.Done <= 0 || last.Done > 400 || last.Elapsed <= 0 {
		t.Errorf("progress %+v, want trees done of 400 and the time so far", last)
	}
	if first := trees[0]; first.Done < 300 && first.Remaining <= 0 {
		t.Errorf("progress %+v has no estimate", first)
	}
	for i := 1; i < len(trees); i++ {
		if trees[i].Done < trees[i-1].Done {
			t.Errorf("trees went back: %+v then %+v", trees[i-1], trees[i])
		}
	}
}
