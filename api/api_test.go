package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/api"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// testQueue runs each job in its own goroutine, trying again while the
// job waits on another entity, until the test ends.
type testQueue struct {
	svc *service.Service
	ctx context.Context
	wg  sync.WaitGroup
}

func (q *testQueue) Enqueue(_ context.Context, j service.Job) error {
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		for {
			err := q.svc.Run(q.ctx, j)
			if !errors.Is(err, service.ErrNotReady) {
				return
			}
			select {
			case <-q.ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return nil
}

// env is a real service behind the API on a loopback server.
type env struct {
	svc  *service.Service
	srv  *httptest.Server
	root string // the root key
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, opt api.Options) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "perch.db"))
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := objects.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	q := &testQueue{ctx: ctx}
	svc := service.New(service.Config{Store: store, Objects: bucket, Queue: q})
	q.svc = svc
	root, _ := access.NewKey()
	if err := svc.RegisterRootKey(ctx, root); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := httptest.NewServer(api.New(svc, opt))
	svc.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		q.wg.Wait()
		store.Close()
		bucket.Close()
	})
	return &env{svc: svc, srv: srv, root: root, logs: logs}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response %s: %v", r, err)
	}
	return v
}

// do sends a request with key (none when ""); body is sent as it is when
// it is a string or []byte, as JSON otherwise.
func (e *env) do(t testing.TB, method, path, key string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// call is do with the root key, failing unless the status is want.
func (e *env) call(t testing.TB, want int, method, path string, body any) response {
	t.Helper()
	r := e.do(t, method, path, e.root, body)
	if r.status != want {
		t.Fatalf("%s %s: got %s, want status %d", method, path, r, want)
	}
	return r
}

// wantError checks an error response: status, code and (when msg is not
// "") a message containing msg.
func wantError(t testing.TB, r response, status int, code, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if body.Error.Code != code {
		t.Errorf("error code %q, want %q (%s)", body.Error.Code, code, r.body)
	}
	if !strings.Contains(body.Error.Message, msg) {
		t.Errorf("error message %q, want it to contain %q", body.Error.Message, msg)
	}
}

// waitDone polls an entity until it is COMPLETED, failing if it FAILED.
func (e *env) waitDone(t testing.TB, path string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		v := e.call(t, 200, "GET", path, nil).json(t)
		switch v["status"] {
		case "COMPLETED":
			return v
		case "FAILED", "DELETED":
			t.Fatalf("%s: %v", path, v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v", path, v["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upload puts a shipped data set into the object store.
func (e *env) upload(t testing.TB, key, name string) {
	t.Helper()
	b, err := examples.ReadAll(name)
	if err != nil {
		t.Fatal(err)
	}
	o := e.call(t, 201, "PUT", "/v1/objects/"+key, b).json(t)
	if o["key"] != key || o["size"] != float64(len(b)) || o["etag"] == "" || !strings.HasSuffix(o["url"].(string), "/"+key) {
		t.Fatalf("PUT %s: %v", key, o)
	}
}

// foundingRecord is the Adult record the quickstart predicts, in column
// order.
const foundingRecord = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"

// adult is a service with the Adult model trained, evaluated and behind
// an endpoint, shared by the tests that need one.
type adult struct {
	*env
	train, test, model, eval, batch string            // ids
	names                           []string          // the schema's attributes, target last
	entities                        map[string][]byte // a real response of each entity kind
}

var (
	adultOnce sync.Once
	adultEnv  *adult
)

// trained returns the shared Adult service, building it the first time:
// the whole flow over HTTP, checked step by step.
func trained(t testing.TB) *adult {
	t.Helper()
	adultOnce.Do(func() { adultEnv = buildAdult(t) })
	if adultEnv == nil {
		t.Fatal("the Adult flow failed in an earlier test")
	}
	return adultEnv
}

func buildAdult(t testing.TB) *adult {
	// The shared service outlives the test that builds it; TestMain
	// closes it.
	e := newEnv(sharedTB{t}, api.Options{})
	a := &adult{env: e, entities: map[string][]byte{}}
	e.upload(t, "adult/train.csv", "adult/train.csv")
	e.upload(t, "adult/test.csv", "adult/test.csv")

	r := e.call(t, 201, "POST", "/v1/datasources", map[string]any{
		"name": "adult train", "dataUrl": "adult/train.csv", "targetAttributeName": "income", "computeStatistics": true,
	})
	ds := r.json(t)
	a.train = ds["id"].(string)
	if loc := r.header.Get("Location"); loc != "/v1/datasources/"+a.train {
		t.Fatalf("Location %q", loc)
	}
	if ds["status"] != "PENDING" {
		t.Fatalf("new data source: %v", ds)
	}
	ds = e.waitDone(t, "/v1/datasources/"+a.train)
	for _, at := range ds["schema"].(map[string]any)["attributes"].([]any) {
		a.names = append(a.names, at.(map[string]any)["attributeName"].(string))
	}
	want := []string{"age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
		"relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country", "income"}
	if !slices.Equal(a.names, want) {
		t.Fatalf("inferred attributes %v, want %v", a.names, want)
	}
	if ds["records"] != float64(32561) {
		t.Fatalf("records %v, want 32561", ds["records"])
	}
	a.entities["DataSource"] = e.call(t, 200, "GET", "/v1/datasources/"+a.train, nil).body
	a.test = e.call(t, 201, "POST", "/v1/datasources", map[string]any{
		"dataUrl": "adult/test.csv", "schema": ds["schema"], "rearrangement": map[string]any{"splitting": map[string]any{"percentBegin": 0, "percentEnd": 100}},
	}).json(t)["id"].(string)

	r = e.call(t, 201, "POST", "/v1/models", map[string]any{
		"name": "income", "type": "BINARY", "trainingDataSourceId": a.train, "parameters": map[string]string{"sgd.maxPasses": "10"},
	})
	a.model = r.json(t)["id"].(string)
	m := e.waitDone(t, "/v1/models/"+a.model)
	if m["endpoint"].(map[string]any)["status"] != "NONE" {
		t.Fatalf("model endpoint: %v", m["endpoint"])
	}

	ev := e.call(t, 201, "POST", "/v1/evaluations", map[string]any{"mlModelId": a.model, "dataSourceId": a.test}).json(t)
	a.eval = ev["id"].(string)
	ev = e.waitDone(t, "/v1/evaluations/"+a.eval)
	auc, err := strconv.ParseFloat(ev["performanceMetrics"].(map[string]any)["BinaryAUC"].(string), 64)
	if err != nil || auc <= 0.9 {
		t.Fatalf("BinaryAUC %v (%v), want > 0.9", auc, err)
	}
	a.entities["Evaluation"] = e.call(t, 200, "GET", "/v1/evaluations/"+a.eval, nil).body

	bp := e.call(t, 201, "POST", "/v1/batchpredictions", map[string]any{
		"mlModelId": a.model, "dataSourceId": a.test, "outputUrl": "out/",
	}).json(t)
	a.batch = bp["id"].(string)

	m = e.call(t, 200, "POST", "/v1/models/"+a.model+"/endpoint", `{"peakRequestsPerSecond": 50}`).json(t)
	ep := m["endpoint"].(map[string]any)
	if ep["status"] != "READY" || ep["peakRequestsPerSecond"] != float64(50) || ep["url"] != e.srv.URL+"/v1/models/"+a.model+"/predict" {
		t.Fatalf("endpoint: %v", ep)
	}
	a.entities["MLModel"] = e.call(t, 200, "GET", "/v1/models/"+a.model, nil).body

	e.waitDone(t, "/v1/batchpredictions/"+a.batch)
	a.entities["BatchPrediction"] = e.call(t, 200, "GET", "/v1/batchpredictions/"+a.batch, nil).body
	return a
}

// record returns a CSV line of Adult values as a record of the schema's
// attribute names.
func (a *adult) record(line string) map[string]string {
	rec := map[string]string{}
	for i, v := range strings.Split(line, ",") {
		rec[a.names[i]] = strings.TrimSpace(v)
	}
	return rec
}

// sharedTB is a testing.TB whose cleanups run when the package's tests
// end, for a fixture that several tests share.
type sharedTB struct{ testing.TB }

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func (s sharedTB) Cleanup(f func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, f)
	cleanupMu.Unlock()
}

func (s sharedTB) TempDir() string {
	dir, err := os.MkdirTemp("", "perch-api-test-")
	if err != nil {
		s.Fatal(err)
	}
	s.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupMu.Unlock()
	os.Exit(code)
}

func TestFlow(t *testing.T) {
	a := trained(t)
	e := a.env

	// The founding record: an exact AML answer.
	r := e.call(t, 200, "POST", "/v1/models/"+a.model+"/predict", map[string]any{"record": a.record(foundingRecord)})
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got struct {
		Prediction map[string]json.RawMessage `json:"prediction"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	keys := slices.Sorted(mapKeys(got.Prediction))
	if want := []string{"details", "predictedLabel", "predictedOriginalLabel", "predictedScores"}; !slices.Equal(keys, want) {
		t.Fatalf("prediction keys %v, want %v: %s", keys, want, r.body)
	}
	if s := string(got.Prediction["predictedLabel"]); s != `"0"` {
		t.Errorf("predictedLabel %s, want \"0\"", s)
	}
	if s := string(got.Prediction["predictedOriginalLabel"]); s != `"<=50K"` {
		t.Errorf("predictedOriginalLabel %s, want \"<=50K\" unescaped", s)
	}
	if s := string(got.Prediction["details"]); s != `{"PredictiveModelType":"BINARY","Algorithm":"SGD"}` {
		t.Errorf("details %s", s)
	}
	var scores map[string]float64
	if err := json.Unmarshal(got.Prediction["predictedScores"], &scores); err != nil || len(scores) != 1 {
		t.Fatalf("predictedScores %s: %v", got.Prediction["predictedScores"], err)
	}
	if p, ok := scores["0"]; !ok || p <= 0 || p >= 0.5 {
		t.Errorf("predictedScores %v: want the score of \"0\", below 0.5", scores)
	}
	if !strings.HasPrefix(string(r.body), `{"prediction":{"predictedLabel":"0","predictedScores":{"0":`) {
		t.Errorf("body %s: not in AML's field order", r.body)
	}

	// Several at once, in order.
	rich := a.record("52, Self-emp-inc, 287927, Doctorate, 16, Married-civ-spouse, Exec-managerial, Husband, White, Male, 15024, 0, 60, United-States")
	r = e.call(t, 200, "POST", "/v1/models/"+a.model+"/predictions", map[string]any{"records": []any{a.record(foundingRecord), rich}})
	var batch struct {
		Predictions []struct {
			Label string `json:"predictedLabel"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(r.body, &batch); err != nil || len(batch.Predictions) != 2 ||
		batch.Predictions[0].Label != "0" || batch.Predictions[1].Label != "1" {
		t.Errorf("predictions %s (%v): want labels 0 and 1", r.body, err)
	}

	// The batch prediction's output, through the object API.
	bp := e.call(t, 200, "GET", "/v1/batchpredictions/"+a.batch, nil).json(t)
	out := bp["outputUrl"].(string)
	key := out[strings.Index(out, "/out/")+1:]
	if key != "out/"+a.batch+".csv" {
		t.Fatalf("outputUrl %s", out)
	}
	r = e.call(t, 200, "GET", "/v1/objects/"+key, nil)
	if ct := r.header.Get("Content-Type"); ct != "text/csv" {
		t.Errorf("Content-Type %q, want text/csv", ct)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 16281+1 || !slices.Equal(rows[0][:2], []string{"bestAnswer", "score"}) {
		t.Errorf("output: %d rows, header %v; want 16282 rows, bestAnswer,score,…", len(rows), rows[0])
	}
	if bp["totalRecords"] != float64(16281) {
		t.Errorf("totalRecords %v", bp["totalRecords"])
	}

	// Statistics and the evaluation report are JSON documents.
	var stats, report map[string]any
	if err := json.Unmarshal(e.call(t, 200, "GET", "/v1/datasources/"+a.train+"/statistics", nil).body, &stats); err != nil || len(stats) == 0 {
		t.Errorf("statistics: %v %v", stats, err)
	}
	if err := json.Unmarshal(e.call(t, 200, "GET", "/v1/evaluations/"+a.eval+"/report", nil).body, &report); err != nil || len(report) == 0 {
		t.Errorf("report: %v %v", report, err)
	}
	wantError(t, e.do(t, "GET", "/v1/datasources/"+a.test+"/statistics", e.root, nil), 404, "NotFound", "without computeStatistics")
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestThreshold(t *testing.T) {
	a := trained(t)
	e := a.env
	// A model of its own, so that moving its threshold does not change
	// the other tests' predictions.
	id := e.call(t, 201, "POST", "/v1/models", map[string]any{"type": "BINARY", "trainingDataSourceId": a.train}).json(t)["id"].(string)
	e.waitDone(t, "/v1/models/"+id)
	e.call(t, 200, "POST", "/v1/models/"+id+"/endpoint", nil)
	body := map[string]any{"record": a.record(foundingRecord)}
	label := func() string {
		var v struct {
			Prediction struct {
				Label string `json:"predictedLabel"`
			} `json:"prediction"`
		}
		if err := json.Unmarshal(e.call(t, 200, "POST", "/v1/models/"+id+"/predict", body).body, &v); err != nil {
			t.Fatal(err)
		}
		return v.Prediction.Label
	}
	if l := label(); l != "0" {
		t.Fatalf("label %q at threshold 0.5, want 0", l)
	}
	m := e.call(t, 200, "PATCH", "/v1/models/"+id, `{"scoreThreshold": 0.01}`).json(t)
	if m["scoreThreshold"] != 0.01 {
		t.Fatalf("PATCH: %v", m)
	}
	if l := label(); l != "1" {
		t.Errorf("label %q at threshold 0.01, want 1", l)
	}
	wantError(t, e.do(t, "PATCH", "/v1/models/"+id, e.root, `{"scoreThreshold": 2}`), 400, "Invalid", "scoreThreshold")
	wantError(t, e.do(t, "PATCH", "/v1/models/"+id, e.root, `{"scoreThreshold": "high"}`), 400, "Invalid", "scoreThreshold: want a number, got string")

	// Closing the endpoint closes predictions; deleting the model hides it.
	m = e.call(t, 200, "DELETE", "/v1/models/"+id+"/endpoint", nil).json(t)
	if m["endpoint"].(map[string]any)["status"] != "NONE" {
		t.Errorf("endpoint after DELETE: %v", m["endpoint"])
	}
	wantError(t, e.do(t, "POST", "/v1/models/"+id+"/predict", e.root, body), 409, "Conflict", "no real-time endpoint")
	m = e.call(t, 200, "DELETE", "/v1/models/"+id, nil).json(t)
	if m["status"] != "DELETED" {
		t.Errorf("model after DELETE: %v", m["status"])
	}
}

func TestPredictErrors(t *testing.T) {
	a := trained(t)
	e := a.env
	path := "/v1/models/" + a.model + "/predict"
	rec := a.record(foundingRecord)

	wantError(t, e.do(t, "POST", "/v1/models/ml-nosuchmodel/predict", e.root, map[string]any{"record": rec}), 404, "NotFound", "")
	wantError(t, e.do(t, "POST", path, e.root, `{"record": {"age": "22",`), 400, "Invalid", "malformed JSON")
	wantError(t, e.do(t, "POST", path, e.root, `{"record": {"age": 22, "sex": "Male"}}`), 400, "Invalid", `record attribute "age": want a string, got number`)
	wantError(t, e.do(t, "POST", path, e.root, `{"record": {"age": "22", "sex": ["Male"]}}`), 400, "Invalid", `record attribute "sex": want a string, got array`)
	wantError(t, e.do(t, "POST", path, e.root, `{}`), 400, "Invalid", "record: required")
	wantError(t, e.do(t, "POST", path, e.root, `{"record": null}`), 400, "Invalid", "record: required")
	wantError(t, e.do(t, "POST", path, e.root, `{"record": {}, "extra": 1}`), 400, "Invalid", `unknown field "extra"`)
	wantError(t, e.do(t, "POST", path, e.root, `{"record": {}} {}`), 400, "Invalid", "data after the JSON value")
	wantError(t, e.do(t, "POST", path, e.root, `[]`), 400, "Invalid", "")
	wantError(t, e.do(t, "POST", path, e.root, ``), 400, "Invalid", "empty")

	big := map[string]any{"record": map[string]string{"age": "22", "education": strings.Repeat("x", 200<<10)}}
	wantError(t, e.do(t, "POST", path, e.root, big), 413, "LimitExceeded", fmt.Sprintf("request body over %d bytes", 100<<10+1<<10))

	// A body of unknown length is cut off at the cap too.
	bigBody, _ := json.Marshal(big)
	req, _ := http.NewRequest("POST", e.srv.URL+path, io.MultiReader(bytes.NewReader(bigBody)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+e.root)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Errorf("chunked 200 KB body: status %d, want 413", res.StatusCode)
	}

	r := e.do(t, "POST", path, "", map[string]any{"record": rec})
	wantError(t, r, 401, "Unauthorized", "")
	if r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	never, _ := access.NewKey()
	wantError(t, e.do(t, "POST", path, never, map[string]any{"record": rec}), 401, "Unauthorized", "unknown or revoked key")
	wantError(t, e.do(t, "POST", path, "perch_short", map[string]any{"record": rec}), 401, "Unauthorized", "not a perch key")

	// A model without an endpoint.
	noEndpoint := e.call(t, 201, "POST", "/v1/models", map[string]any{"type": "BINARY", "trainingDataSourceId": a.train}).json(t)["id"].(string)
	wantError(t, e.do(t, "POST", "/v1/models/"+noEndpoint+"/predict", e.root, map[string]any{"record": rec}), 409, "Conflict", "no real-time endpoint")

	// A value that does not parse as its NUMERIC type is missing, and named.
	rec2 := maps(rec)
	rec2["age"] = "twenty-two"
	var v struct {
		Prediction struct {
			Label   string   `json:"predictedLabel"`
			Invalid []string `json:"invalidAttributes"`
		} `json:"prediction"`
	}
	if err := json.Unmarshal(e.call(t, 200, "POST", path, map[string]any{"record": rec2}).body, &v); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Prediction.Invalid, []string{"age"}) {
		t.Errorf("invalidAttributes %v, want [age]", v.Prediction.Invalid)
	}

	// Escapes take the slow path and give the same answer.
	plain := e.call(t, 200, "POST", path, map[string]any{"record": rec}).body
	esc := strings.Replace(string(mustJSON(t, map[string]any{"record": rec})), `"Masters"`, `"Mas\u0074ers"`, 1)
	if got := e.call(t, 200, "POST", path, esc).body; !bytes.Equal(got, plain) {
		t.Errorf("escaped record: %s, want %s", got, plain)
	}

	// Batches: their own limits and errors.
	bpath := "/v1/models/" + a.model + "/predictions"
	wantError(t, e.do(t, "POST", bpath, e.root, `{"records": [{"age": "1"}, {"age": true}]}`), 400, "Invalid", `records[1] attribute "age": want a string, got boolean`)
	wantError(t, e.do(t, "POST", bpath, e.root, `{}`), 400, "Invalid", "records: required")
	many := make([]map[string]string, service.MaxBatchRecords+1)
	wantError(t, e.do(t, "POST", bpath, e.root, map[string]any{"records": many}), 413, "LimitExceeded", "")
}

func maps(m map[string]string) map[string]string {
	c := map[string]string{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResponsesMatchOpenAPI checks real responses of every kind against
// the schemas openapi.json gives them.
func TestResponsesMatchOpenAPI(t *testing.T) {
	a := trained(t)
	e := a.env
	for _, kind := range []string{"DataSource", "MLModel", "Evaluation", "BatchPrediction"} {
		if a.entities[kind] == nil {
			t.Fatalf("no %s response", kind)
		}
		api.CheckSchema(t, kind, a.entities[kind])
	}
	rec := a.record(foundingRecord)
	rec["age"] = "old"
	for _, c := range []struct {
		schema, method, path string
		status               int
		body                 any
	}{
		{"DataSourcePage", "GET", "/v1/datasources", 200, nil},
		{"MLModelPage", "GET", "/v1/models?limit=1", 200, nil},
		{"EvaluationPage", "GET", "/v1/evaluations", 200, nil},
		{"BatchPredictionPage", "GET", "/v1/batchpredictions", 200, nil},
		{"PredictResponse", "POST", "/v1/models/" + a.model + "/predict", 200, map[string]any{"record": rec}},
		{"PredictBatchResponse", "POST", "/v1/models/" + a.model + "/predictions", 200, map[string]any{"records": []any{rec, rec}}},
		{"Tags", "POST", "/v1/models/" + a.model + "/tags", 200, `{"tags":{"a":"b"}}`},
		{"Object", "PUT", "/v1/objects/schema/check.csv", 201, "a\n1\n"},
		{"ObjectPage", "GET", "/v1/objects?prefix=adult/", 200, nil},
		{"NewKey", "POST", "/v1/keys", 201, `{"name":"schema"}`},
		{"KeyPage", "GET", "/v1/keys", 200, nil},
		{"Error", "GET", "/v1/models/nosuch", 404, nil},
		{"Status", "GET", "/healthz", 200, nil},
	} {
		api.CheckSchema(t, c.schema, e.call(t, c.status, c.method, c.path, c.body).body)
	}
	// A revoked key is a Key.
	id := e.call(t, 201, "POST", "/v1/keys", `{"name":"gone"}`).json(t)["id"].(string)
	api.CheckSchema(t, "Key", e.call(t, 200, "DELETE", "/v1/keys/"+id, nil).body)
}
