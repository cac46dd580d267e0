package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// eachStore runs test on a fresh SQLite database and on a fresh PostgreSQL
// schema; dsn names the database, so a test can open it twice, as two
// servers would.
func eachStore(t *testing.T, test func(t *testing.T, dsn string)) { testdb.Each(t, test) }

// openStore opens the database named by dsn, closed when the test ends.
func openStore(t *testing.T, dsn string) perch.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// env is one server's view of a test's database and object store.
type env struct {
	dsn     string
	dir     string // the object store's folder
	store   perch.Store
	svc     *service.Service
	queue   *autoQueue   // nil with a manual queue
	manual  *manualQueue // nil with an automatic queue
	objects *objects.Bucket
}

type envOptions struct {
	manual bool
	config service.Config // Store, Objects and Queue are filled in
	wrap   func(perch.Store) perch.Store
}

// newEnv builds a Service on a fresh object store and the database named
// by dsn.
func newEnv(t *testing.T, dsn string, opt envOptions) *env {
	t.Helper()
	return replica(t, &env{dsn: dsn, dir: t.TempDir()}, opt)
}

// replica builds another Service on e's database and object store, as a
// second server would have.
func replica(t *testing.T, e *env, opt envOptions) *env {
	t.Helper()
	ctx := context.Background()
	r := &env{dsn: e.dsn, dir: e.dir}
	r.store = openStore(t, e.dsn)
	if opt.wrap != nil {
		r.store = opt.wrap(r.store)
	}
	b, err := objects.Open(ctx, r.dir)
	if err != nil {
		t.Fatalf("objects.Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	r.objects = b
	cfg := opt.config
	cfg.Store, cfg.Objects = r.store, b
	r.svc = service.New(cfg)
	if opt.manual {
		r.manual = &manualQueue{}
		r.svc.SetQueue(r.manual)
	} else {
		r.queue = newAutoQueue(t, r.svc)
		r.svc.SetQueue(r.queue)
	}
	return r
}

// autoQueue runs every job at once in a goroutine, running it again after
// ErrNotReady, and ignores a job equal to one waiting or running, as the
// server's queue does.
type autoQueue struct {
	t   *testing.T
	svc *service.Service
	ctx context.Context
	wg  sync.WaitGroup

	mu       sync.Mutex
	active   map[service.Job]bool
	enqueued []service.Job
	notReady map[service.Job]int // ErrNotReady answers per job
	errs     []error
}

func newAutoQueue(t *testing.T, svc *service.Service) *autoQueue {
	ctx, cancel := context.WithCancel(context.Background())
	q := &autoQueue{t: t, svc: svc, ctx: ctx, active: map[service.Job]bool{}, notReady: map[service.Job]int{}}
	// Registered after the store's cleanup, so it runs first: the jobs
	// stop before their store closes.
	t.Cleanup(func() {
		cancel()
		q.wg.Wait()
		q.mu.Lock()
		defer q.mu.Unlock()
		for _, err := range q.errs {
			t.Errorf("job: %v", err)
		}
	})
	return q
}

func (q *autoQueue) Enqueue(_ context.Context, j service.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enqueued = append(q.enqueued, j)
	if q.active[j] {
		return nil
	}
	q.active[j] = true
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer func() {
			q.mu.Lock()
			delete(q.active, j)
			q.mu.Unlock()
		}()
		for {
			err := q.svc.Run(q.ctx, j)
			if errors.Is(err, service.ErrNotReady) {
				q.mu.Lock()
				q.notReady[j]++
				q.mu.Unlock()
				select {
				case <-q.ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			if err != nil && q.ctx.Err() == nil {
				q.mu.Lock()
				q.errs = append(q.errs, fmt.Errorf("Run(%+v): %w", j, err))
				q.mu.Unlock()
			}
			return
		}
	}()
	return nil
}

// notReadyCount is how often Run answered ErrNotReady for j.
func (q *autoQueue) notReadyCount(j service.Job) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.notReady[j]
}

// manualQueue records jobs; the test runs them.
type manualQueue struct {
	mu   sync.Mutex
	jobs []service.Job
}

func (q *manualQueue) Enqueue(_ context.Context, j service.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

// take returns the jobs enqueued since the last take.
func (q *manualQueue) take() []service.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.jobs
	q.jobs = nil
	return j
}

// hasJob reports whether jobs holds j.
func hasJob(jobs []service.Job, j service.Job) bool {
	for _, x := range jobs {
		if x == j {
			return true
		}
	}
	return false
}

// example returns a shipped data set, uncompressed ("adult/train.csv").
func example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := examples.ReadAll(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleGz returns a shipped data set as shipped, gzipped.
func exampleGz(t testing.TB, name string) []byte {
	t.Helper()
	b, err := examples.FS.ReadFile(name + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// head returns the header and first n records of a CSV file without
// quoted newlines.
func head(b []byte, n int) []byte {
	lines := bytes.SplitAfterN(b, []byte("\n"), n+2)
	return bytes.Join(lines[:min(n+1, len(lines))], nil)
}

func (e *env) write(t testing.TB, key string, b []byte) {
	t.Helper()
	if err := e.objects.Write(context.Background(), key, bytes.NewReader(b), "text/csv"); err != nil {
		t.Fatalf("write %s: %v", key, err)
	}
}

// lineCount counts the records of a CSV file with a header line.
func lineCount(b []byte) int64 {
	return int64(bytes.Count(bytes.TrimRight(b, "\n"), []byte("\n")))
}

const waitTimeout = 60 * time.Second

// waitMeta polls get until the entity is done (COMPLETED, FAILED or
// DELETED) and returns it.
func waitMeta[T any](t testing.TB, what string, get func() (*T, error), meta func(*T) *perch.Meta) *T {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		v, err := get()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		m := meta(v)
		if m.Status.Done() {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %s after %s (message %q)", what, m.ID, m.Status, waitTimeout, m.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) waitDataSource(t testing.TB, id string) *perch.DataSource {
	t.Helper()
	return waitMeta(t, "data source", func() (*perch.DataSource, error) {
		return e.svc.GetDataSource(context.Background(), id)
	}, func(d *perch.DataSource) *perch.Meta { return &d.Meta })
}

func (e *env) waitModel(t testing.TB, id string) *perch.MLModel {
	t.Helper()
	return waitMeta(t, "model", func() (*perch.MLModel, error) {
		return e.svc.GetMLModel(context.Background(), id)
	}, func(m *perch.MLModel) *perch.Meta { return &m.Meta })
}

func (e *env) waitEvaluation(t testing.TB, id string) *perch.Evaluation {
	t.Helper()
	return waitMeta(t, "evaluation", func() (*perch.Evaluation, error) {
		return e.svc.GetEvaluation(context.Background(), id)
	}, func(v *perch.Evaluation) *perch.Meta { return &v.Meta })
}

func (e *env) waitBatch(t testing.TB, id string) *perch.BatchPrediction {
	t.Helper()
	return waitMeta(t, "batch prediction", func() (*perch.BatchPrediction, error) {
		return e.svc.GetBatchPrediction(context.Background(), id)
	}, func(v *perch.BatchPrediction) *perch.Meta { return &v.Meta })
}

// wantStatus fails unless m has status st.
func wantStatus(t testing.TB, m *perch.Meta, st perch.Status) {
	t.Helper()
	if m.Status != st {
		t.Fatalf("%s is %s (message %q), want %s", m.ID, m.Status, m.Message, st)
	}
}

// wantCode fails unless err has the code.
func wantCode(t testing.TB, err error, code perch.ErrorCode) {
	t.Helper()
	if perch.Code(err) != code {
		t.Fatalf("error %v (code %q), want code %q", err, perch.Code(err), code)
	}
}

// wantMessage fails unless err is non-nil and its message holds every
// part.
func wantMessage(t testing.TB, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("message %q does not mention %q", msg, p)
		}
	}
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
