package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// recorder is a Runner that counts runs and can ask to wait.
type recorder struct {
	mu      sync.Mutex
	runs    map[service.Job]int
	waits   int // ErrNotReady answers left
	done    chan service.Job
	blocked chan struct{} // if set, Run blocks until ctx is done
}

func newRecorder() *recorder {
	return &recorder{runs: make(map[service.Job]int), done: make(chan service.Job, 100)}
}

func (r *recorder) Run(ctx context.Context, j service.Job) error {
	r.mu.Lock()
	r.runs[j]++
	wait := r.waits > 0
	if wait {
		r.waits--
	}
	r.mu.Unlock()
	if wait {
		return service.ErrNotReady
	}
	if r.blocked != nil {
		close(r.blocked)
		<-ctx.Done()
		return ctx.Err()
	}
	r.done <- j
	return nil
}

func (r *recorder) count(j service.Job) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[j]
}

func openQueue(t *testing.T, dsn string, run Runner) (*Queue, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conns := 4
	if st.Dialect() == "sqlite" {
		conns = 1
	}
	db, err := st.Pool(conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := Open(ctx, db, st.Dialect(), run, Options{PollInterval: 20 * time.Millisecond, WaitInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return q, st
}

func waitJob(t *testing.T, r *recorder) service.Job {
	t.Helper()
	select {
	case j := <-r.done:
		return j
	case <-time.After(20 * time.Second):
		t.Fatal("no job ran within 20s")
		return service.Job{}
	}
}

// settle waits until River has recorded the end of every job it ran.
func settle(t *testing.T, q *Queue) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(10 * time.Millisecond) {
		var n int
		if err := q.db.QueryRow("SELECT count(*) FROM river_job WHERE state = 'running'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("jobs still running after 20s")
}

func TestQueue(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		r := newRecorder()
		r.waits = 2
		q, _ := openQueue(t, dsn, r)
		j := service.Job{Kind: service.JobTrain, ID: "ml-1", Attempt: 1}
		// Enqueued twice before it runs: one job.
		for range 2 {
			if err := q.Enqueue(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		if got := waitJob(t, r); got != j {
			t.Fatalf("ran %+v, want %+v", got, j)
		}
		// Two ErrNotReady answers, then the run that completed.
		if n := r.count(j); n != 3 {
			t.Errorf("job ran %d times, want 3 (2 waits + 1)", n)
		}
		// A completed job may be enqueued again: the entity needs a new run.
		settle(t, q)
		if err := q.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		waitJob(t, r)
		if n := r.count(j); n != 4 {
			t.Errorf("job ran %d times after enqueueing it again, want 4", n)
		}
		// Another attempt is another job.
		j2 := j
		j2.Attempt = 2
		if err := q.Enqueue(ctx, j2); err != nil {
			t.Fatal(err)
		}
		if got := waitJob(t, r); got != j2 {
			t.Fatalf("ran %+v, want %+v", got, j2)
		}
	})
}

// A job left running by a server that stopped runs again once the next
// server releases it (SQLite, where one server owns the file).
func TestReleaseRunning(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.SQLite(t)
	r1 := newRecorder()
	r1.blocked = make(chan struct{})
	q1, _ := openQueue(t, dsn, r1)
	j := service.Job{Kind: service.JobBatch, ID: "bp-1", Attempt: 1}
	if err := q1.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r1.blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("job did not start")
	}
	// The first server dies: what a kill leaves is the job in the running
	// state with nobody working it.
	if err := q1.client.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q1.db.Exec("UPDATE river_job SET state = 'running', finalized_at = NULL"); err != nil {
		t.Fatal(err)
	}

	r2 := newRecorder()
	q2, _ := openQueue(t, dsn, r2)
	n, err := q2.ReleaseRunning(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("released %d jobs, want 1", n)
	}
	if err := q2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q2.Stop(ctx)
	if got := waitJob(t, r2); got != j {
		t.Fatalf("ran %+v, want %+v", got, j)
	}
}

func TestOpenUnknownDialect(t *testing.T) {
	if _, err := Open(context.Background(), nil, "oracle", newRecorder(), Options{}); err == nil {
		t.Fatal("Open with an unknown dialect succeeded")
	}
}
