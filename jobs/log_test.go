package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// lockedBuffer is a log River's goroutines write while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openLogged is a queue on a fresh SQLite file whose log goes to w at
// level.
func openLogged(t *testing.T, run Runner, w *lockedBuffer, level slog.Level) *Queue {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := st.Pool(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	q, err := Open(ctx, db, st.Dialect(), run, Options{PollInterval: 20 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestRiverLogQuiet checks that River's own lines stay out of the log at
// Info and are there, marked, at Debug.
func TestRiverLogQuiet(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var logs lockedBuffer
		r := newRecorder()
		q := openLogged(t, r, &logs, level)
		ctx := context.Background()
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(ctx, service.Job{Kind: service.JobTrain, ID: "ml-1", Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		waitJob(t, r)
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		got := logs.String()
		switch level {
		case slog.LevelInfo:
			if got != "" {
				t.Errorf("River logs at Info:\n%s", got)
			}
		case slog.LevelDebug:
			if !strings.Contains(got, `"level":"DEBUG"`) || !strings.Contains(got, `"component":"river"`) || strings.Contains(got, `"level":"INFO"`) {
				t.Errorf("River's lines at Debug:\n%s", got)
			}
		}
	}
}

func TestQuieter(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(quieter{slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	log.Info("a")
	log.Warn("b")
	log.Error("c")
	log.Debug("d")
	want := []string{"level=DEBUG msg=a", "level=DEBUG msg=b", "level=WARN msg=c", "level=DEBUG msg=d"}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", logs.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d: %s, want %s", i, lines[i], w)
		}
	}
	if (quieter{slog.NewTextHandler(&logs, nil)}).Enabled(context.Background(), slog.LevelWarn) {
		t.Error("a Warn of River's passes a log at Info")
	}
}

// TestRunningJobs checks that the queue lists the jobs its workers have
// in hand, and forgets them when they end.
func TestRunningJobs(t *testing.T) {
	ctx := context.Background()
	r := newRecorder()
	r.blocked = make(chan struct{})
	q := openLogged(t, r, &lockedBuffer{}, slog.LevelInfo)
	j := service.Job{Kind: service.JobTrain, ID: "ml-1", Attempt: 1}
	if err := q.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if got := q.Running(); len(got) != 0 {
		t.Errorf("running before Start: %v", got)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("job did not start")
	}
	if got := q.Running(); len(got) != 1 || got[0] != (Running{Job: j}) {
		t.Errorf("running: %v, want [%v]", got, j)
	}
	// A stop that gives up at once cancels the job.
	stop, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	q.Stop(stop)
	if got := q.Running(); len(got) != 0 {
		t.Errorf("running after Stop: %v", got)
	}
}
