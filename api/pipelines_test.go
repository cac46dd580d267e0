package api_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/api"
)

// TestPipelines creates a pipeline from YAML and from JSON, and checks
// each answer against the OpenAPI document.
func TestPipelines(t *testing.T) {
	a := trained(t)
	e := a.env
	dir := t.TempDir()
	yaml := "id: api-income\nname: income\nmodel: " + a.model + "\nsource:\n  objects: file://" + filepath.Join(dir, "in") +
		"\n  prefix: incoming/\nsinks:\n  - sql: {url: 'sqlite://" + filepath.Join(dir, "r.db") + "', table: predictions}\n" +
		"dead_letter: file://" + filepath.Join(dir, "dead") + "\n"
	r := e.do(t, "POST", "/v1/pipelines", e.root, yaml)
	if r.status != 201 || r.header.Get("Location") != "/v1/pipelines/api-income" {
		t.Fatalf("create from YAML: %s", r)
	}
	api.CheckSchema(t, "Pipeline", r.body)
	wantError(t, e.do(t, "POST", "/v1/pipelines", e.root, yaml), 409, "Conflict", "")
	j := `{"model": "` + a.model + `", "source": {"objects": "file:///srv/in"}, "sinks": [{"objects": {"url": "file:///srv/out"}}], "dead_letter": "file:///srv/dead"}`
	api.CheckSchema(t, "Pipeline", e.call(t, 201, "POST", "/v1/pipelines", j).body)
	wantError(t, e.do(t, "POST", "/v1/pipelines", e.root, `{"model": "nope", "source": {"objects": "file:///srv/in"}, "sinks": [{"objects": {"url": "file:///srv/out"}}], "dead_letter": "file:///srv/dead"}`), 400, "Invalid", "model nope not found")
	wantError(t, e.do(t, "POST", "/v1/pipelines", e.root, "sinks: [1"), 400, "Invalid", "")

	api.CheckSchema(t, "PipelinePage", e.call(t, 200, "GET", "/v1/pipelines?filter=MLModelId&op=EQ&value="+a.model, nil).body)
	api.CheckSchema(t, "Pipeline", e.call(t, 200, "POST", "/v1/pipelines/api-income/pause", nil).body)
	api.CheckSchema(t, "Pipeline", e.call(t, 200, "POST", "/v1/pipelines/api-income/resume", nil).body)
	if err := e.svc.Store().CreatePipelineRun(context.Background(), &perch.PipelineRun{Meta: perch.Meta{ID: "pr-api"}, Pipeline: "api-income", Key: "incoming/a.csv", Version: "1"}); err != nil {
		t.Fatal(err)
	}
	r = e.call(t, 200, "GET", "/v1/pipelines/api-income/runs?limit=10", nil)
	api.CheckSchema(t, "PipelineRunPage", r.body)
	if !strings.Contains(string(r.body), `"key":"incoming/a.csv"`) {
		t.Errorf("runs: %s", r.body)
	}
	r = e.call(t, 200, "POST", "/v1/pipelines/api-income/test?key=x.csv", "age,education\n30,Masters\n1,2,3\n")
	api.CheckSchema(t, "PipelinePreview", r.body)
	if !strings.Contains(string(r.body), `"records":2,"predicted":1,"deadLetters":1`) {
		t.Errorf("test: %s", r.body)
	}
	// S3 event notifications: with a key, for the pipeline's bucket.
	event := `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"elsewhere/a.csv"}}}]}`
	wantError(t, e.do(t, "POST", "/v1/pipelines/api-income/events", "", event), 401, "Unauthorized", "")
	wantError(t, e.do(t, "POST", "/v1/pipelines/nope/events", e.root, event), 404, "NotFound", "")
	wantError(t, e.do(t, "POST", "/v1/pipelines/api-income/events", e.root, "[1]"), 400, "Invalid", "S3 event")
	if r := e.call(t, 200, "POST", "/v1/pipelines/api-income/events", event); string(r.body) != "{\"taken\":[]}\n" {
		t.Errorf("an event outside the prefix: %s", r.body)
	}
	api.CheckSchema(t, "Pipeline", e.call(t, 200, "DELETE", "/v1/pipelines/api-income", nil).body)
	wantError(t, e.do(t, "POST", "/v1/pipelines/api-income/resume", e.root, nil), 400, "Invalid", "deleted")
}
