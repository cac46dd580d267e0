package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMetricsListen checks that --metrics-listen serves /metrics without
// a key, and nothing else, while /metrics on --listen still needs one.
func TestMetricsListen(t *testing.T) {
	s, logs := startLogged(t, "--metrics-listen", "127.0.0.1:0")
	defer s.shutdown(10 * time.Second)
	if s.metricsURL == "" || !strings.Contains(logs.String(), s.metricsURL) {
		t.Fatalf("metrics address %q not logged:\n%s", s.metricsURL, logs.String())
	}
	get := func(url string) (int, string) {
		t.Helper()
		r, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	get(s.url + "/healthz")
	code, body := get(s.metricsURL)
	if code != 200 || !strings.Contains(body, `perch_http_requests_total{code="200",method="GET",route="/healthz"} 1`) ||
		!strings.Contains(body, "go_goroutines") {
		t.Errorf("GET %s: %d\n%.2000s", s.metricsURL, code, body)
	}
	if code, _ := get(strings.TrimSuffix(s.metricsURL, "/metrics") + "/v1/models"); code != 404 {
		t.Errorf("the metrics address answers the API: %d", code)
	}
	if code, _ := get(s.url + "/metrics"); code != 401 {
		t.Errorf("/metrics on --listen without a key: %d, want 401", code)
	}
}

// TestObjectsOutsideDataDir checks that serve refuses an object folder
// holding the data directory, whose files are secrets.
func TestObjectsOutsideDataDir(t *testing.T) {
	dir := t.TempDir()
	for _, objs := range []string{dir, "file://" + dir, filepath.Dir(dir)} {
		if err := outsideDataDir(objs, dir); err == nil || !strings.Contains(err.Error(), "holds the data directory") {
			t.Errorf("--objects %s with the data dir %s: %v", objs, dir, err)
		}
	}
	for _, objs := range []string{filepath.Join(dir, "objects"), "s3://bucket?endpoint=http://127.0.0.1:9000"} {
		if err := outsideDataDir(objs, dir); err != nil {
			t.Errorf("--objects %s: %v", objs, err)
		}
	}
}
