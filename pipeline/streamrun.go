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
// of their window. Counts are stored once a second while records flow,
// and when the window changes, the stream goes quiet or the consumer
// stops, so a stream of small batches does not cost a store write each.
type streamRuns struct {
	e       *Engine
	p       *perch.Pipeline
	source  string // the subject, topic or queue
	made    string // the run this consumer knows is stored
	now     func() time.Time
	flushed time.Time // when counts were last stored
	pending runCounts // counted, not stored yet
}

// runCounts is what batches of one window add to its run.
type runCounts struct {
	window                string
	rows, predicted, dead int64
	errs                  []string
	took                  time.Duration
	first, last           time.Time // the batches' commits
}

// streamFlushEvery is how often a consumer's counts are stored while
// records flow.
const streamFlushEvery = time.Second

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
// first errors, and the time it took from read to commit. A batch a
// stopped consumer read is counted once, by the consumer that commits
// it; a message the broker delivered again because its ack deadline
// passed while it was being committed is counted each time.
func (s *streamRuns) add(ctx context.Context, predicted, dead int64, errs []string, took time.Duration) {
	if predicted+dead == 0 {
		return
	}
	now := s.now().UTC()
	_, window := streamRunKey(s.source, now)
	if s.pending.rows > 0 && s.pending.window != window {
		s.flush(ctx)
	}
	c := &s.pending
	if c.rows == 0 {
		*c = runCounts{window: window, first: now}
	}
	c.rows += predicted + dead
	c.predicted += predicted
	c.dead += dead
	for _, m := range errs {
		if len(c.errs) < maxErrors {
			c.errs = append(c.errs, m)
		}
	}
	c.took += took
	c.last = now
	if now.Sub(s.flushed) >= streamFlushEvery {
		s.flush(ctx)
	}
}

// flush stores the counts not stored yet. The batches are done whatever
// happens here, so a store that fails is only logged; the run is then
// short of them. Runs of a stream are COMPLETED from their first batch,
// so the watcher's sweep, which starts the runs of objects not done,
// leaves them alone.
func (s *streamRuns) flush(ctx context.Context) {
	c := s.pending
	if c.rows == 0 {
		return
	}
	s.pending = runCounts{}
	s.flushed = s.now()
	ctx = context.WithoutCancel(ctx)
	key := "stream:" + s.source + "@" + c.window
	id := RunID(s.p.ID, key, c.window)
	if s.made != id {
		start, _ := time.Parse("2006-01-02T15:04Z", c.window)
		err := s.e.Store.CreatePipelineRun(ctx, &perch.PipelineRun{
			Meta:     perch.Meta{ID: id, Name: key, Status: perch.StatusCompleted},
			Pipeline: s.p.ID, Key: key, Version: c.window, Landed: start,
		})
		if err != nil && perch.Code(err) != perch.EConflict { // another consumer made it
			s.e.log().Warn("stream run", "pipeline", s.p.ID, "run", id, "err", err)
			return
		}
		s.made = id
	}
	_, err := s.e.Store.UpdatePipelineRun(ctx, id, func(r *perch.PipelineRun) error {
		// Consumers store their counts in their own time.
		if r.StartedAt == nil || c.first.Before(*r.StartedAt) {
			r.StartedAt = &c.first
		}
		if r.FinishedAt == nil || c.last.After(*r.FinishedAt) {
			r.FinishedAt = &c.last
		}
		r.Rows += c.rows
		r.Predicted += c.predicted
		r.DeadLetters += c.dead
		for _, m := range c.errs {
			if len(r.Errors) < maxErrors {
				r.Errors = append(r.Errors, m)
			}
		}
		r.DurationMS += c.took.Round(time.Millisecond).Milliseconds()
		return nil
	})
	if err != nil {
		s.e.log().Warn("stream run", "pipeline", s.p.ID, "run", id, "err", err)
	}
}
