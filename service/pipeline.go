package service

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/perchml/perch"
	"github.com/perchml/perch/pipeline"
)

const pipelinePrefix = "pl-"

// PipelineInput defines a pipeline, with the names of its YAML or JSON
// definition.
type PipelineInput struct {
	ID         string               `json:"id,omitempty"`
	Name       string               `json:"name"`
	Model      string               `json:"model"`
	Source     perch.PipelineSource `json:"source"`
	Sinks      []perch.PipelineSink `json:"sinks"`
	DeadLetter string               `json:"dead_letter"`
	Tags       map[string]string    `json:"tags,omitempty"`
}

// pipelineQueue is the part of a Queue that runs pipelines; jobs.Queue
// has it.
type pipelineQueue interface {
	EnqueuePipelineRun(ctx context.Context, runID string, attempt int) error
}

// pipelines returns the engine that runs pipelines on the service's store
// and models.
func (s *Service) pipelines() *pipeline.Engine {
	return &pipeline.Engine{Store: s.store, Predictor: s.Predictor, Logger: s.log, Lease: s.lease}
}

// CheckPipeline validates a pipeline's definition, its model included,
// and returns the pipeline it would create.
func (s *Service) CheckPipeline(ctx context.Context, in PipelineInput) (*perch.Pipeline, error) {
	id := in.ID
	if id == "" {
		id = "*"
	}
	if err := s.authorize(ctx, "perch:CreatePipeline", perch.Resource(perch.KindPipeline, id), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	if err := checkName("pipeline", in.Name); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	p := &perch.Pipeline{
		Meta:  perch.Meta{ID: in.ID, Name: in.Name, Status: perch.StatusCompleted, Tags: cloneTags(in.Tags)},
		Model: in.Model, Source: in.Source, Sinks: in.Sinks, DeadLetter: in.DeadLetter,
		State: perch.PipelineRunning,
	}
	if p.ID == "" {
		p.ID = newID(pipelinePrefix)
	}
	if err := pipeline.Check(p); err != nil {
		return nil, err
	}
	m, err := s.store.GetMLModel(ctx, in.Model)
	if perch.Code(err) == perch.ENotFound {
		return nil, perch.Errorf(perch.EInvalid, "model %s not found", perch.Clip(in.Model))
	}
	if err != nil {
		return nil, err
	}
	if m.Status == perch.StatusDeleted || m.Status == perch.StatusFailed {
		return nil, perch.Errorf(perch.EInvalid, "model %s is %s", m.ID, m.Status)
	}
	return p, nil
}

// CreatePipeline stores a pipeline RUNNING: its source is watched from
// then on, objects already there included.
func (s *Service) CreatePipeline(ctx context.Context, in PipelineInput) (*perch.Pipeline, error) {
	p, err := s.CheckPipeline(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreatePipeline(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// GetPipeline returns a pipeline.
func (s *Service) GetPipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	if err := s.authorize(ctx, "perch:GetPipeline", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.GetPipeline(ctx, id)
}

// ListPipelines returns one page of pipelines.
func (s *Service) ListPipelines(ctx context.Context, f perch.Filter) ([]*perch.Pipeline, string, error) {
	if err := s.authorize(ctx, "perch:ListPipelines", "*", nil); err != nil {
		return nil, "", err
	}
	items, next, err := s.store.ListPipelines(ctx, f)
	return filterList(s, ctx, items, "perch:GetPipeline", perch.KindPipeline, func(v *perch.Pipeline) *perch.Meta { return &v.Meta }), next, err
}

// PausePipeline stops a pipeline from starting runs; objects that land
// meanwhile are taken when it resumes.
func (s *Service) PausePipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	if err := s.authorize(ctx, "perch:UpdatePipeline", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.setPipelineState(ctx, id, perch.PipelinePaused)
}

// ResumePipeline makes a paused pipeline RUNNING again.
func (s *Service) ResumePipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	if err := s.authorize(ctx, "perch:UpdatePipeline", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.setPipelineState(ctx, id, perch.PipelineRunning)
}

func (s *Service) setPipelineState(ctx context.Context, id string, st perch.PipelineState) (*perch.Pipeline, error) {
	return s.store.UpdatePipeline(ctx, id, func(p *perch.Pipeline) error {
		if p.Status == perch.StatusDeleted {
			return deleted("pipeline", id)
		}
		p.State = st
		return nil
	})
}

// DeletePipeline stops a pipeline for good; it stays readable, with its
// runs.
func (s *Service) DeletePipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	if err := s.authorize(ctx, "perch:DeletePipeline", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.UpdatePipeline(ctx, id, func(p *perch.Pipeline) error {
		p.Status, p.State = perch.StatusDeleted, perch.PipelineDeleted
		return nil
	})
}

// ListPipelineRuns returns one page of a pipeline's runs. f's variable is
// ignored: runs are listed by pipeline.
func (s *Service) ListPipelineRuns(ctx context.Context, id string, f perch.Filter) ([]*perch.PipelineRun, string, error) {
	if err := s.authorize(ctx, "perch:GetPipeline", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetPipeline(ctx, id); err != nil {
		return nil, "", err
	}
	f.Variable, f.Op, f.Value = "PipelineId", perch.OpEQ, id
	return s.store.ListPipelineRuns(ctx, f)
}

// GetPipelineRun returns one run.
func (s *Service) GetPipelineRun(ctx context.Context, id string) (*perch.PipelineRun, error) {
	return s.store.GetPipelineRun(ctx, id)
}

// RunPipeline takes a pipeline run through; the queue calls it, at most
// one worker at a time per run. A failure is returned, so the queue tries
// again with backoff, until the last attempt: the run is then quarantined
// (FAILED, with the reason) and the pipeline goes on with other objects.
// A paused pipeline's run waits (ErrNotReady).
func (s *Service) RunPipeline(ctx context.Context, runID string, runAttempt, attempt, maxAttempts int) error {
	e := s.pipelines()
	err := e.Run(ctx, runID, runAttempt)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pipeline.ErrPaused):
		return ErrNotReady
	case ctx.Err() != nil:
		return err
	case attempt >= maxAttempts && maxAttempts > 0:
		s.log.Warn("pipeline run quarantined", "run", runID, "attempts", attempt, "err", err)
		return e.Fail(ctx, runID, fmt.Errorf("quarantined after %d attempts: %w", attempt, err))
	}
	s.log.Info("pipeline run failed; it will be tried again", "run", runID, "attempt", attempt, "err", err)
	return err
}

// WatchPipelines watches the sources of every active pipeline and starts
// a run for each new object version, and consumes the streams of stream
// pipelines, until ctx is done; it returns once its consumers have
// stopped. The server runs it beside its queue, which must run pipeline
// runs (jobs.Queue does).
func (s *Service) WatchPipelines(ctx context.Context) {
	q, ok := s.queue.(pipelineQueue)
	if !ok {
		s.log.Error("pipelines: the queue does not run pipeline runs; pipelines are not watched")
		return
	}
	w := &pipeline.Watcher{Engine: s.pipelines(), Enqueue: q.EnqueuePipelineRun}
	w.Run(ctx)
}

// TestPipeline runs a pipeline on r, read as the object key would be,
// and returns what its sinks would get, writing nothing.
func (s *Service) TestPipeline(ctx context.Context, id, key string, r io.Reader) (*pipeline.Preview, error) {
	if err := s.authorize(ctx, "perch:TestPipeline", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	p, err := s.store.GetPipeline(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status == perch.StatusDeleted {
		return nil, deleted("pipeline", id)
	}
	if key == "" {
		key = "test.csv"
	}
	return s.pipelines().Preview(ctx, p, key, r)
}

// PipelineEvent takes the objects an S3 event notification (AWS or MinIO
// JSON) says were created in a pipeline's source, without waiting for the
// next listing; it returns the keys taken. An object already taken, by an
// earlier event or a listing, is not taken twice.
func (s *Service) PipelineEvent(ctx context.Context, id string, body []byte) ([]string, error) {
	if err := s.authorize(ctx, "perch:SendEvents", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	p, err := s.store.GetPipeline(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status == perch.StatusDeleted {
		return nil, deleted("pipeline", id)
	}
	objs, err := pipeline.ParseS3Event(body)
	if err != nil {
		return nil, err
	}
	enqueue := func(ctx context.Context, runID string, attempt int) error {
		q, ok := s.queue.(pipelineQueue)
		if !ok {
			return perch.Errorf(perch.EInternal, "this server's queue does not run pipelines")
		}
		return q.EnqueuePipelineRun(ctx, runID, attempt)
	}
	e := s.pipelines()
	taken := []string{}
	for _, o := range objs {
		ok, err := e.Notify(ctx, p, o, enqueue)
		if err != nil {
			return taken, err
		}
		if ok {
			taken = append(taken, o.Key)
		}
	}
	return taken, nil
}

// ReplayPipeline reads a pipeline's dead letters again, after a fix: the
// records that now read reach the sinks under their own rows; the rest
// stay dead letters.
func (s *Service) ReplayPipeline(ctx context.Context, id string) (*pipeline.ReplayResult, error) {
	if err := s.authorize(ctx, "perch:ReplayDeadLetters", perch.Resource(perch.KindPipeline, id), pipelineTags(s, ctx, id)); err != nil {
		return nil, err
	}
	p, err := s.store.GetPipeline(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status == perch.StatusDeleted {
		return nil, deleted("pipeline", id)
	}
	return s.pipelines().Replay(ctx, p)
}
