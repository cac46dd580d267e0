package api

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/perchml/perch"
	"github.com/perchml/perch/pipeline"
	"github.com/perchml/perch/service"
)

// registerPipelineMetrics serves the pipelines' series on /metrics with
// the API's own.
func registerPipelineMetrics(reg *prometheus.Registry) {
	register(reg, pipeline.Collector())
}

// Body cap of a pipeline test: the file it is run on.
const pipelineTestBodyBytes = 64 << 20

// pipelineRoutes are the operations on pipelines. Since a pipeline reads
// and writes wherever its definition says, the ready-made policies other
// than admin do not allow creating one.
func (a *api) pipelineRoutes() []*route {
	return []*route{
		{op: "createPipeline", method: "POST", pattern: "/v1/pipelines", handler: a.createPipeline},
		{op: "listPipelines", method: "GET", pattern: "/v1/pipelines", handler: a.listPipelines},
		{op: "getPipeline", method: "GET", pattern: "/v1/pipelines/{id}", handler: a.getPipeline},
		{op: "deletePipeline", method: "DELETE", pattern: "/v1/pipelines/{id}", handler: a.deletePipeline},
		{op: "pausePipeline", method: "POST", pattern: "/v1/pipelines/{id}/pause", handler: a.pausePipeline},
		{op: "resumePipeline", method: "POST", pattern: "/v1/pipelines/{id}/resume", handler: a.resumePipeline},
		{op: "listPipelineRuns", method: "GET", pattern: "/v1/pipelines/{id}/runs", handler: a.listPipelineRuns},
		{op: "testPipeline", method: "POST", pattern: "/v1/pipelines/{id}/test", handler: a.testPipeline, maxBody: pipelineTestBodyBytes},
		{op: "pipelineEvents", method: "POST", pattern: "/v1/pipelines/{id}/events", handler: a.pipelineEvents},
		{op: "replayPipeline", method: "POST", pattern: "/v1/pipelines/{id}/replay", handler: a.replayPipeline},
	}
}

// createPipeline takes the definition as JSON or, with a YAML content
// type (or a body that is not a JSON object), as YAML.
func (a *api) createPipeline(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isYAML := mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml" || mt == "text/x-yaml"
	if t := bytes.TrimSpace(b); isYAML || (len(t) > 0 && t[0] != '{') {
		if b, err = yaml.YAMLToJSON(b); err != nil {
			writeError(w, r, invalidf("request body: not YAML or JSON: %v", err))
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var in service.PipelineInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.svc.CreatePipeline(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, "/v1/pipelines/"+p.ID, p)
}

func (a *api) listPipelines(w http.ResponseWriter, r *http.Request) {
	list(w, r, a.svc.ListPipelines)
}

func (a *api) getPipeline(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.GetPipeline(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, p, err)
}

func (a *api) deletePipeline(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.DeletePipeline(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, p, err)
}

func (a *api) pausePipeline(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.PausePipeline(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, p, err)
}

func (a *api) resumePipeline(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.ResumePipeline(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, p, err)
}

func (a *api) listPipelineRuns(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	list(w, r, func(ctx context.Context, f perch.Filter) ([]*perch.PipelineRun, string, error) {
		return a.svc.ListPipelineRuns(ctx, id, f)
	})
}

// testPipeline runs the pipeline on the body, read as the object named by
// the query's key (its extension picks the format), and answers what the
// sinks would get.
func (a *api) testPipeline(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "key")
	if err != nil {
		writeError(w, r, err)
		return
	}
	pv, err := a.svc.TestPipeline(r.Context(), r.PathValue("id"), q.Get("key"), r.Body)
	respond(w, r, http.StatusOK, pv, err)
}

func (a *api) replayPipeline(w http.ResponseWriter, r *http.Request) {
	res, err := a.svc.ReplayPipeline(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, res, err)
}

// pipelineEvents takes an S3 event notification (the body, as AWS or
// MinIO posts it to a webhook) for the pipeline's source: the objects it
// names are taken at once.
func (a *api) pipelineEvents(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	keys, err := a.svc.PipelineEvent(r.Context(), r.PathValue("id"), b)
	respond(w, r, http.StatusOK, map[string]any{"taken": keys}, err)
}
