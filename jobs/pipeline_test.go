package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
)

// pipelineRecorder also runs pipeline runs, failing the first fails of
// each.
type pipelineRecorder struct {
	*recorder
	mu       sync.Mutex
	fails    int
	attempts map[string][]int
	done     chan string
}

func (r *pipelineRecorder) RunPipeline(ctx context.Context, id string, _, attempt, maxAttempts int) error {
	r.mu.Lock()
	r.attempts[id] = append(r.attempts[id], attempt)
	n := len(r.attempts[id])
	r.mu.Unlock()
	if maxAttempts != pipelineAttempts {
		return errors.New("wrong max attempts")
	}
	if n <= r.fails {
		return errors.New("sink down")
	}
	r.done <- id
	return nil
}

// TestPipelineRuns enqueues a run twice, which runs once, and a failing
// run, which is tried again with backoff until it succeeds.
func TestPipelineRuns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		r := &pipelineRecorder{recorder: newRecorder(), attempts: map[string][]int{}, done: make(chan string, 10), fails: 1}
		q, _ := openQueue(t, dsn, r)
		ctx := context.Background()
		for range 2 {
			if err := q.EnqueuePipelineRun(ctx, "pr-1", 1); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		start := time.Now()
		select {
		case id := <-r.done:
			if id != "pr-1" {
				t.Fatalf("ran %s", id)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the run did not succeed")
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %s, want a backoff of a second or more", d)
		}
		time.Sleep(100 * time.Millisecond)
		r.mu.Lock()
		defer r.mu.Unlock()
		if a := r.attempts["pr-1"]; len(a) != 2 || a[0] != 1 || a[1] != 2 {
			t.Errorf("attempts %v", a)
		}
		if len(r.runs) != 0 {
			t.Errorf("service jobs ran: %v", r.runs)
		}
		var _ service.Queue = q
	})
}
