package pipeline

import (
	"context"
	"time"

	"github.com/perchml/perch"
)

// StreamWindow is how much of a stream one run counts. A stream has no
// objects to make runs of, so a stream pipeline's consumers count what
// they commit into one run a window, keyed
// stream:<source>@2026-11-26T13:40Z: the runs table grows by at most one
// row a pipeline a minute, and only while records flow.
const StreamWindow = time.Minute

// streamRuns counts a stream consumer's committed batches into the run
// of their window.
type streamRuns struct {
	e      *Engine
	p      *perch.Pipeline
	source string // the subject, topic or queue
	made   string // the run this consumer knows is stored
	now    func() time.Time
}

func (e *Engine) streamRuns(p *perch.Pipeline, source string) *streamRuns {
	return &streamRuns{e: e, p: p, source: source, now: time.Now}
}

// streamRunKey is the key of a stream's run for the window holding t.
func streamRunKey(source string, t time.Time) (key, window string) {
	window = t.UTC().Truncate(StreamWindow).Format("2006-01-02T15:04Z")
	return "stream:" + source + "@" + window, window
}

// add counts a batch that every sink has committed and the broker has
// been told of: its records predicted and its dead letters, with their
// first errors, and the time it took from read to commit. The batch is
// done whatever happens here, so a store that fails is only logged; the
// run is then short of the batch. Runs of a stream are COMPLETED from
// their first batch, so the watcher's sweep, which starts the runs of
// objects not done, leaves them alone.
func (s *streamRuns) add(ctx context.Context, predicted, dead int64, errs []string, took time.Duration) {
	if predicted+dead == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	now := s.now().UTC()
	key, window := streamRunKey(s.source, now)
	id := RunID(s.p.ID, key, window)
	if s.made != id {
		start, _ := time.Parse("2006-01-02T15:04Z", window)
		err := s.e.Store.CreatePipelineRun(ctx, &perch.PipelineRun{
			Meta:     perch.Meta{ID: id, Name: key, Status: perch.StatusCompleted},
			Pipeline: s.p.ID, Key: key, Version: window, Landed: start,
		})
		if err != nil && perch.Code(err) != perch.EConflict { // another consumer made it
			s.e.log().Warn("stream run", "pipeline", s.p.ID, "run", id, "err", err)
			return
		}
		s.made = id
	}
	_, err := s.e.Store.UpdatePipelineRun(ctx, id, func(r *perch.PipelineRun) error {
		if r.StartedAt == nil {
			r.StartedAt = &now
		}
		r.FinishedAt = &now
		r.Rows += predicted + dead
		r.Predicted += predicted
		r.DeadLetters += dead
		for _, m := range errs {
			if len(r.Errors) < maxErrors {
				r.Errors = append(r.Errors, m)
			}
		}
		r.DurationMS += took.Round(time.Millisecond).Milliseconds()
		return nil
	})
	if err != nil {
		s.e.log().Warn("stream run", "pipeline", s.p.ID, "run", id, "err", err)
	}
}
