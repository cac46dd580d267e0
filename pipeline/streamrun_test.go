package pipeline

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
)

// streamRunsOf is a pipeline's stream runs.
func streamRunsOf(t *testing.T, e *env, p *perch.Pipeline) []*perch.PipelineRun {
	t.Helper()
	runs, _, err := e.store.ListPipelineRuns(context.Background(), perch.Filter{Variable: "PipelineId", Op: perch.OpEQ, Value: p.ID, Limit: perch.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []*perch.PipelineRun
	for _, r := range runs {
		if strings.HasPrefix(r.Key, "stream:") {
			out = append(out, r)
		}
	}
	return out
}

// checkStreamRuns waits for a stream pipeline's runs to count the 100
// records and the malformed one that streamLines publishes, each batch
// once: one run a minute, two if the test crossed a minute.
func checkStreamRuns(t *testing.T, e *env, p *perch.Pipeline, source string) {
	t.Helper()
	key := regexp.MustCompile(`^stream:` + regexp.QuoteMeta(source) + `@\d{4}-\d\d-\d\dT\d\d:\d\dZ$`)
	var runs []*perch.PipelineRun
	var rows, predicted, dead int64
	var errs int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		runs = streamRunsOf(t, e, p)
		rows, predicted, dead, errs = 0, 0, 0, 0
		for _, r := range runs {
			rows += r.Rows
			predicted += r.Predicted
			dead += r.DeadLetters
			errs += len(r.Errors)
		}
		if rows >= 101 || time.Now().After(deadline) {
			break
		}
	}
	if rows != 101 || predicted != 100 || dead != 1 || errs != 1 {
		t.Errorf("stream runs count %d rows, %d predicted, %d dead letters, %d errors", rows, predicted, dead, errs)
	}
	if len(runs) == 0 || len(runs) > 2 {
		t.Fatalf("%d stream runs", len(runs))
	}
	for _, r := range runs {
		if !key.MatchString(r.Key) || r.Status != perch.StatusCompleted || r.StartedAt == nil || r.FinishedAt == nil || !strings.HasSuffix(r.Key, "@"+r.Version) {
			t.Errorf("stream run %+v", r)
		}
	}
}

// TestStreamRunWindows counts batches into one run a minute, whichever
// consumer commits them.
func TestStreamRunWindows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	at := func(s string) func() time.Time {
		return func() time.Time {
			t, _ := time.Parse(time.RFC3339, s)
			return t
		}
	}
	a, b := e.engine.streamRuns(e.p, "records.income"), e.engine.streamRuns(e.p, "records.income")
	a.now = at("2026-11-26T13:40:05Z")
	a.add(ctx, 40, 0, nil, 30*time.Millisecond)
	a.add(ctx, 39, 1, []string{"bad"}, 20*time.Millisecond)
	b.now = at("2026-11-26T13:40:59Z") // another consumer, the same minute
	b.add(ctx, 10, 0, nil, 5*time.Millisecond)
	a.now = at("2026-11-26T13:41:00Z")
	a.add(ctx, 7, 2, []string{"worse", "worst"}, 10*time.Millisecond)
	a.add(ctx, 0, 0, nil, time.Millisecond) // nothing read: nothing counted
	if r := streamRunsOf(t, e, e.p); len(r) != 1 {
		t.Errorf("%d runs stored before the consumer stopped", len(r))
	}
	a.flush(ctx) // the consumer stops
	b.flush(ctx)

	runs := streamRunsOf(t, e, e.p)
	if len(runs) != 2 {
		t.Fatalf("%d runs", len(runs))
	}
	got := map[string]*perch.PipelineRun{}
	for _, r := range runs {
		got[r.Key] = r
	}
	r := got["stream:records.income@2026-11-26T13:40Z"]
	if r == nil || r.Rows != 90 || r.Predicted != 89 || r.DeadLetters != 1 || len(r.Errors) != 1 || r.DurationMS != 55 ||
		r.Version != "2026-11-26T13:40Z" || !r.Landed.Equal(at("2026-11-26T13:40:00Z")()) || !r.FinishedAt.Equal(at("2026-11-26T13:40:59Z")()) || !r.StartedAt.Equal(at("2026-11-26T13:40:05Z")()) {
		t.Errorf("13:40 run %+v", r)
	}
	r = got["stream:records.income@2026-11-26T13:41Z"]
	if r == nil || r.Rows != 9 || r.Predicted != 7 || r.DeadLetters != 2 || len(r.Errors) != 2 || r.Status != perch.StatusCompleted {
		t.Errorf("13:41 run %+v", r)
	}
	// The watcher's sweep starts runs not done: it leaves these alone.
	var enqueued []string
	w := &Watcher{Engine: e.engine, Enqueue: func(_ context.Context, id string, _ int) error {
		enqueued = append(enqueued, id)
		return nil
	}}
	if err := w.sweep(ctx, time.Nanosecond); err != nil || len(enqueued) != 0 {
		t.Errorf("sweep enqueued %v (%v)", enqueued, err)
	}
}
