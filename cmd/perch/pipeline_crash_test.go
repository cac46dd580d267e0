package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
)

// TestPipelineCrash kills the server with SIGKILL at 5 random points while
// a pipeline works through an object of 200,000 records, 50 of them bad,
// restarting it each time: the table ends with exactly 199,950 rows, none
// twice, and there are exactly 50 dead letters.
func TestPipelineCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server; not in -short")
	}
	testdb.Each(t, func(t *testing.T, dsn string) {
		seed := time.Now().UnixNano()
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		t.Logf("seed %d", seed)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		srv := startAdultServer(ctx, t, dsn)
		p, c, dataDir := srv.p, srv.c, srv.dataDir
		ds, err := c.CreateDataSource(ctx, service.DataSourceInput{DataURL: "adult/train.csv.gz", TargetAttributeName: "income"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: ds.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Wait(ctx, client.MLModels, m.ID, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		dir := func(name string) string {
			return (&url.URL{Scheme: "file", Path: filepath.Join(dataDir, name)}).String()
		}
		results := filepath.Join(dataDir, "results.db")
		pl, err := c.CreatePipeline(ctx, service.PipelineInput{
			Model: m.ID, Source: perch.PipelineSource{Objects: dir("inbox")},
			Sinks:      []perch.PipelineSink{{SQL: &perch.SQLSink{URL: "sqlite://" + results, Table: "predictions"}}},
			DeadLetter: dir("dead"),
		})
		if err != nil {
			t.Fatal(err)
		}

		// 200,000 records cycled from the test data, every 4,000th bad.
		test, err := examples.ReadAll("adult/test.csv")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(test)), "\n")
		var big bytes.Buffer
		big.WriteString(lines[0] + "\n")
		for i := range 200000 {
			if i%4000 == 1234 {
				fmt.Fprintf(&big, "bad record %d\n", i)
				continue
			}
			big.WriteString(lines[1+i%(len(lines)-1)] + "\n")
		}
		os.MkdirAll(filepath.Join(dataDir, "inbox"), 0o700)
		tmp := filepath.Join(dataDir, "big.csv")
		if err := os.WriteFile(tmp, big.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dataDir, "inbox", "big.csv")); err != nil {
			t.Fatal(err)
		}

		run := func() *perch.PipelineRun {
			runs, _, err := c.ListPipelineRuns(ctx, pl.ID, perch.Filter{})
			if err != nil && ctx.Err() != nil {
				t.Fatalf("%v\n%s", err, p.stderr.String())
			}
			if len(runs) == 0 {
				return nil
			}
			return runs[0]
		}
		kills := 0
		last := int64(-1)
		for kills < 5 {
			r := run()
			if r != nil && r.Status.Done() {
				t.Logf("the run finished after %d kills", kills)
				break
			}
			if r == nil || r.Status != perch.StatusInProgress || r.Rows <= last {
				if ctx.Err() != nil {
					t.Fatalf("no progress: %+v\n%s", r, p.stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
				continue
			}
			// Progress since the last start: kill at a random moment.
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
			srv.restart()
			p, c = srv.p, srv.c
			kills++
			last = r.Rows
			t.Logf("killed at row %d or after", r.Rows)
		}
		var r *perch.PipelineRun
		for {
			if r = run(); r != nil && r.Status.Done() {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the run did not finish: %+v\n%s", r, p.stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if kills < 5 {
			t.Errorf("only %d kills landed before the run finished", kills)
		}
		if r.Status != perch.StatusCompleted || r.Predicted != 199950 || r.DeadLetters != 50 || r.Rows != 200000 {
			t.Errorf("run %+v", r)
		}
		p.stop(t)

		db, err := sql.Open("sqlite", results)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n, distinct int
		if err := db.QueryRow("SELECT count(*), count(DISTINCT source_row) FROM predictions").Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != 199950 || distinct != n {
			t.Errorf("%d rows, %d distinct, want 199950", n, distinct)
		}
		dead := 0
		filepath.WalkDir(filepath.Join(dataDir, "dead"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				dead += bytes.Count(b, []byte("\n"))
			}
			return err
		})
		if dead != 50 {
			t.Errorf("%d dead letters, want 50", dead)
		}
	})
}
