package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"github.com/perchml/perch/internal/testbin"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/service"
)

// process is a perch server running as a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

// startProcess runs "perch serve" and waits until it serves.
func startProcess(t *testing.T, dataDir, database string) *process {
	t.Helper()
	args := []string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn"}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.Command(testbin.Perch(t), args...)
	// A short lease, so that on PostgreSQL a killed server's job is found
	// abandoned within seconds.
	cmd.Env = append(os.Environ(), "PERCH_JOB_LEASE=1s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "perch is serving on "); ok {
				urls <- strings.Fields(u)[0]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("perch serve exited: %s", p.stderr.String())
		}
		p.url = u
	case <-time.After(60 * time.Second):
		t.Fatalf("perch serve did not start: %s", p.stderr.String())
	}
	return p
}

// kill ends the server with SIGKILL: no cleanup of any kind runs.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// stop ends the server as an operator would, with SIGTERM.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("perch serve after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

// adultServer is a perch serve child process on a fresh data directory
// and the database a test names, with Adult's training file uploaded as
// adult/train.csv.gz.
type adultServer struct {
	t                      *testing.T
	dataDir, database, key string
	p                      *process
	c                      *client.Client
	train                  []byte // the file, gzipped
}

func startAdultServer(ctx context.Context, t *testing.T, dsn string) *adultServer {
	t.Helper()
	s := &adultServer{t: t, dataDir: t.TempDir()}
	if strings.HasPrefix(dsn, "postgres") {
		s.database = dsn
	}
	s.p = startProcess(t, s.dataDir, s.database)
	key, err := os.ReadFile(filepath.Join(s.dataDir, "root-key"))
	if err != nil {
		t.Fatal(err)
	}
	s.key = strings.TrimSpace(string(key))
	s.c = client.New(s.p.url, s.key)
	if s.train, err = examples.FS.ReadFile("adult/train.csv.gz"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.PutObject(ctx, "adult/train.csv.gz", bytes.NewReader(s.train)); err != nil {
		t.Fatal(err)
	}
	return s
}

// restart kills the server with SIGKILL and starts another on the same
// data directory and database.
func (s *adultServer) restart() {
	s.t.Helper()
	s.p.kill()
	s.p = startProcess(s.t, s.dataDir, s.database)
	s.c = client.New(s.p.url, s.key)
}

// TestCrash kills the server with SIGKILL while it reads a data source,
// trains, evaluates and runs a batch prediction, restarting it each time:
// every entity ends COMPLETED (or FAILED with a message), none stays
// INPROGRESS, and the batch output holds each row once.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server; not in -short")
	}
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		srv := startAdultServer(ctx, t, dsn)
		p, c, train := srv.p, srv.c, srv.train
		// The batch input: the training rows ten times over, so the batch
		// runs long enough to be caught in the middle.
		big, rows := repeatRows(t, train, 10)
		if _, err := c.PutObject(ctx, "adult/big.csv", bytes.NewReader(big)); err != nil {
			t.Fatal(err)
		}

		// restart kills the server once the entity is INPROGRESS, starts
		// another, and waits for the entity to finish.
		restart := func(what string, status func() (perch.Status, string, int, error)) {
			t.Helper()
			killedRunning := false
			for {
				st, _, _, err := status()
				if err != nil {
					t.Fatal(err)
				}
				if st == perch.StatusInProgress {
					killedRunning = true
					break
				}
				if st.Done() {
					t.Logf("%s finished before it could be killed", what)
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			srv.restart()
			p, c = srv.p, srv.c
			for {
				st, msg, attempt, err := status()
				if err != nil {
					t.Fatal(err)
				}
				if st == perch.StatusCompleted {
					if killedRunning && attempt < 2 {
						t.Errorf("%s completed at attempt %d; the run the kill interrupted cannot have finished it", what, attempt)
					}
					return
				}
				if st == perch.StatusFailed {
					if msg == "" {
						t.Errorf("%s FAILED without a message", what)
					}
					t.Logf("%s FAILED after the restart: %s", what, msg)
					return
				}
				if ctx.Err() != nil {
					t.Fatalf("%s still %s after the restart\n%s", what, st, p.stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		ds, err := c.CreateDataSource(ctx, service.DataSourceInput{ID: "train", DataURL: "adult/train.csv.gz", TargetAttributeName: "income", ComputeStatistics: true})
		if err != nil {
			t.Fatal(err)
		}
		restart("data source", func() (perch.Status, string, int, error) {
			d, err := c.GetDataSource(ctx, ds.ID)
			if err != nil {
				return "", "", 0, err
			}
			return d.Status, d.Message, d.Attempt, nil
		})
		ds, err = c.GetDataSource(ctx, ds.ID)
		if err != nil {
			t.Fatal(err)
		}
		bigDS, err := c.CreateDataSource(ctx, service.DataSourceInput{ID: "big", DataURL: "adult/big.csv", Schema: ds.Schema})
		if err != nil {
			t.Fatal(err)
		}

		m, err := c.CreateMLModel(ctx, service.MLModelInput{ID: "income", Type: perch.BinaryModel, TrainingDataSourceID: ds.ID})
		if err != nil {
			t.Fatal(err)
		}
		restart("model", func() (perch.Status, string, int, error) {
			m, err := c.GetMLModel(ctx, m.ID)
			if err != nil {
				return "", "", 0, err
			}
			return m.Status, m.Message, m.Attempt, nil
		})

		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		ev, err := c.CreateEvaluation(cctx, service.EvaluationInput{ID: "eval", MLModelID: m.ID, DataSourceID: bigDS.ID})
		ccancel()
		if err != nil {
			p.cmd.Process.Signal(syscall.SIGQUIT) // its goroutines, to stderr
			p.cmd.Wait()
			t.Fatalf("%v\n%s", err, p.stderr.String())
		}
		restart("evaluation", func() (perch.Status, string, int, error) {
			e, err := c.GetEvaluation(ctx, ev.ID)
			if err != nil {
				return "", "", 0, err
			}
			return e.Status, e.Message, e.Attempt, nil
		})

		bp, err := c.CreateBatchPrediction(ctx, service.BatchPredictionInput{ID: "batch", MLModelID: m.ID, DataSourceID: bigDS.ID, OutputURL: "out/batch.csv"})
		if err != nil {
			t.Fatal(err)
		}
		restart("batch prediction", func() (perch.Status, string, int, error) {
			b, err := c.GetBatchPrediction(ctx, bp.ID)
			if err != nil {
				return "", "", 0, err
			}
			return b.Status, b.Message, b.Attempt, nil
		})

		// Nothing is left INPROGRESS, and what completed is whole.
		b, err := c.GetBatchPrediction(ctx, bp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.Status == perch.StatusCompleted {
			r, err := c.GetObject(ctx, "out/batch.csv")
			if err != nil {
				t.Fatal(err)
			}
			n, err := countLines(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n != rows+1 || b.TotalRecords != int64(rows) {
				t.Errorf("batch output has %d lines and says %d records; want %d rows and a header", n, b.TotalRecords, rows)
			}
		}
		for _, kind := range []string{"datasources", "models", "evaluations", "batchpredictions"} {
			if n := inProgress(ctx, t, c, kind); n != 0 {
				t.Errorf("%d %s still INPROGRESS", n, kind)
			}
		}
		p.stop(t)
		if srv.database == "" {
			db, err := sql.Open("sqlite", filepath.Join(srv.dataDir, "perch.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var ok string
			if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
				t.Errorf("integrity_check: %q, %v", ok, err)
			}
		}
	})
}

// inProgress counts the entities of a kind that are INPROGRESS.
func inProgress(ctx context.Context, t *testing.T, c *client.Client, kind string) int {
	t.Helper()
	f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(perch.StatusInProgress)}
	var n int
	var err error
	switch kind {
	case "datasources":
		var l []*perch.DataSource
		l, _, err = c.ListDataSources(ctx, f)
		n = len(l)
	case "models":
		var l []*perch.MLModel
		l, _, err = c.ListMLModels(ctx, f)
		n = len(l)
	case "evaluations":
		var l []*perch.Evaluation
		l, _, err = c.ListEvaluations(ctx, f)
		n = len(l)
	case "batchpredictions":
		var l []*perch.BatchPrediction
		l, _, err = c.ListBatchPredictions(ctx, f)
		n = len(l)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// repeatRows returns the CSV in gz, its header line once and its rows k
// times over, and the number of rows.
func repeatRows(t *testing.T, gz []byte, k int) ([]byte, int) {
	t.Helper()
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(all, []byte("\n")) {
		all = append(all, '\n')
	}
	i := bytes.IndexByte(all, '\n') + 1
	header, body := all[:i], all[i:]
	return append(header, bytes.Repeat(body, k)...), bytes.Count(body, []byte("\n")) * k
}

func countLines(r io.Reader) (int, error) {
	n := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}
