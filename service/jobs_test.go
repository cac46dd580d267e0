package service_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// hookStore lets a test step into a job: get runs after every
// GetDataSource and GetMLModel of an id with a hook, with the entity read,
// and its error is returned instead.
type hookStore struct {
	perch.Store
	mu    sync.Mutex
	hooks map[string]func(ctx context.Context) error
}

func (s *hookStore) set(id string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		s.hooks = map[string]func(ctx context.Context) error{}
	}
	if fn == nil {
		delete(s.hooks, id)
	} else {
		s.hooks[id] = fn
	}
}

func (s *hookStore) hook(ctx context.Context, id string) error {
	s.mu.Lock()
	fn := s.hooks[id]
	s.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(ctx)
}

func (s *hookStore) GetDataSource(ctx context.Context, id string) (*perch.DataSource, error) {
	d, err := s.Store.GetDataSource(ctx, id)
	if err == nil {
		err = s.hook(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *hookStore) GetMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	m, err := s.Store.GetMLModel(ctx, id)
	if err == nil {
		err = s.hook(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// jobsEnv is a Service whose jobs the test runs itself, with a lease of
// 200 ms.
type jobsEnv struct {
	*env
	hooks *hookStore
}

func newJobsEnv(t *testing.T, dsn string) *jobsEnv {
	return newJobsEnvConfig(t, dsn, service.Config{})
}

// newJobsEnvConfig is newJobsEnv with more of the Service's configuration.
func newJobsEnvConfig(t *testing.T, dsn string, cfg service.Config) *jobsEnv {
	hs := &hookStore{}
	cfg.Lease = 200 * time.Millisecond
	e := newEnv(t, dsn, envOptions{
		manual: true,
		config: cfg,
		wrap:   func(s perch.Store) perch.Store { hs.Store = s; return hs },
	})
	e.write(t, "small.csv", head(example(t, "adult/train.csv"), 2000))
	return &jobsEnv{env: e, hooks: hs}
}

// dataSource creates a data source of small.csv and returns it with its
// job.
func (e *jobsEnv) dataSource(t *testing.T) (*perch.DataSource, service.Job) {
	t.Helper()
	d, err := e.svc.CreateDataSource(context.Background(), service.DataSourceInput{DataURL: "small.csv", TargetAttributeName: "income"})
	ok(t, err)
	j := service.Job{Kind: service.JobDataSource, ID: d.ID, Attempt: 1}
	if jobs := e.manual.take(); !hasJob(jobs, j) {
		t.Fatalf("enqueued %v, want %v", jobs, j)
	}
	return d, j
}

func (e *jobsEnv) getDS(t *testing.T, id string) *perch.DataSource {
	t.Helper()
	d, err := e.hooks.Store.GetDataSource(context.Background(), id) // past the hooks
	ok(t, err)
	return d
}

// setStatus moves an entity as a job's claim would, without running it.
func (e *jobsEnv) setStatus(t *testing.T, id string, st perch.Status) {
	t.Helper()
	_, err := e.store.UpdateDataSource(context.Background(), id, func(d *perch.DataSource) error {
		d.Status = st
		return nil
	})
	ok(t, err)
}

func TestJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		e := newJobsEnv(t, dsn)
		t.Run("Lifecycle", e.testLifecycle)
		t.Run("Cancel", e.testCancel)
		t.Run("SweepAll", e.testSweepAll)
		t.Run("SweepLease", e.testSweepLease)
		t.Run("Heartbeat", e.testHeartbeat)
		t.Run("StaleRun", e.testStaleRun)
		t.Run("DeletedWhileRunning", e.testDeletedWhileRunning)
	})
}

// testLifecycle runs the jobs of a data source and a model step by step.
func (e *jobsEnv) testLifecycle(t *testing.T) {
	ctx := context.Background()
	d, dj := e.dataSource(t)
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	mj := service.Job{Kind: service.JobTrain, ID: m.ID, Attempt: 1}
	if jobs := e.manual.take(); !hasJob(jobs, mj) {
		t.Fatalf("enqueued %v, want %v", jobs, mj)
	}
	_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
	wantCode(t, err, perch.EConflict)

	// The model waits for its data source, and is PENDING meanwhile.
	if err := e.svc.Run(ctx, mj); !errors.Is(err, service.ErrNotReady) {
		t.Fatalf("Run(model) before its data: %v, want ErrNotReady", err)
	}
	m, err = e.svc.GetMLModel(ctx, m.ID)
	ok(t, err)
	wantStatus(t, &m.Meta, perch.StatusPending)
	if m.StartedAt != nil || m.Attempt != 1 {
		t.Errorf("waiting model: startedAt %v, attempt %d", m.StartedAt, m.Attempt)
	}
	wantMessage(t, m.Message, "waiting")

	// A job of another attempt does nothing.
	ok(t, e.svc.Run(ctx, service.Job{Kind: service.JobDataSource, ID: d.ID, Attempt: 2}))
	wantStatus(t, &e.getDS(t, d.ID).Meta, perch.StatusPending)
	// Neither does one for an entity that is not there.
	ok(t, e.svc.Run(ctx, service.Job{Kind: service.JobDataSource, ID: "ds-missing", Attempt: 1}))

	ok(t, e.svc.Run(ctx, dj))
	done := e.getDS(t, d.ID)
	wantStatus(t, &done.Meta, perch.StatusCompleted)
	wantRun(t, &done.Meta)
	// Running a finished job again changes nothing.
	ok(t, e.svc.Run(ctx, dj))
	if again := e.getDS(t, d.ID); !again.UpdatedAt.Equal(done.UpdatedAt) || again.Status != perch.StatusCompleted {
		t.Errorf("a second run changed the data source: %v %s, was %v", again.UpdatedAt, again.Status, done.UpdatedAt)
	}

	ok(t, e.svc.Run(ctx, mj))
	m, err = e.svc.GetMLModel(ctx, m.ID)
	ok(t, err)
	wantStatus(t, &m.Meta, perch.StatusCompleted)
	wantRun(t, &m.Meta)
	if m.Message != "" || m.ArtifactURL == "" {
		t.Errorf("trained model: message %q, artifact %q", m.Message, m.ArtifactURL)
	}
	_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
	ok(t, err)

	// An evaluation waits for its model in the same way.
	m2, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	ev, err := e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m2.ID, DataSourceID: d.ID})
	ok(t, err)
	ej := service.Job{Kind: service.JobEvaluate, ID: ev.ID, Attempt: 1}
	if err := e.svc.Run(ctx, ej); !errors.Is(err, service.ErrNotReady) {
		t.Fatalf("Run(evaluation) before its model: %v, want ErrNotReady", err)
	}
	ok(t, e.svc.Run(ctx, service.Job{Kind: service.JobTrain, ID: m2.ID, Attempt: 1}))
	ok(t, e.svc.Run(ctx, ej))
	ev, err = e.svc.GetEvaluation(ctx, ev.ID)
	ok(t, err)
	wantStatus(t, &ev.Meta, perch.StatusCompleted)
	if ev.PerformanceMetrics["BinaryAUC"] == "" {
		t.Errorf("metrics %v", ev.PerformanceMetrics)
	}
	e.manual.take()
}

// testCancel stops a job midway, as a server stopping does.
func (e *jobsEnv) testCancel(t *testing.T) {
	d, j := e.dataSource(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.hooks.set(d.ID, func(ctx context.Context) error {
		cancel()
		return ctx.Err()
	})
	err := e.svc.Run(ctx, j)
	e.hooks.set(d.ID, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with its context cancelled: %v, want context.Canceled", err)
	}
	got := e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusPending)
	if got.Attempt != 1 || got.StartedAt != nil {
		t.Errorf("interrupted: attempt %d, startedAt %v; want 1, nil", got.Attempt, got.StartedAt)
	}
	ok(t, e.svc.Run(context.Background(), j))
	wantStatus(t, &e.getDS(t, d.ID).Meta, perch.StatusCompleted)

	// Cancelled before it starts: nothing is claimed.
	d, j = e.dataSource(t)
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := e.svc.Run(ctx, j); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v, want context.Canceled", err)
	}
	wantStatus(t, &e.getDS(t, d.ID).Meta, perch.StatusPending)
}

// testSweepAll restarts every INPROGRESS job, as a single server does when
// it starts, until the entity has used its attempts.
func (e *jobsEnv) testSweepAll(t *testing.T) {
	ctx := context.Background()
	d, j := e.dataSource(t)
	for attempt := 2; attempt <= 3; attempt++ {
		e.setStatus(t, d.ID, perch.StatusInProgress)
		ok(t, e.svc.Sweep(ctx, true))
		got := e.getDS(t, d.ID)
		wantStatus(t, &got.Meta, perch.StatusPending)
		if got.Attempt != attempt || got.StartedAt != nil {
			t.Fatalf("after a sweep: attempt %d, startedAt %v; want %d, nil", got.Attempt, got.StartedAt, attempt)
		}
		wantMessage(t, got.Message, "started again")
		j.Attempt = attempt
		if jobs := e.manual.take(); !hasJob(jobs, j) {
			t.Fatalf("enqueued %v, want %v", jobs, j)
		}
		// The job of the attempt before does nothing now.
		ok(t, e.svc.Run(ctx, service.Job{Kind: j.Kind, ID: j.ID, Attempt: attempt - 1}))
		wantStatus(t, &e.getDS(t, d.ID).Meta, perch.StatusPending)
	}
	// The third start was the last (MaxAttempts 3).
	e.setStatus(t, d.ID, perch.StatusInProgress)
	ok(t, e.svc.Sweep(ctx, true))
	got := e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusFailed)
	if got.FinishedAt == nil {
		t.Error("failed without finishedAt")
	}
	wantMessage(t, got.Message, "3 attempts")
	for _, x := range e.manual.take() {
		if x.ID == d.ID {
			t.Errorf("a FAILED entity's job was enqueued: %+v", x)
		}
	}
	// The job of the last attempt does nothing either.
	ok(t, e.svc.Run(ctx, j))
	wantStatus(t, &e.getDS(t, d.ID).Meta, perch.StatusFailed)
}

// testSweepLease restarts only the jobs that have not shown they are alive
// for the lease, and enqueues every PENDING one.
func (e *jobsEnv) testSweepLease(t *testing.T) {
	ctx := context.Background()
	d, j := e.dataSource(t)
	ok(t, e.svc.Sweep(ctx, false))
	if jobs := e.manual.take(); !hasJob(jobs, j) {
		t.Fatalf("a sweep enqueued %v, want the PENDING %v", jobs, j)
	}

	e.setStatus(t, d.ID, perch.StatusInProgress)
	ok(t, e.svc.Sweep(ctx, false))
	got := e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusInProgress)
	if got.Attempt != 1 {
		t.Fatalf("a fresh job was restarted: attempt %d", got.Attempt)
	}
	for _, x := range e.manual.take() {
		if x.ID == d.ID {
			t.Errorf("a running job was enqueued: %+v", x)
		}
	}

	time.Sleep(300 * time.Millisecond)
	ok(t, e.svc.Sweep(ctx, false))
	got = e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusPending)
	if got.Attempt != 2 {
		t.Fatalf("a stale job: attempt %d, want 2", got.Attempt)
	}
	j.Attempt = 2
	if jobs := e.manual.take(); !hasJob(jobs, j) {
		t.Fatalf("enqueued %v, want %v", jobs, j)
	}
	ok(t, e.svc.Run(ctx, j))
	got = e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusCompleted)
	if got.Message != "" {
		t.Errorf("completed with message %q", got.Message)
	}
}

// testHeartbeat checks that a job busy for longer than the lease is not
// taken for abandoned while it runs.
func (e *jobsEnv) testHeartbeat(t *testing.T) {
	ctx := context.Background()
	d, j := e.dataSource(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	e.hooks.set(d.ID, func(ctx context.Context) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return nil
	})
	defer e.hooks.set(d.ID, nil)
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Run(ctx, j) }()
	<-entered
	time.Sleep(500 * time.Millisecond) // more than twice the lease
	ok(t, e.svc.Sweep(ctx, false))
	got := e.getDS(t, d.ID)
	close(release)
	ok(t, <-errc)
	if got.Status != perch.StatusInProgress || got.Attempt != 1 {
		t.Errorf("a running job was taken for abandoned: %s, attempt %d", got.Status, got.Attempt)
	}
	got = e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusCompleted)
	e.manual.take()
}

// testStaleRun has a job found abandoned and started again finish after
// all: the run of the old attempt must leave the entity to the new one.
func (e *jobsEnv) testStaleRun(t *testing.T) {
	ctx := context.Background()
	d, j1 := e.dataSource(t)
	type gate struct{ entered, release chan struct{} }
	gates := make(chan gate, 2)
	e.hooks.set(d.ID, func(ctx context.Context) error {
		g := gate{make(chan struct{}), make(chan struct{})}
		gates <- g
		close(g.entered)
		<-g.release
		return errors.New("connection reset")
	})
	defer e.hooks.set(d.ID, nil)

	err1 := make(chan error, 1)
	go func() { err1 <- e.svc.Run(ctx, j1) }()
	g1 := <-gates
	<-g1.entered
	// The first run's server looks gone: a sweep starts attempt 2.
	ok(t, e.svc.Sweep(ctx, true))
	j2 := service.Job{Kind: j1.Kind, ID: j1.ID, Attempt: 2}
	if jobs := e.manual.take(); !hasJob(jobs, j2) {
		t.Fatalf("enqueued %v, want %v", jobs, j2)
	}
	err2 := make(chan error, 1)
	go func() { err2 <- e.svc.Run(ctx, j2) }()
	g2 := <-gates
	<-g2.entered
	e.hooks.set(d.ID, nil)

	// The first run fails now, late: attempt 2 is running, untouched.
	close(g1.release)
	ok(t, <-err1)
	got := e.getDS(t, d.ID)
	if got.Status != perch.StatusInProgress || got.Attempt != 2 || got.Message != "" {
		t.Errorf("after the old attempt ended: %s, attempt %d, message %q; want INPROGRESS, 2, none",
			got.Status, got.Attempt, got.Message)
	}
	close(g2.release)
	ok(t, <-err2)
	got = e.getDS(t, d.ID)
	wantStatus(t, &got.Meta, perch.StatusFailed)
	if got.Attempt != 2 {
		t.Errorf("attempt %d, want 2", got.Attempt)
	}
	wantMessage(t, got.Message, "connection reset")
}

// testDeletedWhileRunning deletes a model while it trains: it stays
// DELETED when the training ends.
func (e *jobsEnv) testDeletedWhileRunning(t *testing.T) {
	ctx := context.Background()
	d, dj := e.dataSource(t)
	ok(t, e.svc.Run(ctx, dj))
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
	ok(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	e.hooks.set(m.ID, func(context.Context) error {
		close(entered)
		<-release
		return nil
	})
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Run(ctx, service.Job{Kind: service.JobTrain, ID: m.ID, Attempt: 1}) }()
	<-entered
	e.hooks.set(m.ID, nil)
	_, err = e.svc.DeleteMLModel(ctx, m.ID)
	ok(t, err)
	close(release)
	ok(t, <-errc)
	got, err := e.svc.GetMLModel(ctx, m.ID)
	ok(t, err)
	wantStatus(t, &got.Meta, perch.StatusDeleted)
	_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
	wantCode(t, err, perch.EInvalid)
	e.manual.take()
}

func TestUpdates(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newJobsEnv(t, dsn)
		m, _ := e.trainSmall(t)
		d := e.getDS(t, m.TrainingDataSource)
		long := strings.Repeat("n", 1025)

		got, err := e.svc.UpdateDataSource(ctx, d.ID, service.Update{Name: ptr("renamed")})
		ok(t, err)
		if got.Name != "renamed" || got.Status != perch.StatusCompleted || got.Records != d.Records {
			t.Errorf("renamed data source: %+v", got)
		}
		_, err = e.svc.UpdateDataSource(ctx, d.ID, service.Update{Name: &long})
		wantCode(t, err, perch.EInvalid)
		_, err = e.svc.UpdateDataSource(ctx, d.ID, service.Update{ScoreThreshold: ptr(0.5)})
		wantCode(t, err, perch.EInvalid)
		_, err = e.svc.UpdateDataSource(ctx, "ds-missing", service.Update{Name: ptr("x")})
		wantCode(t, err, perch.ENotFound)

		mm, err := e.svc.UpdateMLModel(ctx, m.ID, service.Update{Name: ptr("adult"), ScoreThreshold: ptr(0.25)})
		ok(t, err)
		if mm.Name != "adult" || mm.ScoreThreshold != 0.25 || mm.Endpoint.Status != perch.EndpointReady {
			t.Errorf("updated model: %+v", mm)
		}
		for _, bad := range []float64{-0.1, 1.1, math.NaN()} {
			_, err = e.svc.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: &bad})
			wantCode(t, err, perch.EInvalid)
		}
		_, err = e.svc.UpdateMLModel(ctx, m.ID, service.Update{Name: &long})
		wantCode(t, err, perch.EInvalid)

		ev, err := e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m.ID, DataSourceID: d.ID, Name: "ev"})
		ok(t, err)
		got2, err := e.svc.UpdateEvaluation(ctx, ev.ID, service.Update{Name: ptr("ev2")})
		ok(t, err)
		if got2.Name != "ev2" {
			t.Errorf("evaluation name %q", got2.Name)
		}
		_, err = e.svc.UpdateEvaluation(ctx, ev.ID, service.Update{ScoreThreshold: ptr(0.5)})
		wantCode(t, err, perch.EInvalid)
		dev, err := e.svc.DeleteEvaluation(ctx, ev.ID)
		ok(t, err)
		wantStatus(t, &dev.Meta, perch.StatusDeleted)
		// Its job, run late, leaves it DELETED.
		ok(t, e.svc.Run(ctx, service.Job{Kind: service.JobEvaluate, ID: ev.ID, Attempt: 1}))
		dev, err = e.svc.GetEvaluation(ctx, ev.ID)
		ok(t, err)
		wantStatus(t, &dev.Meta, perch.StatusDeleted)

		b, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: d.ID})
		ok(t, err)
		if b.OutputURL != e.objects.URL("batch-predictions/"+b.ID+".csv") {
			t.Errorf("default output %q", b.OutputURL)
		}
		got3, err := e.svc.UpdateBatchPrediction(ctx, b.ID, service.Update{Name: ptr("bp")})
		ok(t, err)
		if got3.Name != "bp" {
			t.Errorf("batch prediction name %q", got3.Name)
		}
		_, err = e.svc.UpdateBatchPrediction(ctx, b.ID, service.Update{ScoreThreshold: ptr(0.5)})
		wantCode(t, err, perch.EInvalid)
		dbp, err := e.svc.DeleteBatchPrediction(ctx, b.ID)
		ok(t, err)
		wantStatus(t, &dbp.Meta, perch.StatusDeleted)

		// Lists pass the store's filters through.
		list, _, err := e.svc.ListMLModels(ctx, perch.Filter{Variable: "Name", Op: perch.OpEQ, Value: "adult"})
		ok(t, err)
		if len(list) != 1 || list[0].ID != m.ID {
			t.Errorf("models named adult: %v", list)
		}
		_, _, err = e.svc.ListDataSources(ctx, perch.Filter{Variable: "NoSuch", Op: perch.OpEQ, Value: "x"})
		wantCode(t, err, perch.EInvalid)
		evs, _, err := e.svc.ListEvaluations(ctx, perch.Filter{Variable: "MLModelId", Op: perch.OpEQ, Value: m.ID})
		ok(t, err)
		bps, _, err := e.svc.ListBatchPredictions(ctx, perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: "DELETED"})
		ok(t, err)
		if len(evs) != 1 || len(bps) != 1 {
			t.Errorf("%d evaluations of the model, %d deleted batch predictions; want 1, 1", len(evs), len(bps))
		}
		e.manual.take()
	})
}
