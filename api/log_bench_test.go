package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perchml/perch/api"
)

// BenchmarkPredictLogged is the predict route through the whole chain
// with the access log on at Info, as perch serve runs it, written as JSON
// to a writer that keeps nothing.
func BenchmarkPredictLogged(b *testing.B) {
	a := trained(b)
	body := mustJSON(b, map[string]any{"record": a.record(foundingRecord)})
	path := "/v1/models/" + a.model + "/predict"
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := api.New(a.svc, api.Options{Logger: log, Registry: prometheus.NewRegistry()})
	req := httptest.NewRequest("POST", path, nil)
	req.Header.Set("Authorization", "Bearer "+a.root)
	req.ContentLength = int64(len(body))
	rb := &rewindBody{}
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(body)
		req.Body = rb
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d: %s", w.code, w.body)
		}
	}
}
