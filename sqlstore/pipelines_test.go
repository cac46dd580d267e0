package sqlstore

import (
	"context"
	"testing"

	"github.com/perchml/perch"
)

// TestPipelines stores a pipeline and its runs, and lists the runs of one
// pipeline.
func TestPipelines(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		p := &perch.Pipeline{
			Meta:       perch.Meta{ID: "income", Name: "income", Status: perch.StatusCompleted},
			Model:      "ml-1",
			Source:     perch.PipelineSource{Objects: "file:///srv/inbox", Format: "csv"},
			Sinks:      []perch.PipelineSink{{SQL: &perch.SQLSink{URL: "sqlite:///srv/r.db", Table: "predictions"}}},
			DeadLetter: "file:///srv/dead",
			State:      perch.PipelineRunning,
		}
		if err := s.CreatePipeline(ctx, p); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.CreatePipeline(ctx, p), perch.EConflict)
		got, err := s.UpdatePipeline(ctx, "income", func(p *perch.Pipeline) error {
			p.State = perch.PipelinePaused
			return nil
		})
		if err != nil || got.State != perch.PipelinePaused || got.Sinks[0].SQL.Table != "predictions" {
			t.Fatalf("%+v %v", got, err)
		}
		if l, _, err := s.ListPipelines(ctx, perch.Filter{Variable: "MLModelId", Op: perch.OpEQ, Value: "ml-1"}); err != nil || len(l) != 1 {
			t.Fatalf("%d pipelines of the model: %v", len(l), err)
		}
		for _, r := range []*perch.PipelineRun{
			{Meta: perch.Meta{ID: "r1"}, Pipeline: "income", Key: "a.csv", Version: "1"},
			{Meta: perch.Meta{ID: "r2"}, Pipeline: "income", Key: "b.csv", Version: "1"},
			{Meta: perch.Meta{ID: "r3"}, Pipeline: "other", Key: "a.csv", Version: "1"},
		} {
			if err := s.CreatePipelineRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, s.CreatePipelineRun(ctx, &perch.PipelineRun{Meta: perch.Meta{ID: "r1"}}), perch.EConflict)
		if _, err := s.UpdatePipelineRun(ctx, "r2", func(r *perch.PipelineRun) error {
			r.Rows, r.Status = 10, perch.StatusInProgress
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		runs, _, err := s.ListPipelineRuns(ctx, perch.Filter{Variable: "PipelineId", Op: perch.OpEQ, Value: "income"})
		if err != nil || len(runs) != 2 || runs[0].ID != "r1" || runs[1].Rows != 10 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		runs, _, err = s.ListPipelineRuns(ctx, perch.Filter{Variable: "Key", Op: perch.OpEQ, Value: "a.csv"})
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs of a.csv %+v %v", runs, err)
		}
		// Other kinds are untouched by the new column.
		if _, _, err := s.ListDataSources(ctx, perch.Filter{}); err != nil {
			t.Fatal(err)
		}
	})
}
