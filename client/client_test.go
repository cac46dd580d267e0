package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

const testKey = "perch_test-key"

// fake is a server answering with handlers a test registers, checking the
// credential on every request but the probes, as the real one does.
func fake(t *testing.T, routes map[string]http.HandlerFunc) *Client {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.Header.Get("Authorization") != "Bearer "+testKey {
			writeError(w, http.StatusUnauthorized, "Unauthorized", "missing or wrong key")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", testKey) // the trailing slash is dropped
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Request-Id", "req-42")
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func TestCreateAndGet(t *testing.T) {
	var got service.DataSourceInput
	c := fake(t, map[string]http.HandlerFunc{
		"POST /v1/datasources": func(w http.ResponseWriter, r *http.Request) {
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
				t.Error(err)
			}
			writeJSON(w, http.StatusCreated, perch.DataSource{
				Meta:    perch.Meta{ID: "ds-1", Name: got.Name, Status: perch.StatusPending},
				DataURL: "file:///data/" + got.DataURL, TargetAttributeName: got.TargetAttributeName,
			})
		},
		"GET /v1/datasources/{id}": func(w http.ResponseWriter, r *http.Request) {
			if id := r.PathValue("id"); id != "ds 1/x" {
				writeError(w, http.StatusNotFound, "NotFound", "data source "+id+" not found")
				return
			}
			writeJSON(w, http.StatusOK, perch.DataSource{Meta: perch.Meta{ID: "ds 1/x", Status: perch.StatusCompleted}})
		},
	})
	ctx := context.Background()
	in := service.DataSourceInput{Name: "adult", DataURL: "uploads/adult.csv", TargetAttributeName: "income", ComputeStatistics: true}
	d, err := c.CreateDataSource(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("server got %+v, want %+v", got, in)
	}
	if d.ID != "ds-1" || d.Status != perch.StatusPending || d.DataURL != "file:///data/uploads/adult.csv" || d.TargetAttributeName != "income" {
		t.Errorf("created %+v", d)
	}
	// An id is one path segment, whatever it holds.
	if d, err := c.GetDataSource(ctx, "ds 1/x"); err != nil || d.Status != perch.StatusCompleted {
		t.Errorf("GetDataSource: %+v, %v", d, err)
	}
	if _, err := c.GetDataSource(ctx, ""); perch.Code(err) != perch.EInvalid {
		t.Errorf("empty id: %v", err)
	}
}

func TestErrors(t *testing.T) {
	c := fake(t, map[string]http.HandlerFunc{
		"GET /v1/models/{id}": func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "NotFound", "model "+r.PathValue("id")+" not found")
		},
		"GET /v1/evaluations/{id}": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body>bad gateway</body></html>")
		},
		"GET /v1/batchpredictions/{id}": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream timed out\nmore detail", http.StatusGatewayTimeout)
		},
		"POST /v1/models/{id}/endpoint": func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusConflict, "Conflict", "model ml-1 is INPROGRESS; an endpoint needs a COMPLETED model")
		},
	})
	ctx := context.Background()

	_, err := c.GetMLModel(ctx, "ml-404")
	if perch.Code(err) != perch.ENotFound || err.Error() != "model ml-404 not found" {
		t.Errorf("404: code %q, %v", perch.Code(err), err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Status != http.StatusNotFound || ce.RequestID != "req-42" {
		t.Errorf("404: %#v", err)
	}
	var pe *perch.Error
	if !errors.As(err, &pe) || pe.Code != perch.ENotFound {
		t.Errorf("404 does not unwrap to *perch.Error: %#v", err)
	}

	_, err = c.CreateEndpoint(ctx, "ml-1", 10)
	if perch.Code(err) != perch.EConflict || !strings.Contains(err.Error(), "INPROGRESS") {
		t.Errorf("409: %v", err)
	}

	// A proxy's HTML page says only its status.
	_, err = c.GetEvaluation(ctx, "ev-1")
	if perch.Code(err) != perch.EInternal || err.Error() != "server answered 502 Bad Gateway" {
		t.Errorf("502: code %q, %q", perch.Code(err), err)
	}
	// A plain text one adds its first line.
	_, err = c.GetBatchPrediction(ctx, "bp-1")
	if perch.Code(err) != perch.EInternal || err.Error() != "server answered 504 Gateway Timeout: upstream timed out" {
		t.Errorf("504: code %q, %q", perch.Code(err), err)
	}

	// A wrong key.
	_, _, err = New(c.BaseURL(), "perch_wrong").ListMLModels(ctx, perch.Filter{})
	if perch.Code(err) != perch.EUnauthorized {
		t.Errorf("wrong key: %v", err)
	}

	// No server at all.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err = New(url, testKey).GetMLModel(ctx, "ml-1")
	if err == nil || !strings.Contains(err.Error(), url) || perch.Code(err) != perch.EInternal {
		t.Errorf("no server: %v", err)
	}
}

func TestList(t *testing.T) {
	var query []string
	c := fake(t, map[string]http.HandlerFunc{
		"GET /v1/models": func(w http.ResponseWriter, r *http.Request) {
			query = append(query, r.URL.RawQuery)
			if r.URL.Query().Get("pageToken") == "" {
				writeJSON(w, http.StatusOK, map[string]any{
					"items":         []perch.MLModel{{Meta: perch.Meta{ID: "ml-2"}, Type: perch.BinaryModel}},
					"nextPageToken": "tok/2+=",
				})
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"items": []perch.MLModel{{Meta: perch.Meta{ID: "ml-1"}}}})
		},
	})
	ctx := context.Background()
	f := perch.Filter{Variable: "Name", Op: perch.OpPrefix, Value: "a b&c", Desc: true, Limit: 1}
	ms, next, err := c.ListMLModels(ctx, f)
	if err != nil || len(ms) != 1 || ms[0].ID != "ml-2" || ms[0].Type != perch.BinaryModel || next != "tok/2+=" {
		t.Fatalf("page 1: %v, %q, %v", ms, next, err)
	}
	f.PageToken = next
	ms, next, err = c.ListMLModels(ctx, f)
	if err != nil || len(ms) != 1 || ms[0].ID != "ml-1" || next != "" {
		t.Fatalf("page 2: %v, %q, %v", ms, next, err)
	}
	want := []string{
		"filter=Name&limit=1&op=Prefix&sort=desc&value=a+b%26c",
		"filter=Name&limit=1&op=Prefix&pageToken=tok%2F2%2B%3D&sort=desc&value=a+b%26c",
	}
	if !reflect.DeepEqual(query, want) {
		t.Errorf("queries\n%q\nwant\n%q", query, want)
	}
	// An empty filter sends no query at all.
	query = nil
	if _, _, err := c.ListMLModels(ctx, perch.Filter{}); err != nil || query[0] != "" {
		t.Errorf("empty filter: %q, %v", query, err)
	}
}

func TestObjects(t *testing.T) {
	stored := map[string][]byte{}
	var lengths []int64
	c := fake(t, map[string]http.HandlerFunc{
		"PUT /v1/objects/{key...}": func(w http.ResponseWriter, r *http.Request) {
			key := r.PathValue("key")
			lengths = append(lengths, r.ContentLength)
			b, _ := io.ReadAll(r.Body)
			stored[key] = b
			writeJSON(w, http.StatusCreated, ObjectInfo{Key: key, URL: "file:///objects/" + r.URL.EscapedPath()[len("/v1/objects/"):], Size: int64(len(b)), ETag: "e1"})
		},
		"GET /v1/objects/{key...}": func(w http.ResponseWriter, r *http.Request) {
			b, ok := stored[r.PathValue("key")]
			if !ok {
				writeError(w, http.StatusNotFound, "NotFound", "no object "+r.PathValue("key"))
				return
			}
			w.Write(b)
		},
		"GET /v1/objects": func(w http.ResponseWriter, r *http.Request) {
			var items []ObjectInfo
			for k, b := range stored {
				if strings.HasPrefix(k, r.URL.Query().Get("prefix")) {
					items = append(items, ObjectInfo{Key: k, Size: int64(len(b)), ModTime: time.Unix(1e9, 0).UTC()})
				}
			}
			writeJSON(w, http.StatusOK, map[string]any{"items": items})
		},
		"DELETE /v1/objects/{key...}": func(w http.ResponseWriter, r *http.Request) {
			delete(stored, r.PathValue("key"))
			w.WriteHeader(http.StatusNoContent)
		},
	})
	ctx := context.Background()
	key := "uploads/odd name?#%+ü/data.csv"
	info, err := c.PutObject(ctx, key, strings.NewReader("a,b\n1,2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != key || info.Size != 8 || info.ETag != "e1" {
		t.Errorf("put: %+v", info)
	}
	if want := "file:///objects/uploads/odd%20name%3F%23%25+%C3%BC/data.csv"; info.URL != want {
		t.Errorf("escaped path %q, want %q", info.URL, want)
	}
	if string(stored[key]) != "a,b\n1,2\n" {
		t.Errorf("stored %q under %q", stored, key)
	}

	// A file is streamed with its length and left open; a reader of unknown
	// length is sent chunked; an empty one with length 0.
	path := filepath.Join(t.TempDir(), "f.csv")
	os.WriteFile(path, bytes.Repeat([]byte("x"), 70000), 0o644)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(10, io.SeekStart)
	if _, err := c.PutObject(ctx, "big.csv", f); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat(); err != nil {
		t.Errorf("the file was closed: %v", err)
	}
	if _, err := c.PutObject(ctx, "pipe.csv", io.MultiReader(strings.NewReader("p"))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "empty.csv", bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	if want := []int64{8, 69990, -1, 0}; !reflect.DeepEqual(lengths, want) {
		t.Errorf("Content-Length %v, want %v", lengths, want)
	}
	if len(stored["big.csv"]) != 69990 || string(stored["pipe.csv"]) != "p" {
		t.Errorf("stored big %d, pipe %q", len(stored["big.csv"]), stored["pipe.csv"])
	}

	rc, err := c.GetObject(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "a,b\n1,2\n" {
		t.Errorf("get: %q", b)
	}
	items, err := c.ListObjects(ctx, "uploads/")
	if err != nil || len(items) != 1 || items[0].Key != key || !items[0].ModTime.Equal(time.Unix(1e9, 0)) {
		t.Errorf("list: %+v, %v", items, err)
	}
	if err := c.DeleteObject(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetObject(ctx, key); perch.Code(err) != perch.ENotFound {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := c.PutObject(ctx, "", strings.NewReader("")); perch.Code(err) != perch.EInvalid {
		t.Errorf("empty key: %v", err)
	}
}

func TestPredict(t *testing.T) {
	answers := map[string]perch.Prediction{
		"bin": {Type: perch.BinaryModel, Algorithm: "SGD", Label: "0", Original: "<=50K",
			Scores: []perch.Score{{Label: "0", Value: 0.1234567890123}}, Invalid: []string{"age"}},
		"multi": {Type: perch.MulticlassModel, Algorithm: "SGD", Label: "zeta",
			Scores: []perch.Score{{Label: "zeta", Value: 0.5}, {Label: "alpha", Value: 0.3}, {Label: "mu", Value: 0.2}}},
		"reg": {Type: perch.RegressionModel, Algorithm: "SGD", Value: -3.25e-7},
	}
	var gotRecord perch.Record
	var gotBody []byte
	c := fake(t, map[string]http.HandlerFunc{
		"POST /v1/models/{id}/predict": func(w http.ResponseWriter, r *http.Request) {
			gotBody, _ = io.ReadAll(r.Body)
			var in struct{ Record perch.Record }
			json.Unmarshal(gotBody, &in)
			gotRecord = in.Record
			p := answers[r.PathValue("id")]
			w.Write([]byte(`{"prediction":` + string(p.AppendJSON(nil)) + `}`))
		},
		"POST /v1/models/{id}/predictions": func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Records []perch.Record }
			json.NewDecoder(r.Body).Decode(&in)
			var b []byte
			b = append(b, `{"predictions":[`...)
			for i, rec := range in.Records {
				if i > 0 {
					b = append(b, ',')
				}
				p := answers[rec["kind"]]
				b = p.AppendJSON(b)
			}
			w.Write(append(b, "]}"...))
		},
	})
	ctx := context.Background()
	for id, want := range answers {
		rec := perch.Record{"age": "x", "kind": id, "income": "<=50K"}
		got, err := c.Predict(ctx, id, rec)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: got %+v, want %+v", id, *got, want)
		}
		if !reflect.DeepEqual(gotRecord, rec) {
			t.Errorf("%s: server got record %v", id, gotRecord)
		}
		if !bytes.Contains(gotBody, []byte(`"income":"<=50K"`)) {
			t.Errorf("%s: the body escapes what JSON does not need to: %s", id, gotBody)
		}
		// What the client read encodes back to the very bytes sent.
		if a, b := got.AppendJSON(nil), want.AppendJSON(nil); !bytes.Equal(a, b) {
			t.Errorf("%s: round trip\n%s\nwant\n%s", id, a, b)
		}
	}
	preds, err := c.PredictBatch(ctx, "any", []perch.Record{{"kind": "reg"}, {"kind": "multi"}, {"kind": "bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != 3 || !reflect.DeepEqual(preds[0], answers["reg"]) || !reflect.DeepEqual(preds[1], answers["multi"]) || !reflect.DeepEqual(preds[2], answers["bin"]) {
		t.Errorf("batch: %+v", preds)
	}
	if _, err := ParsePrediction([]byte(`{"details":{}}`)); err == nil {
		t.Error("a prediction without a label or value was accepted")
	}
}

func TestWait(t *testing.T) {
	var polls atomic.Int32
	script := map[string][]string{
		"ok":     {"PENDING", "INPROGRESS", "503", "INPROGRESS", "COMPLETED"},
		"failed": {"PENDING", "FAILED"},
		"gone":   {"DELETED"},
		"down":   {"502", "502", "502", "502", "502", "502"},
		"slow":   {"PENDING"},
	}
	seen := map[string]int{}
	c := fake(t, map[string]http.HandlerFunc{
		"GET /v1/models/{id}": func(w http.ResponseWriter, r *http.Request) {
			polls.Add(1)
			id := r.PathValue("id")
			steps, ok := script[id]
			if !ok {
				writeError(w, http.StatusNotFound, "NotFound", "model "+id+" not found")
				return
			}
			st := steps[min(seen[id], len(steps)-1)]
			seen[id]++
			switch st {
			case "502", "503":
				w.WriteHeader(map[string]int{"502": 502, "503": 503}[st])
				return
			}
			m := perch.MLModel{Meta: perch.Meta{ID: id, Status: perch.Status(st)}}
			if st == "FAILED" {
				m.Message = "the data source has no target"
			}
			writeJSON(w, http.StatusOK, m)
		},
	})
	ctx := context.Background()
	const every = time.Millisecond
	if err := c.Wait(ctx, "models", "ok", every); err != nil {
		t.Errorf("ok: %v", err)
	}
	if seen["ok"] != 5 {
		t.Errorf("ok: %d polls, want 5", seen["ok"])
	}
	err := c.Wait(ctx, "MLModel", "failed", every)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Status != perch.StatusFailed || fe.Message != "the data source has no target" ||
		err.Error() != "model failed FAILED: the data source has no target" {
		t.Errorf("failed: %v", err)
	}
	if err := c.Wait(ctx, "models", "gone", every); !errors.As(err, &fe) || fe.Status != perch.StatusDeleted {
		t.Errorf("gone: %v", err)
	}
	if err := c.Wait(ctx, "models", "down", every); perch.Code(err) != perch.EInternal || seen["down"] != maxPollFailures {
		t.Errorf("down: %v after %d polls", err, seen["down"])
	}
	if err := c.Wait(ctx, "models", "missing", every); perch.Code(err) != perch.ENotFound {
		t.Errorf("missing: %v", err)
	}
	if err := c.Wait(ctx, "widgets", "x", every); perch.Code(err) != perch.EInvalid {
		t.Errorf("bad resource: %v", err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := c.Wait(ctx2, "models", "slow", every); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow: %v", err)
	}
}

func TestTagsKeysProbes(t *testing.T) {
	tags := map[string]string{"team": "a"}
	ready := false
	c := fake(t, map[string]http.HandlerFunc{
		"GET /v1/{resource}/{id}/tags": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
		},
		"POST /v1/{resource}/{id}/tags": func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Tags map[string]string }
			json.NewDecoder(r.Body).Decode(&in)
			for k, v := range in.Tags {
				tags[k] = v
			}
			writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
		},
		"DELETE /v1/{resource}/{id}/tags": func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("resource") != "evaluations" || r.PathValue("id") != "ev-1" {
				writeError(w, 404, "NotFound", "wrong path")
				return
			}
			for _, k := range r.URL.Query()["key"] {
				delete(tags, k)
			}
			writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
		},
		"POST /v1/keys": func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Name string }
			json.NewDecoder(r.Body).Decode(&in)
			writeJSON(w, http.StatusCreated, map[string]any{"key": "perch_new", "id": "abc", "name": in.Name, "hint": "perch_new…", "status": "COMPLETED"})
		},
		"DELETE /v1/keys/{id}": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, perch.Key{Meta: perch.Meta{ID: r.PathValue("id"), Status: perch.StatusDeleted}})
		},
		"GET /readyz": func(w http.ResponseWriter, r *http.Request) {
			if !ready {
				writeError(w, http.StatusServiceUnavailable, "Internal", "starting")
				return
			}
			io.WriteString(w, "ok")
		},
	})
	ctx := context.Background()
	got, err := c.AddTags(ctx, Evaluations, "ev-1", map[string]string{"a": "1", "b": "2"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"team": "a", "a": "1", "b": "2"}) {
		t.Errorf("add: %v, %v", got, err)
	}
	got, err = c.DeleteTags(ctx, Evaluations, "ev-1", []string{"a", "team"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"b": "2"}) {
		t.Errorf("delete: %v, %v", got, err)
	}
	if got, err = c.Tags(ctx, Evaluations, "ev-1"); err != nil || !reflect.DeepEqual(got, map[string]string{"b": "2"}) {
		t.Errorf("get: %v, %v", got, err)
	}

	key, k, err := c.CreateKey(ctx, "ci", nil)
	if err != nil || key != "perch_new" || k.ID != "abc" || k.Name != "ci" || k.Hint != "perch_new…" {
		t.Errorf("create key: %q, %+v, %v", key, k, err)
	}
	if k, err := c.DeleteKey(ctx, "abc"); err != nil || k.Status != perch.StatusDeleted {
		t.Errorf("delete key: %+v, %v", k, err)
	}

	noKey := New(c.BaseURL(), "")
	var ce *Error
	if err := noKey.Ready(ctx); !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
		t.Errorf("ready before: %v", err)
	}
	ready = true
	if err := noKey.Ready(ctx); err != nil {
		t.Errorf("ready after: %v", err)
	}
}

// Contributions written by the server read back as they were, in order,
// for one margin and for one per class.
func TestParseContributions(t *testing.T) {
	for _, p := range []perch.Prediction{
		{Type: perch.BinaryModel, Algorithm: "GBDT", Label: "1", Scores: []perch.Score{{Label: "1", Value: 0.8}},
			Contributions: &perch.Contributions{Names: []string{"b", "a"}, Margins: []perch.Margin{{Expected: -1.5, Values: []float64{0.25, 2.5}}}}},
		{Type: perch.MulticlassModel, Algorithm: "GBDT", Label: "y", Scores: []perch.Score{{Label: "y", Value: 0.7}, {Label: "x", Value: 0.3}},
			Contributions: &perch.Contributions{Names: []string{"b", "a"}, Margins: []perch.Margin{
				{Class: "y", Expected: 0.5, Values: []float64{1, -1}}, {Class: "x", Expected: -0.5, Values: []float64{0.125, 3}}}}},
	} {
		b := p.AppendJSON(nil)
		got, err := ParsePrediction(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got.Contributions, p.Contributions) {
			t.Errorf("%s: read back %+v", b, got.Contributions)
		}
	}
	const multi = `{"predictedLabel":"y","predictedScores":{"y":0.7,"x":0.3},"details":{"PredictiveModelType":"MULTICLASS","Algorithm":"GBDT",` +
		`"contributions":{"y":{"b":1,"a":-1},"x":{"b":0.125,"a":3}},"expectedMargin":{"y":0.5,"x":-0.5}}}`
	if b := (&perch.Prediction{Type: perch.MulticlassModel, Algorithm: "GBDT", Label: "y", Scores: []perch.Score{{Label: "y", Value: 0.7}, {Label: "x", Value: 0.3}},
		Contributions: &perch.Contributions{Names: []string{"b", "a"}, Margins: []perch.Margin{
			{Class: "y", Expected: 0.5, Values: []float64{1, -1}}, {Class: "x", Expected: -0.5, Values: []float64{0.125, 3}}}}}).AppendJSON(nil); string(b) != multi {
		t.Errorf("MULTICLASS shape:\n%s\nwant\n%s", b, multi)
	}
	if _, err := ParsePrediction([]byte(`{"predictedLabel":"y","predictedScores":{},"details":{"PredictiveModelType":"MULTICLASS",` +
		`"contributions":{"y":{"b":1},"x":{"a":3}},"expectedMargin":{"y":0.5,"x":-0.5}}}`)); err == nil {
		t.Error("classes naming other attributes: no error")
	}
}
