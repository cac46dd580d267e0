// Package jobs runs the service's jobs durably on River, in the database
// perch keeps its metadata in: SQLite on one machine, PostgreSQL when
// several servers share the work. A job enqueued is a row in that
// database, so it outlives the process that enqueued it.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/perchml/perch/service"
)

// Runner does the work of a job; *service.Service is one.
type Runner interface {
	Run(ctx context.Context, j service.Job) error
}

// PipelineRunner takes pipeline runs through; *service.Service is one.
// runAttempt is the run's attempt the job belongs to (it moves on when a
// run is found abandoned by a stopped server); try counts the job's tries
// from 1, and after the last one's failure the runner gives up on the run
// (it quarantines it) rather than returning an error.
type PipelineRunner interface {
	RunPipeline(ctx context.Context, runID string, runAttempt, try, maxTries int) error
}

// Options tune a Queue.
type Options struct {
	// Workers is how many jobs run at once on this server; 0 means the
	// number of CPUs, at least 2.
	Workers int
	// PollInterval is how often the queue looks for new jobs; 0 means
	// 200ms. (Jobs enqueued by this server start at once.)
	PollInterval time.Duration
	// WaitInterval is how long a job waiting on another entity sleeps
	// before it looks again; 0 means 500ms.
	WaitInterval time.Duration
	// Logger receives River's own log, a level down: its Info and Warn
	// lines at Debug and its errors at Warn. nil discards.
	Logger *slog.Logger
	// PipelineWorkers is how many pipeline runs are worked at once on
	// this server, beside the other jobs; 0 means 2.
	PipelineWorkers int
}

// pipelineQueue is River's queue for pipeline runs, so that they do not
// wait behind long training jobs.
const pipelineQueue = "pipelines"

// pipelineAttempts is how many times a pipeline run is tried before it is
// quarantined.
const pipelineAttempts = 8

// pipelineArgs is a pipeline run's job: one per (pipeline, key, version),
// named by the run's id.
type pipelineArgs struct {
	RunID   string `json:"runId"`
	Attempt int    `json:"attempt"`
}

func (pipelineArgs) Kind() string { return "perch-pipeline" }

// InsertOpts makes a run's job unique while it waits or runs, so only one
// worker at a time has it.
func (pipelineArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: pipelineQueue, MaxAttempts: pipelineAttempts, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		},
	}}
}

type pipelineWorker struct {
	river.WorkerDefaults[pipelineArgs]
	run     PipelineRunner
	wait    time.Duration
	running *running
}

func (w *pipelineWorker) Work(ctx context.Context, job *river.Job[pipelineArgs]) error {
	defer w.running.add(job.ID, Running{PipelineRun: job.Args.RunID})()
	err := w.run.RunPipeline(ctx, job.Args.RunID, job.Args.Attempt, job.Attempt, job.MaxAttempts)
	if errors.Is(err, service.ErrNotReady) {
		return river.JobSnooze(w.wait)
	}
	return err
}

// NextRetry backs off exponentially from one second, with jitter, up to
// five minutes.
func (w *pipelineWorker) NextRetry(job *river.Job[pipelineArgs]) time.Time {
	d := time.Second << min(job.Attempt-1, 9)
	d = min(d, 5*time.Minute)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	return time.Now().Add(d)
}

// args is a job as River stores it.
type args struct {
	service.Job
}

func (args) Kind() string { return "perch" }

// InsertOpts makes equal jobs unique while one is waiting or running, so
// that enqueueing a job again (as the service's sweep does) adds nothing.
// Completed jobs are left out: an entity PENDING again needs a new run.
func (args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		},
	}}
}

type worker struct {
	river.WorkerDefaults[args]
	run     Runner
	wait    time.Duration
	running *running
}

func (w *worker) Work(ctx context.Context, job *river.Job[args]) error {
	defer w.running.add(job.ID, Running{Job: job.Args.Job})()
	err := w.run.Run(ctx, job.Args.Job)
	if errors.Is(err, service.ErrNotReady) {
		return river.JobSnooze(w.wait)
	}
	return err
}

// Running is a job a worker of this server has in hand: an entity's job,
// or a pipeline run's.
type Running struct {
	Job         service.Job // zero for a pipeline run
	PipelineRun string      // the run's id, for a pipeline run
}

// running is the set of jobs the workers have in hand, by River's job id,
// so that a stopping server can say what it waits for.
type running struct {
	mu   sync.Mutex
	jobs map[int64]Running
}

// add counts a job in until the returned function is called.
func (r *running) add(id int64, j Running) func() {
	r.mu.Lock()
	r.jobs[id] = j
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.jobs, id)
		r.mu.Unlock()
	}
}

// Queue is a service.Queue on River.
type Queue struct {
	client  *river.Client[*sql.Tx]
	db      *sql.DB
	dialect string
	running *running
}

// Running lists the jobs this server's workers have in hand, oldest
// first (by River's job id).
func (q *Queue) Running() []Running {
	q.running.mu.Lock()
	defer q.running.mu.Unlock()
	ids := make([]int64, 0, len(q.running.jobs))
	for id := range q.running.jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Running, len(ids))
	for i, id := range ids {
		out[i] = q.running.jobs[id]
	}
	return out
}

// Open brings River's tables in db up to date and returns a queue that
// hands jobs to run once started. dialect is "sqlite" or "postgres".
//
// On SQLite, db should allow one connection: River's polling and
// completions then queue in Go instead of waiting on SQLite's file lock.
func Open(ctx context.Context, db *sql.DB, dialect string, run Runner, opt Options) (*Queue, error) {
	if opt.Workers <= 0 {
		opt.Workers = max(runtime.NumCPU(), 2)
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 200 * time.Millisecond
	}
	if opt.WaitInterval <= 0 {
		opt.WaitInterval = 500 * time.Millisecond
	}
	logger := slog.New(slog.DiscardHandler)
	if opt.Logger != nil {
		logger = slog.New(quieter{opt.Logger.Handler().WithAttrs([]slog.Attr{slog.String("component", "river")})})
	}
	inHand := &running{jobs: map[int64]Running{}}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{run: run, wait: opt.WaitInterval, running: inHand}); err != nil {
		return nil, err
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opt.Workers}}
	if pr, ok := run.(PipelineRunner); ok {
		if opt.PipelineWorkers <= 0 {
			opt.PipelineWorkers = 2
		}
		if err := river.AddWorkerSafely(workers, &pipelineWorker{run: pr, wait: max(opt.WaitInterval, 2*time.Second), running: inHand}); err != nil {
			return nil, err
		}
		queues[pipelineQueue] = river.QueueConfig{MaxWorkers: opt.PipelineWorkers}
	}
	cfg := &river.Config{
		Queues:            queues,
		Workers:           workers,
		JobTimeout:        -1, // training has no natural bound; leases catch dead servers
		FetchPollInterval: opt.PollInterval,
		FetchCooldown:     min(opt.PollInterval, 50*time.Millisecond),
		Logger:            logger,
		PollOnly:          true, // database/sql offers no LISTEN; polling is cheap here
	}
	var client *river.Client[*sql.Tx]
	var err error
	switch dialect {
	case "sqlite":
		drv := riversqlite.New(db)
		if err := migrate[*sql.Tx](ctx, drv); err != nil {
			return nil, err
		}
		client, err = river.NewClient(drv, cfg)
	case "postgres":
		drv := riverdatabasesql.New(db)
		if err := migrate[*sql.Tx](ctx, drv); err != nil {
			return nil, err
		}
		client, err = river.NewClient(drv, cfg)
	default:
		return nil, fmt.Errorf("jobs: unknown database dialect %q", dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{client: client, db: db, dialect: dialect, running: inHand}, nil
}

func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrating the job tables: %w", err)
	}
	return nil
}

// Enqueue implements service.Queue.
func (q *Queue) Enqueue(ctx context.Context, j service.Job) error {
	if _, err := q.client.Insert(ctx, args{j}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue %s %s: %w", j.Kind, j.ID, err)
	}
	return nil
}

// EnqueuePipelineRun queues the job of a pipeline run at one of its
// attempts; the service calls it. A job that waits or runs already is
// left alone.
func (q *Queue) EnqueuePipelineRun(ctx context.Context, runID string, attempt int) error {
	if _, err := q.client.Insert(ctx, pipelineArgs{RunID: runID, Attempt: attempt}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue pipeline run %s: %w", runID, err)
	}
	return nil
}

// ReleaseRunning makes the jobs a stopped server was running available
// again. Only for a database no other server works on (a SQLite file
// whose lock the caller holds): there, every running job is an orphan.
// On PostgreSQL River's rescuer does this, after an hour; the service's
// leases restart the entities long before.
func (q *Queue) ReleaseRunning(ctx context.Context) (int64, error) {
	if q.dialect != "sqlite" {
		return 0, nil
	}
	res, err := q.db.ExecContext(ctx, "UPDATE river_job SET state = 'available' WHERE state = 'running'")
	if err != nil {
		return 0, fmt.Errorf("jobs: releasing orphaned jobs: %w", err)
	}
	return res.RowsAffected()
}

// Start starts working jobs; they run until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop stops fetching jobs and waits for running ones until ctx is done,
// then cancels them (the service puts their entities back to PENDING).
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return q.client.StopAndCancel(cctx)
	}
	return err
}

// quieter passes River's log on a level down, so that the server's log at
// Info says what perch does rather than how River polls and elects: Info
// and Warn become Debug, Error becomes Warn (a job's error is retried, and
// the service logs what it means).
type quieter struct{ h slog.Handler }

func quieten(l slog.Level) slog.Level {
	if l >= slog.LevelError {
		return slog.LevelWarn
	}
	return min(l, slog.LevelDebug)
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.h.Enabled(ctx, quieten(l))
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = quieten(r.Level)
	return q.h.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.h.WithAttrs(as)} }
func (q quieter) WithGroup(name string) slog.Handler    { return quieter{q.h.WithGroup(name)} }
