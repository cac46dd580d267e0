package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
)

// TestPipelineRules checks what the service holds a pipeline to: its
// model must be there, and a run that keeps failing is quarantined on
// its last try, with the reason, instead of failing again.
func TestPipelineRules(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, testdb.SQLite(t))
	svc := service.New(service.Config{Store: store})
	def := service.PipelineInput{
		ID: "income", Model: "ml-gone",
		Source:     perch.PipelineSource{Objects: "file:///srv/in"},
		Sinks:      []perch.PipelineSink{{Objects: &perch.ObjectSink{URL: "file:///srv/out"}}},
		DeadLetter: "file:///srv/dead",
	}
	_, err := svc.CreatePipeline(ctx, def)
	wantCode(t, err, perch.EInvalid)
	wantMessage(t, err.Error(), "model ml-gone not found")

	// A pipeline whose model went: each try of its run fails.
	p := &perch.Pipeline{Meta: perch.Meta{ID: "income", Status: perch.StatusCompleted}, Model: "ml-gone",
		Source: def.Source, Sinks: def.Sinks, DeadLetter: def.DeadLetter, State: perch.PipelineRunning}
	ok(t, store.CreatePipeline(ctx, p))
	ok(t, store.CreatePipelineRun(ctx, &perch.PipelineRun{Meta: perch.Meta{ID: "pr-1"}, Pipeline: "income", Key: "a.csv", Version: "1"}))
	if err := svc.RunPipeline(ctx, "pr-1", 1, 1, 3); err == nil {
		t.Fatal("a failing run reported no error")
	}
	r, err := svc.GetPipelineRun(ctx, "pr-1")
	ok(t, err)
	if r.Status != perch.StatusPending || !strings.Contains(r.Message, "ml-gone") {
		t.Errorf("after a failed try: %+v", r)
	}
	ok(t, svc.RunPipeline(ctx, "pr-1", 1, 3, 3))
	r, err = svc.GetPipelineRun(ctx, "pr-1")
	ok(t, err)
	if r.Status != perch.StatusFailed || !strings.HasPrefix(r.Message, "quarantined after 3 attempts: ") {
		t.Errorf("after the last try: %+v", r)
	}

	// Paused, a run waits; deleted, its runs end.
	ok(t, store.CreatePipelineRun(ctx, &perch.PipelineRun{Meta: perch.Meta{ID: "pr-2"}, Pipeline: "income", Key: "b.csv", Version: "1"}))
	_, err = svc.PausePipeline(ctx, "income")
	ok(t, err)
	if err := svc.RunPipeline(ctx, "pr-2", 1, 1, 3); err != service.ErrNotReady {
		t.Errorf("a paused pipeline's run: %v", err)
	}
	_, err = svc.DeletePipeline(ctx, "income")
	ok(t, err)
	ok(t, svc.RunPipeline(ctx, "pr-2", 1, 1, 3))
	if r, _ := svc.GetPipelineRun(ctx, "pr-2"); r.Status != perch.StatusFailed || !strings.Contains(r.Message, "deleted") {
		t.Errorf("a deleted pipeline's run: %+v", r)
	}
	_, err = svc.ResumePipeline(ctx, "income")
	wantCode(t, err, perch.EInvalid)
}
