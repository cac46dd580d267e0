package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perchml/perch/api"
)

// benchWriter is a ResponseWriter that keeps nothing, so that a benchmark
// measures the handler rather than a recorder.
type benchWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(c int)   { w.code = c }
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.body = append(w.body[:0], p...)
	return len(p), nil
}

// rewindBody is a request body read again on every iteration.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// BenchmarkPredictHTTP measures the predict route: through the whole
// handler chain with a writer that keeps nothing, and over loopback
// HTTP with keep-alive connections.
func BenchmarkPredictHTTP(b *testing.B) {
	a := trained(b)
	body := mustJSON(b, map[string]any{"record": a.record(foundingRecord)})
	path := "/v1/models/" + a.model + "/predict"
	h := api.New(a.svc, api.Options{Logger: discard, Registry: prometheus.NewRegistry()})

	b.Run("handler", func(b *testing.B) {
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
	})

	b.Run("loopback", func(b *testing.B) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+a.root)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("status %d", res.StatusCode)
					return
				}
			}
		})
	})
}
