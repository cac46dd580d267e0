package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/examples"
)

// TestRemotePipeline manages a pipeline through the commands: create from
// YAML and from JSON on stdin, list, get, pause, resume, test on a local
// file (writing nothing), runs and delete.
func TestRemotePipeline(t *testing.T) {
	e := newRemote(t)
	dir := t.TempDir()
	b, err := examples.ReadAll("adult/train.csv")
	if err != nil {
		t.Fatal(err)
	}
	train := filepath.Join(dir, "train.csv")
	os.WriteFile(train, firstLines(b, 3001), 0o600)
	ds := decodeOut[perch.DataSource](t, e.must(t, "", "datasources", "create", "--file", train, "--target", "income", "--wait"))
	m := decodeOut[perch.MLModel](t, e.must(t, "", "models", "create", "--datasource", ds.ID, "--type", "binary", "--wait"))

	def := filepath.Join(dir, "income.yaml")
	os.WriteFile(def, []byte(`name: income-inbox
model: `+m.ID+`
source:
  objects: file://`+filepath.Join(dir, "inbox")+`
  format: csv
sinks:
  - sql: {url: "sqlite://`+filepath.Join(dir, "results.db")+`", table: predictions}
  - objects: {url: "file://`+filepath.Join(dir, "outbox")+`", format: jsonl}
dead_letter: file://`+filepath.Join(dir, "dead")+`
`), 0o600)
	p := decodeOut[perch.Pipeline](t, e.must(t, "", "pipeline", "create", "--file", def))
	if p.Name != "income-inbox" || p.State != perch.PipelineRunning || p.Status != perch.StatusCompleted || len(p.Sinks) != 2 || p.Sinks[1].Objects.Format != "jsonl" {
		t.Fatalf("created %+v", p)
	}
	row := tableRow(t, e.must(t, "", "pipeline", "list").stdout, p.ID)
	if row[1] != "income-inbox" || row[2] != m.ID || row[3] != "RUNNING" {
		t.Errorf("list row %q", row)
	}
	if got := decodeOut[perch.Pipeline](t, e.must(t, "", "pipeline", "pause", p.ID)); got.State != perch.PipelinePaused {
		t.Errorf("paused: %+v", got)
	}
	if got := decodeOut[perch.Pipeline](t, e.must(t, "", "pipeline", "resume", p.ID)); got.State != perch.PipelineRunning {
		t.Errorf("resumed: %+v", got)
	}
	if got := decodeOut[perch.Pipeline](t, e.must(t, "", "pipeline", "get", p.ID)); got.DeadLetter != "file://"+filepath.Join(dir, "dead") {
		t.Errorf("get: %+v", got)
	}
	// JSON on stdin; a bad definition says what is wrong.
	j := decodeOut[perch.Pipeline](t, e.must(t, `{"id": "second", "model": "`+m.ID+`", "source": {"objects": "file:///srv/in"},
		"sinks": [{"objects": {"url": "file:///srv/out"}}], "dead_letter": "file:///srv/dead"}`, "pipeline", "create", "--file", "-"))
	if j.ID != "second" {
		t.Errorf("from JSON: %+v", j)
	}
	failsWith(t, e.run("model: x\n", "pipeline", "create", "--file", "-"), 1, "source.objects is required")
	failsWith(t, e.run("modell: x\n", "pipeline", "create", "--file", "-"), 1, "modell")

	// A test on a local file writes nothing and shows what would be.
	sample := filepath.Join(dir, "sample.csv")
	test, _ := examples.ReadAll("adult/test.csv")
	os.WriteFile(sample, append(firstLines(test, 11), "1, 2, 3\n"...), 0o600)
	r := e.must(t, "", "pipeline", "test", p.ID, "--file", sample)
	for _, want := range []string{
		"11 records, 10 predicted, 1 dead letters; nothing was written.",
		"== sql sqlite://" + filepath.Join(dir, "results.db") + " table predictions: 10 rows\npipeline,source_key,source_version,source_row,source_line,age,",
		"== objects file://" + filepath.Join(dir, "outbox") + "/sample.jsonl: 10 rows\n{\"source_row\":1,\"source_line\":2,\"record\":{\"age\":\"25\",",
		"== dead_letter file://" + filepath.Join(dir, "dead") + "/" + p.ID + "/sample.csv/",
		`"line":12,"raw":"1, 2, 3","error":"line 12: record has 3 fields, want 15"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("test output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, p := range []string{"results.db", "outbox", "dead"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("the test wrote %s", p)
		}
	}

	// Runs, as the watcher records them.
	ctx := context.Background()
	if err := e.srv.Service.Store().CreatePipelineRun(ctx, &perch.PipelineRun{Meta: perch.Meta{ID: "pr-1", Status: perch.StatusCompleted},
		Pipeline: p.ID, Key: "a.csv", Version: "v1", Rows: 1003, Predicted: 1000, DeadLetters: 3, DurationMS: 42}); err != nil {
		t.Fatal(err)
	}
	row = tableRow(t, e.must(t, "", "pipeline", "runs", p.ID).stdout, "pr-1")
	if strings.Join(row[1:7], " ") != "a.csv COMPLETED 1003 1000 3 42ms" {
		t.Errorf("runs row %q", row)
	}
	failsWith(t, e.run("", "pipeline", "runs", "nope"), 1, "not found")

	if rp := decodeOut[struct{ Objects, Replayed, Remaining int }](t, e.must(t, "", "pipeline", "replay", p.ID)); rp.Objects != 0 || rp.Replayed != 0 {
		t.Errorf("replay with no dead letters: %+v", rp)
	}

	// A key may do to pipelines what its policy allows: this one may
	// pause them, not create them.
	pol := write(t, filepath.Join(t.TempDir(), "pause.json"), `{"Statement":{"Effect":"Allow","Action":"perch:UpdatePipeline","Resource":"pipeline/*"}}`)
	k := decodeOut[struct{ Key string }](t, e.must(t, "", "keys", "create", "--name", "ci", "--policy", pol))
	failsWith(t, cli("", "pipeline", "create", "--file", def, "--server", e.srv.URL, "--key", k.Key), 1, "may not perch:CreatePipeline")
	mustRun(t, "", "pipeline", "pause", p.ID, "--server", e.srv.URL, "--key", k.Key)
	if got := decodeOut[perch.Pipeline](t, e.must(t, "", "pipeline", "delete", p.ID)); got.Status != perch.StatusDeleted {
		t.Errorf("deleted: %+v", got)
	}
	failsWith(t, e.run("", "pipeline", "resume", p.ID), 1, "deleted")
}

// firstLines returns the first n lines of b.
func firstLines(b []byte, n int) []byte {
	end := 0
	for i := 0; i < n && end < len(b); i++ {
		j := strings.IndexByte(string(b[end:]), '\n')
		if j < 0 {
			return b
		}
		end += j + 1
	}
	return b[:end]
}
