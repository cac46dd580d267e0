package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/jobs"
	"github.com/perchml/perch/service"
)

// logLine is one JSON line of the server's log, with the fields the tests
// read.
type logLine struct {
	Level, Msg, Method, Path string
	Status                   int
	Duration                 *int64
	KeyName                  *string `json:"key_name"`
	Job, Entity, ID, Reason  string
}

// startLogged starts a server in-process on a fresh data directory with
// the flags given, its log going to the buffer returned.
func startLogged(t *testing.T, args ...string) (*server, *syncBuffer) {
	t.Helper()
	for _, k := range []string{"PERCH_LOG_LEVEL", "PERCH_LOG_FORMAT", "PERCH_DATABASE", "PERCH_OBJECTS", "PERCH_LISTEN"} {
		t.Setenv(k, "")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := serverFlags(fs)
	if err := fs.Parse(append([]string{"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s, err := startServer(context.Background(), cfg, &logs)
	if err != nil {
		t.Fatal(err)
	}
	return s, &logs
}

// TestLogDataSourceAndModel: at the default level, creating a data source
// and a model logs the requests and each job's start and finish, naming
// the entity.
func TestLogDataSourceAndModel(t *testing.T) {
	s, logs := startLogged(t)
	stopped := false
	defer func() {
		if !stopped {
			s.shutdown(10 * time.Second)
		}
	}()
	ctx := context.Background()
	c := client.New(s.url, s.rootKey)
	var csv strings.Builder
	csv.WriteString("x,colour,y\n")
	for i := range 200 {
		fmt.Fprintf(&csv, "%d,%s,%d\n", i%17, []string{"red", "blue"}[i%2], i%17/9)
	}
	if _, err := c.PutObject(ctx, "d.csv", strings.NewReader(csv.String())); err != nil {
		t.Fatal(err)
	}
	ds, err := c.CreateDataSource(ctx, service.DataSourceInput{DataURL: "d.csv", TargetAttributeName: "y"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: ds.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitDone(ctx, "model "+m.ID, func() (*perch.MLModel, error) { return c.GetMLModel(ctx, m.ID) }); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := s.shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	var lines []logLine
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var v logLine
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("a log line that is not JSON: %v\n%s", err, l)
		}
		if v.Level == "DEBUG" {
			t.Errorf("a Debug line at the default level: %s", l)
		}
		lines = append(lines, v)
	}
	has := func(what string, ok func(l logLine) bool) {
		t.Helper()
		for _, l := range lines {
			if ok(l) {
				return
			}
		}
		t.Errorf("the log has no %s:\n%s", what, logs.String())
	}
	for _, path := range []string{"/v1/datasources", "/v1/models"} {
		has("request line for POST "+path, func(l logLine) bool {
			return l.Level == "INFO" && l.Msg == "request" && l.Method == "POST" && l.Path == path && l.Status == 201 &&
				l.Duration != nil && l.KeyName != nil && *l.KeyName == "root"
		})
	}
	for _, e := range []struct{ job, entity, id string }{{"datasource", "data source", ds.ID}, {"train", "model", m.ID}} {
		for _, msg := range []string{"job started", "job finished"} {
			has(fmt.Sprintf("%q line for %s %s", msg, e.entity, e.id), func(l logLine) bool {
				return l.Level == "INFO" && l.Msg == msg && l.Job == e.job && l.Entity == e.entity && l.ID == e.id &&
					(msg == "job started" || l.Duration != nil)
			})
		}
	}
	for _, l := range lines {
		if strings.Contains(l.Msg, "river") || strings.Contains(strings.ToLower(l.Msg), "elector") {
			t.Errorf("River's chatter at Info: %+v", l)
		}
	}
}

// TestLogFailedJob: a job that fails logs the reason.
func TestLogFailedJob(t *testing.T) {
	s, logs := startLogged(t)
	defer s.shutdown(10 * time.Second)
	ctx := context.Background()
	c := client.New(s.url, s.rootKey)
	if _, err := c.PutObject(ctx, "bad.csv", strings.NewReader("a,b\n1,2\n3\n")); err != nil {
		t.Fatal(err)
	}
	ds, err := c.CreateDataSource(ctx, service.DataSourceInput{DataURL: "bad.csv"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := waitDone(ctx, "data source", func() (*perch.DataSource, error) { return c.GetDataSource(ctx, ds.ID) })
	if err == nil {
		t.Fatalf("the data source is %s", got.Status)
	}
	d, _ := c.GetDataSource(ctx, ds.ID)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), `"msg":"job failed"`) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		var v logLine
		if json.Unmarshal([]byte(l), &v) == nil && v.Msg == "job failed" {
			if v.Level != "WARN" || v.ID != ds.ID || v.Entity != "data source" || v.Reason != d.Message || v.Reason == "" || v.Duration == nil {
				t.Errorf("job failed line: %s (message %q)", l, d.Message)
			}
			return
		}
	}
	t.Errorf("no job failed line:\n%s", logs.String())
}

// TestLogFormat: --log-format text writes text; JSON is the default when
// the log is not a terminal; other names are refused.
func TestLogFormat(t *testing.T) {
	s, logs := startLogged(t, "--log-format", "text")
	s.shutdown(10 * time.Second)
	if out := logs.String(); !strings.Contains(out, "level=INFO msg=serving url=") {
		t.Errorf("text log:\n%s", out)
	}
	s, logs = startLogged(t)
	s.shutdown(10 * time.Second)
	if out := logs.String(); !strings.HasPrefix(out, `{"time":`) {
		t.Errorf("default log:\n%s", out)
	}
	if _, err := newLogger(os.Stderr, "info", "xml"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("--log-format xml: %v", err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file is taken for a terminal")
	}
}

func TestDescribeBusy(t *testing.T) {
	job := func(kind service.JobKind, id string) jobs.Running {
		return jobs.Running{Job: service.Job{Kind: kind, ID: id, Attempt: 1}}
	}
	for _, c := range []struct {
		requests int64
		running  []jobs.Running
		want     string
	}{
		{0, nil, ""},
		{1, nil, "1 request"},
		{2, []jobs.Running{job(service.JobTrain, "ml-123")}, "2 requests and 1 job (model ml-123)"},
		{0, []jobs.Running{job(service.JobDataSource, "ds-1"), {PipelineRun: "run-9"}}, "2 jobs (data source ds-1, pipeline run run-9)"},
		{0, []jobs.Running{job(service.JobDataSource, "a"), job(service.JobEvaluate, "b"), job(service.JobBatch, "c"), job(service.JobTrain, "d"), job(service.JobTrain, "e")},
			"5 jobs (data source a, evaluation b, batch prediction c and 2 more)"},
	} {
		if got := describeBusy(c.requests, c.running); got != c.want {
			t.Errorf("describeBusy(%d, %v) = %q, want %q", c.requests, c.running, got, c.want)
		}
	}
}
