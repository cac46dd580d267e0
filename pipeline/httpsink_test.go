package pipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
)

// receiver is an HTTP endpoint that fails its first fails requests.
type receiver struct {
	mu      sync.Mutex
	fails   int
	posts   int
	keys    map[string]int // idempotency key → results taken
	results int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.posts++
	if rc.fails > 0 {
		rc.fails--
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	var body struct {
		Pipeline string `json:"pipeline"`
		Results  []struct {
			Row        int64             `json:"source_row"`
			Record     map[string]string `json:"record"`
			Prediction perch.Prediction  `json:"prediction"`
		} `json:"results"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Pipeline == "" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	k := r.Header.Get("Idempotency-Key")
	if _, dup := rc.keys[k]; !dup {
		rc.keys[k] = len(body.Results)
		rc.results += len(body.Results)
	}
}

func TestHTTPSink(t *testing.T) {
	old := httpBackoff
	httpBackoff = 5 * time.Millisecond
	defer func() { httpBackoff = old }()
	rc := &receiver{fails: 2, keys: map[string]int{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	e := newEnv(t)
	ctx := context.Background()
	setSinks := func(s perch.PipelineSink) {
		if _, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
			p.Sinks = []perch.PipelineSink{s}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Loopback is refused unless allowed, at once.
	setSinks(perch.PipelineSink{HTTP: &perch.HTTPSink{URL: srv.URL, Batch: 300}})
	r := e.drop(t, "a.csv", testRows(t, 1000))
	start := time.Now()
	if err := e.engine.Run(ctx, r.ID, 1); err == nil || !strings.Contains(err.Error(), "allow_private") {
		t.Fatalf("run: %v", err)
	}
	if rc.posts != 0 || time.Since(start) > time.Second {
		t.Errorf("%d posts in %s", rc.posts, time.Since(start))
	}
	got, _ := e.store.GetPipelineRun(ctx, r.ID)
	if got.Status != perch.StatusPending || !strings.Contains(got.Message, "allow_private") {
		t.Errorf("run after the refusal: %+v", got)
	}
	// Allowed, two 500s are retried, and 1,000 results go in 4 batches.
	setSinks(perch.PipelineSink{HTTP: &perch.HTTPSink{URL: srv.URL, Batch: 300, AllowPrivate: true}})
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if rc.results != 1000 || len(rc.keys) != 4 || rc.posts != 6 {
		t.Errorf("%d results in %d batches, %d posts", rc.results, len(rc.keys), rc.posts)
	}
	// A receiver that stays down fails the run, to be tried again.
	rc.fails = 100
	r = e.drop(t, "b.csv", testRows(t, 10))
	if err := e.engine.Run(ctx, r.ID, 1); err == nil || !strings.Contains(err.Error(), "after 5 tries") {
		t.Fatalf("run against a receiver down: %v", err)
	}
}

func TestRefusePrivate(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:80": true, "10.1.2.3:80": true, "192.168.0.1:443": true, "172.16.0.1:80": true,
		"169.254.169.254:80": true, "[fe80::1]:80": true, "0.0.0.0:80": true, "[::ffff:127.0.0.1]:80": true,
		"8.8.8.8:443": false, "[2001:4860:4860::8888]:443": false,
	} {
		if err := refusePrivate("tcp", addr, nil); (err != nil) != refused {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
