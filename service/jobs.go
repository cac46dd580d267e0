package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/perchml/perch"
)

// errSkip says a job has nothing to do: its entity moved on without it.
var errSkip = errors.New("skip")

// enqueue hands a job to the queue. A failure is logged, not returned: the
// entity is stored PENDING, and the next sweep enqueues it again.
func (s *Service) enqueue(ctx context.Context, j Job) {
	if s.queue == nil {
		return
	}
	// The entity is stored PENDING already, and the sweep enqueues any
	// PENDING entity without a job: a request neither waits long on the
	// queue nor, if its caller goes away, leaves the job out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	if err := s.queue.Enqueue(ctx, j); err != nil {
		s.log.Error("enqueue; the sweep will try again", "kind", j.Kind, "id", j.ID, "err", err)
	}
}

// enqueueTimeout bounds how long a request waits to queue its job.
const enqueueTimeout = 5 * time.Second

// msgWaiting is the message of an entity whose job waits on another.
const msgWaiting = "waiting for the entities it needs"

// Entity names the kind of entity a job of kind k works on, as people
// say it: "data source", "model", "evaluation", "batch prediction".
func (k JobKind) Entity() string { return k.noun() }

// Run does the work of a job; the queue calls it. The entity moves from
// PENDING to INPROGRESS and then to COMPLETED, or to FAILED with the reason
// as its message; Run returns nil then, as the failure is recorded. It
// returns ErrNotReady, with the entity PENDING again, when the job waits on
// another entity, and the context's error when the server is stopping, so
// the queue runs the job again later. A job whose entity is not PENDING at
// that attempt does nothing.
//
// The log has a line at Info when a job starts, when it finishes or fails
// (with the reason) and when it first waits or is interrupted, each naming
// the entity; the tries of a job that waits again are at Debug.
func (s *Service) Run(ctx context.Context, j Job) error {
	if j.Attempt == 0 {
		j.Attempt = 1
	}
	var waited bool // the entity's job had waited on another already
	if _, err := s.updateMeta(ctx, j.Kind, j.ID, func(m *perch.Meta) error {
		if m.Status != perch.StatusPending || max(m.Attempt, 1) != j.Attempt {
			return errSkip
		}
		waited = m.Message == msgWaiting
		t := nowUTC()
		m.Status, m.StartedAt, m.FinishedAt, m.Message = perch.StatusInProgress, &t, nil, ""
		return nil
	}); errors.Is(err, errSkip) || perch.Code(err) == perch.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	start := time.Now()
	quiet := slog.LevelInfo
	if waited {
		quiet = slog.LevelDebug
	}
	s.logJob(ctx, quiet, "job started", j, slog.Int("attempt", j.Attempt))
	// The heartbeat covers the whole job, reading the data included:
	// loading a large file can outlast the lease on its own.
	wctx, beat := s.heartbeat(ctx, j.Kind, j.ID)
	err := s.work(wctx, j)
	beat()
	observeJob(j.Kind, jobOutcome(ctx, err), time.Since(start))
	switch {
	case errors.Is(err, ErrNotReady), err != nil && ctx.Err() != nil:
		msg, level := msgWaiting, quiet
		if !errors.Is(err, ErrNotReady) {
			msg, level = "interrupted by a server stop; it will run again", slog.LevelInfo
			err = ctx.Err()
		}
		// The context may be done: the entity is put back regardless.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := s.updateMeta(bg, j.Kind, j.ID, func(m *perch.Meta) error {
			if !running(m, j) {
				return errSkip
			}
			m.Status, m.StartedAt, m.Message, m.Progress = perch.StatusPending, nil, msg, nil
			return nil
		}); uerr != nil && !errors.Is(uerr, errSkip) {
			return uerr
		}
		s.logJob(ctx, level, "job "+msg, j, slog.Duration("duration", time.Since(start).Round(time.Millisecond)))
		return err
	}
	took := time.Since(start)
	_, uerr := s.updateMeta(context.WithoutCancel(ctx), j.Kind, j.ID, func(m *perch.Meta) error {
		if !running(m, j) {
			return errSkip // deleted meanwhile, or started again by a sweep
		}
		t := nowUTC()
		m.FinishedAt, m.Progress = &t, nil
		m.ComputeMS = took.Milliseconds()
		if err != nil {
			m.Status, m.Message = perch.StatusFailed, errMessage(err)
		} else {
			m.Status = perch.StatusCompleted
			if j.Kind != JobBatch {
				m.Message = ""
			}
		}
		return nil
	})
	if uerr != nil && !errors.Is(uerr, errSkip) {
		return uerr
	}
	if err != nil {
		s.logJob(ctx, slog.LevelWarn, "job failed", j, slog.Duration("duration", took.Round(time.Millisecond)), slog.String("reason", errMessage(err)))
	} else {
		s.logJob(ctx, slog.LevelInfo, "job finished", j, slog.Duration("duration", took.Round(time.Millisecond)))
	}
	return nil
}

// logJob logs a line about job j, naming its entity.
func (s *Service) logJob(ctx context.Context, level slog.Level, msg string, j Job, more ...slog.Attr) {
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, msg, append([]slog.Attr{
		slog.String("job", string(j.Kind)), slog.String("entity", j.Kind.Entity()), slog.String("id", j.ID),
	}, more...)...)
}

// jobOutcome names how a job's run ended, for its metrics.
func jobOutcome(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return "completed"
	case errors.Is(err, ErrNotReady):
		return "waiting"
	case ctx.Err() != nil:
		return "interrupted"
	}
	return "failed"
}

// work runs a claimed job.
func (s *Service) work(ctx context.Context, j Job) error {
	switch j.Kind {
	case JobDataSource:
		d, err := s.store.GetDataSource(ctx, j.ID)
		if err != nil {
			return err
		}
		return s.runDataSource(ctx, d)
	case JobTrain:
		m, err := s.store.GetMLModel(ctx, j.ID)
		if err != nil {
			return err
		}
		return s.runTrain(ctx, m)
	case JobEvaluate:
		e, err := s.store.GetEvaluation(ctx, j.ID)
		if err != nil {
			return err
		}
		return s.runEvaluate(ctx, e)
	case JobBatch:
		b, err := s.store.GetBatchPrediction(ctx, j.ID)
		if err != nil {
			return err
		}
		return s.runBatch(ctx, b)
	}
	return fmt.Errorf("unknown job kind %q", j.Kind)
}

// updateMeta updates the common fields of the entity a job kind works on.
func (s *Service) updateMeta(ctx context.Context, kind JobKind, id string, fn func(*perch.Meta) error) (*perch.Meta, error) {
	switch kind {
	case JobDataSource:
		d, err := s.store.UpdateDataSource(ctx, id, func(d *perch.DataSource) error { return fn(&d.Meta) })
		if err != nil {
			return nil, err
		}
		return &d.Meta, nil
	case JobTrain:
		m, err := s.store.UpdateMLModel(ctx, id, func(m *perch.MLModel) error { return fn(&m.Meta) })
		if err != nil {
			return nil, err
		}
		s.models.changed(m)
		return &m.Meta, nil
	case JobEvaluate:
		e, err := s.store.UpdateEvaluation(ctx, id, func(e *perch.Evaluation) error { return fn(&e.Meta) })
		if err != nil {
			return nil, err
		}
		return &e.Meta, nil
	case JobBatch:
		b, err := s.store.UpdateBatchPrediction(ctx, id, func(b *perch.BatchPrediction) error { return fn(&b.Meta) })
		if err != nil {
			return nil, err
		}
		return &b.Meta, nil
	}
	return nil, fmt.Errorf("unknown job kind %q", kind)
}

// listMeta lists the common fields of one page of a job kind's entities.
func (s *Service) listMeta(ctx context.Context, kind JobKind, f perch.Filter) ([]*perch.Meta, string, error) {
	var out []*perch.Meta
	var next string
	var err error
	switch kind {
	case JobDataSource:
		var l []*perch.DataSource
		l, next, err = s.store.ListDataSources(ctx, f)
		for _, v := range l {
			out = append(out, &v.Meta)
		}
	case JobTrain:
		var l []*perch.MLModel
		l, next, err = s.store.ListMLModels(ctx, f)
		for _, v := range l {
			out = append(out, &v.Meta)
		}
	case JobEvaluate:
		var l []*perch.Evaluation
		l, next, err = s.store.ListEvaluations(ctx, f)
		for _, v := range l {
			out = append(out, &v.Meta)
		}
	case JobBatch:
		var l []*perch.BatchPrediction
		l, next, err = s.store.ListBatchPredictions(ctx, f)
		for _, v := range l {
			out = append(out, &v.Meta)
		}
	}
	return out, next, err
}

// running reports whether m is INPROGRESS at j's attempt: a run whose
// entity a sweep has started again leaves it to the newer attempt.
func running(m *perch.Meta, j Job) bool {
	return m.Status == perch.StatusInProgress && max(m.Attempt, 1) == j.Attempt
}

// touch shows that the job of an INPROGRESS entity is alive.
func (s *Service) touch(ctx context.Context, kind JobKind, id string) error {
	_, err := s.updateMeta(ctx, kind, id, func(m *perch.Meta) error {
		if m.Status != perch.StatusInProgress {
			return errSkip
		}
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}

var jobKinds = []JobKind{JobDataSource, JobTrain, JobEvaluate, JobBatch}

// Sweep finds the jobs that were lost and starts them again. An INPROGRESS
// entity whose job has not shown it is alive for the lease (its server
// stopped) goes back to PENDING at its next attempt, or FAILED once it has
// been started MaxAttempts times; every PENDING entity is enqueued, which
// does nothing for those whose job is waiting already.
//
// With all set, every INPROGRESS entity counts as abandoned: the caller
// knows that no other server runs jobs on this store (a SQLite file the
// caller holds locked). The temporary files of writes to the object store
// that a crash cut short are then removed too.
func (s *Service) Sweep(ctx context.Context, all bool) error {
	stale := time.Now().Add(-s.lease)
	if all {
		if n, err := s.objects.RemoveTemp(ctx, 0); err != nil {
			return err
		} else if n > 0 {
			s.log.Info("removed the temporary files of writes a stop cut short", "files", n)
		}
	}
	for _, kind := range jobKinds {
		for _, st := range []perch.Status{perch.StatusInProgress, perch.StatusPending} {
			f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(st), Limit: perch.MaxPageLimit}
			for {
				page, next, err := s.listMeta(ctx, kind, f)
				if err != nil {
					return err
				}
				for _, m := range page {
					if st == perch.StatusInProgress && !all && m.UpdatedAt.After(stale) {
						continue
					}
					if err := s.recover(ctx, kind, m, all, stale); err != nil {
						return err
					}
				}
				if next == "" {
					break
				}
				f.PageToken = next
			}
		}
	}
	return nil
}

// recover starts the job of one entity again, if it still needs it.
func (s *Service) recover(ctx context.Context, kind JobKind, m *perch.Meta, all bool, stale time.Time) error {
	if m.Status == perch.StatusInProgress {
		var err error
		m, err = s.updateMeta(ctx, kind, m.ID, func(m *perch.Meta) error {
			if m.Status != perch.StatusInProgress || (!all && m.UpdatedAt.After(stale)) {
				return errSkip
			}
			m.Attempt = max(m.Attempt, 1)
			if m.Attempt >= s.tries {
				t := nowUTC()
				m.Status, m.FinishedAt = perch.StatusFailed, &t
				m.Message = fmt.Sprintf("the server running this stopped during each of %d attempts; giving up", m.Attempt)
				return nil
			}
			m.Attempt++
			m.Status, m.StartedAt = perch.StatusPending, nil
			m.Message = "started again: the server running it stopped"
			return nil
		})
		if errors.Is(err, errSkip) || perch.Code(err) == perch.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		s.log.Warn("abandoned job", "kind", kind, "id", m.ID, "status", m.Status, "attempt", m.Attempt)
	}
	if m.Status == perch.StatusPending {
		if err := s.queue.Enqueue(ctx, Job{Kind: kind, ID: m.ID, Attempt: max(m.Attempt, 1)}); err != nil {
			return err
		}
	}
	return nil
}
