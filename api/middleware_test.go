package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// testAPI is an api on a real service with no queue, its root key and
// its log.
func testAPI(t *testing.T) (*api, string, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "perch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	bucket, err := objects.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: store, Objects: bucket})
	root, _ := access.NewKey()
	if err := svc.RegisterRootKey(ctx, root); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a := newAPI(svc, Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return a, root, &logs
}

func serve(h http.Handler, method, path, key string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, body)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func errorBody(t *testing.T, w *httptest.ResponseRecorder) (code, msg string) {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return b.Error.Code, b.Error.Message
}

func TestRecoverer(t *testing.T) {
	a, root, logs := testAPI(t)
	h := a.chain(&route{op: "boom", method: "GET", pattern: "/boom", handler: func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}})
	w := serve(h, "GET", "/boom", root, nil)
	code, msg := errorBody(t, w)
	id := w.Header().Get("X-Request-Id")
	if w.Code != 500 || code != "Internal" || msg != "internal error (request id "+id+")" || id == "" {
		t.Errorf("panic: %d %s %s", w.Code, code, msg)
	}
	if !strings.Contains(logs.String(), `"msg":"panic","request_id":"`+id+`"`) || !strings.Contains(logs.String(), "middleware_test.go") {
		t.Errorf("the panic and its stack are not logged:\n%s", logs)
	}

	// The layers between see the 500 too.
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"request","request_id":"`+id+`","method":"GET","path":"/boom","route":"/boom","status":500`) {
		t.Errorf("the access log lacks the 500:\n%s", logs)
	}
	mw := httptest.NewRecorder()
	a.metrics.handler.ServeHTTP(mw, httptest.NewRequest("GET", "/metrics", nil))
	if want := `perch_http_requests_total{code="500",method="GET",route="/boom"} 1`; !strings.Contains(mw.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}

	// A panic after the answer started leaves the answer alone.
	h = a.chain(&route{op: "late", method: "GET", pattern: "/late", public: true, handler: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("partial"))
		panic("late")
	}})
	w = serve(h, "GET", "/late", "", nil)
	if w.Code != http.StatusAccepted || w.Body.String() != "partial" {
		t.Errorf("late panic: %d %q", w.Code, w.Body)
	}

	// http.ErrAbortHandler is net/http's to handle.
	h = a.chain(&route{op: "abort", method: "GET", pattern: "/abort", public: true, handler: func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}})
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler passed on", v)
			}
		}()
		serve(h, "GET", "/abort", "", nil)
	}()
}

func TestKeyFrom(t *testing.T) {
	a, root, _ := testAPI(t)
	var got *perch.Key
	whoami := func(w http.ResponseWriter, r *http.Request) { got = KeyFrom(r.Context()) }
	h := a.chain(&route{op: "whoami", method: "GET", pattern: "/whoami", handler: whoami})
	if w := serve(h, "GET", "/whoami", root, nil); w.Code != 200 || got == nil || !got.Root || got.Name != "root" {
		t.Errorf("KeyFrom: %v (status %d)", got, w.Code)
	}
	got = &perch.Key{}
	h = a.chain(&route{op: "open", method: "GET", pattern: "/open", public: true, handler: whoami})
	if serve(h, "GET", "/open", root, nil); got != nil {
		t.Errorf("KeyFrom on a public route: %v, want nil", got)
	}
	if KeyFrom(context.Background()) != nil {
		t.Error("KeyFrom outside a request is not nil")
	}

	// Another key is the caller of its requests; what it may do is the
	// service's to decide.
	key, made, err := a.svc.CreateKey(context.Background(), "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	var caller *perch.Caller
	h = a.chain(&route{op: "whoami", method: "GET", pattern: "/whoami", handler: func(w http.ResponseWriter, r *http.Request) {
		caller = perch.CallerFrom(r.Context())
	}})
	if w := serve(h, "GET", "/whoami", key, nil); w.Code != 200 || caller == nil || caller.Key == nil || caller.Key.ID != made.ID ||
		caller.Door != "rest" || !caller.SourceIP.IsValid() || caller.RequestID == "" {
		t.Errorf("the caller of a user key's request: %+v (status %d)", caller, w.Code)
	}
	for _, auth := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer " + key + "x"} {
		r := httptest.NewRequest("GET", "/whoami", nil)
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if code, _ := errorBody(t, w); w.Code != 401 || code != "Unauthorized" || w.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("Authorization %q: %d %s", auth, w.Code, code)
		}
	}
}

func TestLimitedBody(t *testing.T) {
	for _, c := range []struct {
		n, max int
		ok     bool
	}{{0, 10, true}, {10, 10, true}, {11, 10, false}, {5000, 10, false}, {5000, 4096, false}, {4096, 4096, true}} {
		b := &limitedBody{r: io.NopCloser(strings.NewReader(strings.Repeat("x", c.n))), left: int64(c.max), max: int64(c.max)}
		got, err := io.ReadAll(b)
		if c.ok && (err != nil || len(got) != c.n) {
			t.Errorf("%d bytes, cap %d: %d, %v", c.n, c.max, len(got), err)
		}
		if !c.ok && (perch.Code(err) != perch.ELimitExceeded || len(got) > c.max) {
			t.Errorf("%d bytes, cap %d: read %d, %v; want ELimitExceeded", c.n, c.max, len(got), err)
		}
	}
}

// TestFastRecord checks the hand-written parser against encoding/json on
// bodies that take it and bodies that must fall back.
func TestFastRecord(t *testing.T) {
	for _, body := range fastRecordSeeds {
		checkFastRecord(t, []byte(body))
	}
	rec := perch.Record{}
	if !fastRecord([]byte(`{"record":{"a":"1","b":"x y"}}`), rec) || !maps.Equal(rec, perch.Record{"a": "1", "b": "x y"}) {
		t.Errorf("plain body: %v", rec)
	}
	for _, body := range []string{`{"record":{"a":"\u0031"}}`, `{"Record":{}}`, `{"record":{"a":1}}`, `{"record":{}} x`, "{\"record\":{\"a\":\"\xff\"}}"} {
		if fastRecord([]byte(body), perch.Record{}) {
			t.Errorf("%s took the fast path", body)
		}
	}
}

var fastRecordSeeds = []string{
	`{"record":{}}`,
	` { "record" : { "age" : "22" , "sex":"Male" } } `,
	"{\"record\":{\"a\":\"1\"}}\n",
	`{"record":{"a":"1","a":"2"}}`,
	`{"record":{"a":"<=50K","é":"ü"}}`,
	`{"record":{"a":"\"q\""}}`,
	`{"record":{"a":"1",}}`,
	`{"record":{"a":"1"}`,
	`{"record":{"a":"1"}}}`,
	`{"record":{"a" "1"}}`,
	`{"record":[]}`,
	`{"record":null}`,
	`{"record":{"a":null}}`,
	`{"other":{}}`,
	`{"record":{},"record":{"b":"2"}}`,
	``,
	`{`,
	"{\"record\":{\"a\":\"tab\there\"}}",
}

func checkFastRecord(t *testing.T, body []byte) {
	rec := perch.Record{}
	fast := fastRecord(body, rec)
	err := parseRecord(body, perch.Record{})
	var want struct {
		Record perch.Record `json:"record"`
	}
	jerr := strictDecode(body, &want)
	if fast {
		if jerr != nil || !maps.Equal(rec, want.Record) || want.Record == nil {
			t.Errorf("%q: fast path gave %v, encoding/json %v (%v)", body, rec, want.Record, jerr)
		}
	}
	if (err == nil) != (jerr == nil && want.Record != nil) {
		t.Errorf("%q: parseRecord error %v, encoding/json error %v", body, err, jerr)
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range fastRecordSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFastRecord(t, body) })
}

// TestAccessLogInfo checks the access log at the default level: a line
// per request with its method, path, status, duration, bytes and key
// name; Warn for a 5xx; the probes and /metrics only at Debug.
func TestAccessLogInfo(t *testing.T) {
	base, root, _ := testAPI(t)
	var logs bytes.Buffer
	a := newAPI(base.svc, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ok := a.chain(&route{op: "made", method: "POST", pattern: "/made", handler: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("made"))
	}})
	broken := a.chain(&route{op: "broken", method: "GET", pattern: "/broken", public: true, handler: func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}})
	serve(ok, "POST", "/made", root, nil)
	serve(ok, "POST", "/made", "", nil) // no key: 401
	serve(broken, "GET", "/broken", "", nil)
	serve(a.mux, "GET", "/healthz", "", nil)
	serve(a.mux, "GET", "/readyz", "", nil)
	serve(a.mux, "GET", "/metrics", root, nil)

	type line struct {
		Level, Msg, Method, Path, Route string
		Status                          int
		Bytes                           int64
		Duration                        *int64
		KeyName                         *string `json:"key_name"`
		RequestID                       string  `json:"request_id"`
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if v.Msg == "request" {
			got = append(got, v)
		}
	}
	want := []struct {
		level, method, path string
		status              int
		bytes               int64
		key                 string
	}{
		{"INFO", "POST", "/made", 201, 4, "root"},
		{"INFO", "POST", "/made", 401, -1, ""},
		{"WARN", "GET", "/broken", 502, 0, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d request lines at Info, want %d (the probes and /metrics at Debug):\n%s", len(got), len(want), logs.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Level != w.level || g.Method != w.method || g.Path != w.path || g.Route != w.path || g.Status != w.status ||
			(w.bytes >= 0 && g.Bytes != w.bytes) || g.Duration == nil || *g.Duration <= 0 || g.KeyName == nil || *g.KeyName != w.key || g.RequestID == "" {
			t.Errorf("line %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestAccessLogAllocs checks that the access log at Info costs the
// request no allocation.
func TestAccessLogAllocs(t *testing.T) {
	base, _, _ := testAPI(t)
	rt := func() *route {
		return &route{op: "plain", method: "GET", pattern: "/plain", public: true, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ok"))
		}}
	}
	quiet := base.chain(rt())
	logged := newAPI(base.svc, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}).chain(rt())
	r := httptest.NewRequest("GET", "/plain", nil)
	w := &nopWriter{h: http.Header{}}
	allocs := func(h http.Handler) float64 {
		return testing.AllocsPerRun(200, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
	}
	if q, l := allocs(quiet), allocs(logged); l > q {
		t.Errorf("a request allocates %v times logged at Info, %v times unlogged", l, q)
	}
}

// nopWriter is a ResponseWriter that keeps nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
