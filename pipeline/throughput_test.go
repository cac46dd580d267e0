package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/testdb"
)

// TestThroughput times one object of PERCH_PIPELINE_ROWS Adult-like rows
// (cycled from Adult's test file) from landing in a watched folder to the
// run's last commit, into each sink alone: go test -run Throughput -v
// ./pipeline with PERCH_PIPELINE_ROWS=1000000 (and
// PERCH_PIPELINE_ALGORITHM=sgd for AML's linear model rather than the
// default trees). Skipped without it.
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PERCH_PIPELINE_ROWS"))
	if n <= 0 {
		t.Skip("opt-in: set PERCH_PIPELINE_ROWS to time a run")
	}
	test := testRows(t, 16281)
	i := bytes.IndexByte(test, '\n') + 1
	header, rows := test[:i], test[i:]
	big := append([]byte{}, header...)
	for k := 0; k < n; {
		for _, l := range bytes.SplitAfter(rows, []byte("\n")) {
			if len(l) == 0 || k == n {
				continue
			}
			big = append(big, l...)
			k++
		}
	}
	sinks := map[string]func(e *env) perch.PipelineSink{
		"sqlite": func(e *env) perch.PipelineSink {
			return perch.PipelineSink{SQL: &perch.SQLSink{URL: "sqlite://" + filepath.Join(e.dir, "big.db"), Table: "predictions"}}
		},
		"objects": func(e *env) perch.PipelineSink {
			return perch.PipelineSink{Objects: &perch.ObjectSink{URL: fileURL(filepath.Join(e.dir, "outbox"))}}
		},
		"postgres": func(e *env) perch.PipelineSink {
			return perch.PipelineSink{SQL: &perch.SQLSink{URL: testdb.Postgres(t), Table: "predictions"}}
		},
	}
	for _, name := range []string{"sqlite", "objects", "postgres"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.store.UpdatePipeline(context.Background(), e.p.ID, func(p *perch.Pipeline) error {
				p.Sinks = []perch.PipelineSink{sinks[name](e)}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan string, 1)
			w := &Watcher{Engine: e.engine, Enqueue: func(ctx context.Context, id string, attempt int) error {
				go func() {
					if err := e.engine.Run(ctx, id, attempt); err != nil {
						t.Error(err)
					}
					done <- id
				}()
				return nil
			}}
			go w.Run(ctx)
			time.Sleep(50 * time.Millisecond)
			tmp := filepath.Join(e.dir, "big.csv.tmp")
			if err := os.WriteFile(tmp, big, 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			os.Rename(tmp, filepath.Join(e.dir, "inbox", "big.csv")) // lands whole
			id := <-done
			d := time.Since(start)
			r, err := e.store.GetPipelineRun(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != perch.StatusCompleted || r.Predicted != int64(n) {
				t.Fatalf("run %+v", r)
			}
			t.Logf("%s, %s model: %d rows (%d MB) land to last commit in %s: %.0f rows/s (run alone %d ms)",
				name, adult(t).Model().Algorithm, n, len(big)>>20, d.Round(time.Millisecond), float64(n)/d.Seconds(), r.DurationMS)
		})
	}
}

// TestSmallObjectLatency copies PERCH_PIPELINE_OBJECTS objects of 10 rows
// into a watched folder, one after another, as cp writes them, and times
// each from the write to its rows being in the SQLite table; it reports
// the median and fails over 1 s. Skipped without the variable.
func TestSmallObjectLatency(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PERCH_PIPELINE_OBJECTS"))
	if n <= 0 {
		t.Skip("opt-in: set PERCH_PIPELINE_OBJECTS to time small objects")
	}
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &Watcher{Engine: e.engine, Enqueue: func(ctx context.Context, id string, attempt int) error {
		go e.engine.Run(ctx, id, attempt)
		return nil
	}}
	go w.Run(ctx)
	time.Sleep(100 * time.Millisecond)
	rows := testRows(t, 10)
	var took []time.Duration
	for i := range n {
		start := time.Now()
		if err := os.WriteFile(filepath.Join(e.dir, "inbox", "small-"+strconv.Itoa(i)+".csv"), rows, 0o600); err != nil {
			t.Fatal(err)
		}
		for {
			if c, _, err := e.count(); err == nil && c == 10*(i+1) {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("object %d did not land", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	p50 := took[len(took)/2]
	t.Logf("%d objects of 10 rows, written to rows in SQLite: p50 %s, min %s, max %s", n, p50.Round(time.Millisecond), took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if p50 > time.Second {
		t.Errorf("p50 %s, over 1 s", p50)
	}
}
