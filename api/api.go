// Package api serves perch's REST JSON API over a service.Service.
//
// Every route is one entry of a table (method, pattern, handler, body cap,
// who may call it); the table registers the mux, wraps each handler in the
// same chain of layers and is what the OpenAPI document is checked
// against, so the three cannot drift apart.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// Options configures the handler New returns.
type Options struct {
	// Logger receives the access log (Info; Warn for 5xx; Debug for the
	// probes and /metrics) and the errors behind 500s; nil discards.
	Logger *slog.Logger
	// Ready reports whether the server takes traffic, for /readyz; nil
	// means always.
	Ready func() bool
	// Registry collects the API's metrics and is served on /metrics; nil
	// means a new one, with the Go runtime and process collectors too.
	Registry *prometheus.Registry
	// AML, if set, serves AML's JSON protocol (X-Amz-Target requests) on
	// POST /. It authenticates requests itself (SigV4), so the chain's
	// key check does not apply to it.
	AML http.Handler
}

// Body caps, by route.
const (
	defaultBodyBytes = 1 << 20
	predictBodyBytes = perch.MaxRecordBytes + 1<<10 // one record and room for the envelope
	batchBodyBytes   = 16 << 20
	objectBodyBytes  = 5 << 30
)

// api holds what the handlers share.
type api struct {
	svc     *service.Service
	log     *slog.Logger
	ready   func() bool
	metrics *metrics
	mux     *http.ServeMux
}

// New returns the REST API over svc.
func New(svc *service.Service, opt Options) http.Handler {
	return newAPI(svc, opt).mux
}

func newAPI(svc *service.Service, opt Options) *api {
	a := &api{svc: svc, log: opt.Logger, ready: opt.Ready}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.ready == nil {
		a.ready = func() bool { return true }
	}
	reg, own := opt.Registry, opt.Registry == nil
	if own {
		reg = prometheus.NewRegistry()
	}
	a.metrics = newMetrics(reg, own)
	registerPipelineMetrics(reg)
	a.mux = http.NewServeMux()
	for _, rt := range a.routes() {
		a.mux.Handle(rt.method+" "+rt.pattern, a.chain(rt))
	}
	if opt.AML != nil {
		aml := opt.AML
		a.mux.Handle("POST /{$}", a.chain(&route{op: "aml", method: "POST", pattern: "/", public: true, maxBody: defaultBodyBytes,
			handler: func(w http.ResponseWriter, r *http.Request) { aml.ServeHTTP(w, r) }}))
	}
	// Whatever no route matches answers 404 or 405 in JSON, through the
	// same chain so that it is logged and counted.
	a.mux.Handle("/", a.chain(&route{op: "unmatched", pattern: "unmatched", public: true, handler: a.unmatched}))
	return a
}

// route is one operation of the API.
type route struct {
	op      string // the OpenAPI operationId, and the name layers know it by
	method  string
	pattern string // a ServeMux path pattern
	handler http.HandlerFunc
	maxBody int64 // 0 is defaultBodyBytes
	public  bool  // served without a key
}

// routes is the API: every operation the OpenAPI document describes.
func (a *api) routes() []*route {
	rs := []*route{
		{op: "health", method: "GET", pattern: "/healthz", handler: a.health, public: true},
		{op: "ready", method: "GET", pattern: "/readyz", handler: a.readyz, public: true},
		{op: "openapi", method: "GET", pattern: "/v1/openapi.json", handler: serveOpenAPI, public: true},
		{op: "metrics", method: "GET", pattern: "/metrics", handler: a.serveMetrics},

		{op: "createDataSource", method: "POST", pattern: "/v1/datasources", handler: a.createDataSource},
		{op: "listDataSources", method: "GET", pattern: "/v1/datasources", handler: a.listDataSources},
		{op: "getDataSource", method: "GET", pattern: "/v1/datasources/{id}", handler: a.getDataSource},
		{op: "updateDataSource", method: "PATCH", pattern: "/v1/datasources/{id}", handler: a.updateDataSource},
		{op: "deleteDataSource", method: "DELETE", pattern: "/v1/datasources/{id}", handler: a.deleteDataSource},
		{op: "getDataSourceStatistics", method: "GET", pattern: "/v1/datasources/{id}/statistics", handler: a.dataSourceStatistics},

		{op: "createModel", method: "POST", pattern: "/v1/models", handler: a.createModel},
		{op: "listModels", method: "GET", pattern: "/v1/models", handler: a.listModels},
		{op: "getModel", method: "GET", pattern: "/v1/models/{id}", handler: a.getModel},
		{op: "updateModel", method: "PATCH", pattern: "/v1/models/{id}", handler: a.updateModel},
		{op: "deleteModel", method: "DELETE", pattern: "/v1/models/{id}", handler: a.deleteModel},
		{op: "createEndpoint", method: "POST", pattern: "/v1/models/{id}/endpoint", handler: a.createEndpoint},
		{op: "deleteEndpoint", method: "DELETE", pattern: "/v1/models/{id}/endpoint", handler: a.deleteEndpoint},
		{op: "predict", method: "POST", pattern: "/v1/models/{id}/predict", handler: a.predict, maxBody: predictBodyBytes},
		{op: "predictBatch", method: "POST", pattern: "/v1/models/{id}/predictions", handler: a.predictBatch, maxBody: batchBodyBytes},
		{op: "explain", method: "POST", pattern: "/v1/models/{id}/explain", handler: a.explain, maxBody: predictBodyBytes},

		{op: "createEvaluation", method: "POST", pattern: "/v1/evaluations", handler: a.createEvaluation},
		{op: "listEvaluations", method: "GET", pattern: "/v1/evaluations", handler: a.listEvaluations},
		{op: "getEvaluation", method: "GET", pattern: "/v1/evaluations/{id}", handler: a.getEvaluation},
		{op: "updateEvaluation", method: "PATCH", pattern: "/v1/evaluations/{id}", handler: a.updateEvaluation},
		{op: "deleteEvaluation", method: "DELETE", pattern: "/v1/evaluations/{id}", handler: a.deleteEvaluation},
		{op: "getEvaluationReport", method: "GET", pattern: "/v1/evaluations/{id}/report", handler: a.evaluationReport},

		{op: "createBatchPrediction", method: "POST", pattern: "/v1/batchpredictions", handler: a.createBatchPrediction},
		{op: "listBatchPredictions", method: "GET", pattern: "/v1/batchpredictions", handler: a.listBatchPredictions},
		{op: "getBatchPrediction", method: "GET", pattern: "/v1/batchpredictions/{id}", handler: a.getBatchPrediction},
		{op: "updateBatchPrediction", method: "PATCH", pattern: "/v1/batchpredictions/{id}", handler: a.updateBatchPrediction},
		{op: "deleteBatchPrediction", method: "DELETE", pattern: "/v1/batchpredictions/{id}", handler: a.deleteBatchPrediction},

		{op: "listObjects", method: "GET", pattern: "/v1/objects", handler: a.listObjects},
		{op: "putObject", method: "PUT", pattern: "/v1/objects/{key...}", handler: a.putObject, maxBody: objectBodyBytes},
		{op: "getObject", method: "GET", pattern: "/v1/objects/{key...}", handler: a.getObject},
		{op: "deleteObject", method: "DELETE", pattern: "/v1/objects/{key...}", handler: a.deleteObject},

		{op: "createKey", method: "POST", pattern: "/v1/keys", handler: a.createKey},
		{op: "listKeys", method: "GET", pattern: "/v1/keys", handler: a.listKeys},
		{op: "simulatePolicy", method: "POST", pattern: "/v1/policy/simulate", handler: a.simulatePolicy},
		{op: "getKey", method: "GET", pattern: "/v1/keys/{id}", handler: a.getKey},
		{op: "putKeyPolicy", method: "PUT", pattern: "/v1/keys/{id}/policy", handler: a.putKeyPolicy},
		{op: "deleteKey", method: "DELETE", pattern: "/v1/keys/{id}", handler: a.deleteKey},

		{op: "listAudit", method: "GET", pattern: "/v1/audit", handler: a.listAudit},
	}
	rs = append(rs, a.pipelineRoutes()...)
	// Tags are alike for every kind; each kind has its own paths, since a
	// {resource} wildcard would overlap /v1/objects/{key...}.
	for _, k := range []struct{ path, name string }{
		{"datasources", "DataSource"},
		{"models", "Model"},
		{"evaluations", "Evaluation"},
		{"batchpredictions", "BatchPrediction"},
	} {
		p := "/v1/" + k.path + "/{id}/tags"
		rs = append(rs,
			&route{op: "get" + k.name + "Tags", method: "GET", pattern: p, handler: a.tags(k.path)},
			&route{op: "add" + k.name + "Tags", method: "POST", pattern: p, handler: a.addTags(k.path)},
			&route{op: "delete" + k.name + "Tags", method: "DELETE", pattern: p, handler: a.deleteTags(k.path)},
		)
	}
	return rs
}

// unmatched answers a request no route takes: 405 when the path has
// routes for other methods, 404 otherwise.
func (a *api) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := a.mux.Handler(probe); m != r.Method && p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "method %s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, r, errorf(http.StatusNotFound, "NotFound", "no route for %s %s", r.Method, r.URL.Path))
}

func (a *api) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if !a.ready() {
		writeJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
}
