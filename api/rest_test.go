package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/api"
)

// smallCSV is a data file that reads in no time.
const smallCSV = "x,y,label\n1,a,1\n2,b,0\n3,a,1\n4,b,0\n"

// dataSource creates a data source on an uploaded small CSV and returns
// its id.
func (e *env) dataSource(t testing.TB, name string) string {
	t.Helper()
	return e.call(t, 201, "POST", "/v1/datasources", map[string]any{"name": name, "dataUrl": "in/small.csv", "targetAttributeName": "label"}).json(t)["id"].(string)
}

func TestHealth(t *testing.T) {
	var ready bool
	e := newEnv(t, api.Options{Ready: func() bool { return ready }})
	if r := e.do(t, "GET", "/healthz", "", nil); r.status != 200 || string(r.body) != "{\"status\":\"ok\"}\n" {
		t.Errorf("healthz: %s", r)
	}
	if r := e.do(t, "GET", "/readyz", "", nil); r.status != 503 || string(r.body) != "{\"status\":\"starting\"}\n" {
		t.Errorf("readyz before ready: %s", r)
	}
	ready = true
	if r := e.do(t, "GET", "/readyz", "", nil); r.status != 200 || string(r.body) != "{\"status\":\"ready\"}\n" {
		t.Errorf("readyz: %s", r)
	}
	r := e.do(t, "GET", "/v1/openapi.json", "", nil)
	if r.status != 200 || r.json(t)["openapi"] != "3.0.3" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("openapi.json: %d %s", r.status, r.header)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t, api.Options{})
	wantError(t, e.do(t, "GET", "/nope", e.root, nil), 404, "NotFound", "no route for GET /nope")
	wantError(t, e.do(t, "GET", "/v1/nope", "", nil), 404, "NotFound", "")
	r := e.do(t, "PUT", "/v1/models", e.root, nil)
	wantError(t, r, 405, "MethodNotAllowed", "PUT")
	if a := r.header.Get("Allow"); a != "GET, HEAD, POST" {
		t.Errorf("Allow %q, want GET, HEAD, POST", a)
	}
	r = e.do(t, "GET", "/v1/models/m1/predict", e.root, nil)
	wantError(t, r, 405, "MethodNotAllowed", "")
	if a := r.header.Get("Allow"); a != "POST" {
		t.Errorf("Allow %q, want POST", a)
	}
	wantError(t, e.do(t, "GET", "/v1/models/nosuch", e.root, nil), 404, "NotFound", "")
	wantError(t, e.do(t, "GET", "/v1/models", "", nil), 401, "Unauthorized", "")
	wantError(t, e.do(t, "GET", "/metrics", "", nil), 401, "Unauthorized", "")
}

func TestRequestIDAndInternalErrors(t *testing.T) {
	e := newEnv(t, api.Options{})
	req, _ := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if id := res.Header.Get("X-Request-Id"); id != "trace-42" {
		t.Errorf("X-Request-Id %q, want the client's trace-42", id)
	}
	a, b := e.do(t, "GET", "/healthz", "", nil), e.do(t, "GET", "/healthz", "", nil)
	ida, idb := a.header.Get("X-Request-Id"), b.header.Get("X-Request-Id")
	if ida == "" || ida == idb {
		t.Errorf("generated ids %q and %q: want two different ones", ida, idb)
	}

	// A store that fails: the client gets the request id, the log the
	// cause.
	e.svc.Store().Close()
	r := e.do(t, "GET", "/v1/datasources/ds-1", e.root, nil)
	id := r.header.Get("X-Request-Id")
	wantError(t, r, 500, "Internal", "internal error (request id "+id+")")
	if strings.Contains(string(r.body), "closed") {
		t.Errorf("500 body %s shows the cause", r.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"msg":"internal error","request_id":"`+id+`"`) || !strings.Contains(logs, "closed") {
		t.Errorf("log lacks the internal error of request %s:\n%s", id, logs)
	}
	if !strings.Contains(logs, `"level":"WARN","msg":"request","request_id":"`+id+`"`) {
		t.Errorf("the 500 is not logged at Warn:\n%s", logs)
	}
}

func TestAccessLogAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, api.Options{Registry: reg})
	e.call(t, 200, "GET", "/v1/datasources", nil)
	e.call(t, 200, "GET", "/v1/datasources", nil)
	e.do(t, "GET", "/v1/datasources/nosuch", e.root, nil)
	e.do(t, "DELETE", "/healthz", "", nil)

	logs := e.logs.String()
	if strings.Contains(logs, e.root) || strings.Contains(logs, e.root[len("perch_"):]) {
		t.Fatalf("the log shows the key:\n%s", logs)
	}
	if !strings.Contains(logs, `"level":"INFO","msg":"request"`) || !strings.Contains(logs, `"route":"/v1/datasources/{id}","status":404`) ||
		!strings.Contains(logs, `"key_name":"root"`) {
		t.Errorf("access log:\n%s", logs)
	}

	r := e.call(t, 200, "GET", "/metrics", nil)
	for _, want := range []string{
		`perch_http_requests_total{code="200",method="GET",route="/v1/datasources"} 2`,
		`perch_http_requests_total{code="404",method="GET",route="/v1/datasources/{id}"} 1`,
		`perch_http_requests_total{code="405",method="DELETE",route="unmatched"} 1`,
		`perch_http_request_duration_seconds_count{method="GET",route="/v1/datasources"} 2`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The caller's registry holds the series, and a second handler on it
	// shares them rather than failing.
	api.New(e.svc, api.Options{Registry: reg})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if !slices.Contains(names, "perch_http_requests_total") {
		t.Errorf("registry holds %v", names)
	}
}

func TestDataSourceRequests(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.call(t, 201, "PUT", "/v1/objects/in/small.csv", smallCSV)
	post := func(body string) response { return e.do(t, "POST", "/v1/datasources", e.root, body) }

	wantError(t, post(`{"dataUrl":"in/small.csv","bogus":1}`), 400, "Invalid", `unknown field "bogus"`)
	wantError(t, post(`{"dataUrl":5}`), 400, "Invalid", "dataUrl: want a string, got number")
	wantError(t, post(`{"dataUrl":"in/small.csv","computeStatistics":"yes"}`), 400, "Invalid", "computeStatistics: want a boolean, got string")
	wantError(t, post(`{"dataUrl":"in/small.csv","tags":{"a":1}}`), 400, "Invalid", "tags: want a string, got number")
	wantError(t, e.do(t, "POST", "/v1/models", e.root, `{"type":"BINARY","trainingDataSourceId":"x","parameters":{"sgd.maxPasses":5}}`), 400, "Invalid", "parameters: want a string, got number")
	wantError(t, post(`{"dataUrl":"in/small.csv"} {}`), 400, "Invalid", "data after the JSON value")
	wantError(t, post(`{"dataUrl":"in/small.csv"`), 400, "Invalid", "malformed JSON")
	wantError(t, post(`{"dataUrl":"in/small.csv",}`), 400, "Invalid", "malformed JSON at byte")
	wantError(t, post(``), 400, "Invalid", "empty")
	wantError(t, post(`{"dataUrl":"in/small.csv","rearrangement":5}`), 400, "Invalid", "rearrangement: want a string or an object, got number")
	wantError(t, post(`{"dataUrl":"in/small.csv","rearrangement":{"splitting":{"percentBgin":0}}}`), 400, "Invalid", "rearrangement")
	wantError(t, post(`{"dataUrl":"in/small.csv","schema":{"attributes":"x"}}`), 400, "Invalid", "schema.attributes: want an array, got string")
	wantError(t, post(`{"dataUrl":"in/nosuch.csv"}`), 404, "NotFound", "dataUrl")
	wantError(t, post(`{"name":"x"}`), 400, "Invalid", "dataUrl: required")
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `","dataUrl":"in/small.csv"}`
	wantError(t, post(big), 413, "LimitExceeded", "request body over 1048576 bytes")

	// A rearrangement as a string or as an object; an object is kept as
	// its text.
	d := e.call(t, 201, "POST", "/v1/datasources", `{"dataUrl":"in/small.csv","rearrangement":"{\"splitting\":{\"percentBegin\":0,\"percentEnd\":50}}"}`).json(t)
	if d["rearrangement"] != `{"splitting":{"percentBegin":0,"percentEnd":50}}` {
		t.Errorf("rearrangement %v", d["rearrangement"])
	}
	d = e.call(t, 201, "POST", "/v1/datasources", `{"dataUrl":"in/small.csv","rearrangement":{"splitting": {"percentBegin":50}}}`).json(t)
	if d["rearrangement"] != `{"splitting": {"percentBegin":50}}` {
		t.Errorf("rearrangement %v", d["rearrangement"])
	}
	id := d["id"].(string)
	e.waitDone(t, "/v1/datasources/"+id)

	d = e.call(t, 200, "PATCH", "/v1/datasources/"+id, `{"name":"renamed"}`).json(t)
	if d["name"] != "renamed" {
		t.Errorf("PATCH: %v", d)
	}
	wantError(t, e.do(t, "PATCH", "/v1/datasources/"+id, e.root, `{"nme":"x"}`), 400, "Invalid", `unknown field "nme"`)
	wantError(t, e.do(t, "PATCH", "/v1/datasources/"+id, e.root, `{"scoreThreshold":0.3}`), 400, "Invalid", "a data source has none")
	wantError(t, e.do(t, "PATCH", "/v1/datasources/nosuch", e.root, `{"name":"x"}`), 404, "NotFound", "")
	d = e.call(t, 200, "DELETE", "/v1/datasources/"+id, nil).json(t)
	if d["status"] != "DELETED" || d["name"] != "renamed" {
		t.Errorf("DELETE: %v", d)
	}
	if d := e.call(t, 200, "GET", "/v1/datasources/"+id, nil).json(t); d["status"] != "DELETED" {
		t.Errorf("GET after DELETE: %v", d["status"])
	}

	// A recipe as an object reaches the service as its text.
	wantError(t, e.do(t, "POST", "/v1/models", e.root, `{"type":"BINARY","trainingDataSourceId":"x","recipe":{"outputs":5}}`), 400, "Invalid", "recipe")
	wantError(t, e.do(t, "POST", "/v1/models", e.root, `{"type":"BINARY","trainingDataSourceId":"x","recipe":[]}`), 400, "Invalid", "recipe: want a string or an object, got array")
	wantError(t, e.do(t, "POST", "/v1/models", e.root, `{"type":"TREE","trainingDataSourceId":"x"}`), 400, "Invalid", "TREE")
	other := e.dataSource(t, "for a model")
	m := e.call(t, 201, "POST", "/v1/models", `{"type":"BINARY","trainingDataSourceId":"`+other+`","recipe":{"groups":{},"assignments":{},"outputs":["ALL_INPUTS"]}}`)
	if loc := m.header.Get("Location"); !strings.HasPrefix(loc, "/v1/models/ml-") {
		t.Errorf("Location %q", loc)
	}
	if got := m.json(t)["recipe"]; got != `{"groups":{},"assignments":{},"outputs":["ALL_INPUTS"]}` {
		t.Errorf("recipe %v", got)
	}
	wantError(t, e.do(t, "POST", "/v1/evaluations", e.root, `{"mlModelId":"nosuch","dataSourceId":"`+other+`"}`), 404, "NotFound", "")
	wantError(t, e.do(t, "POST", "/v1/batchpredictions", e.root, `{"mlModelId":"","dataSourceId":"`+other+`"}`), 400, "Invalid", "mlModelId: required")
	wantError(t, e.do(t, "POST", "/v1/models/nosuch/endpoint", e.root, nil), 404, "NotFound", "")
	wantError(t, e.do(t, "POST", "/v1/models/nosuch/endpoint", e.root, `{"peakRequestsPerSecond":"many"}`), 400, "Invalid", "peakRequestsPerSecond: want an integer, got string")
}

func TestLists(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.call(t, 201, "PUT", "/v1/objects/in/small.csv", smallCSV)
	var ids []string
	for _, n := range []string{"n1", "n2", "n3"} {
		ids = append(ids, e.dataSource(t, n))
	}

	// Empty lists are [] with no token.
	if r := e.call(t, 200, "GET", "/v1/evaluations", nil); string(r.body) != "{\"items\":[]}\n" {
		t.Errorf("empty list: %s", r.body)
	}

	// Walk the pages one at a time.
	var got []string
	path := "/v1/datasources?limit=1"
	for i := 0; ; i++ {
		if i > 5 {
			t.Fatal("the pages do not end")
		}
		var p struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Next *string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(e.call(t, 200, "GET", path, nil).body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > 1 {
			t.Fatalf("page of %d items at limit=1", len(p.Items))
		}
		for _, it := range p.Items {
			got = append(got, it.ID)
		}
		if p.Next == nil {
			break
		}
		if *p.Next == "" {
			t.Fatal(`nextPageToken "" should be left out`)
		}
		path = "/v1/datasources?limit=1&pageToken=" + *p.Next
	}
	if !slices.Equal(got, ids) {
		t.Errorf("pages gave %v, want %v", got, ids)
	}

	items := func(path string) []string {
		var p struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
		}
		if err := json.Unmarshal(e.call(t, 200, "GET", path, nil).body, &p); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range p.Items {
			names = append(names, it.Name)
		}
		return names
	}
	if n := items("/v1/datasources?filter=Name&op=EQ&value=n2"); !slices.Equal(n, []string{"n2"}) {
		t.Errorf("Name EQ n2: %v", n)
	}
	if n := items("/v1/datasources?filter=Name&op=GE&value=n2&sort=desc"); !slices.Equal(n, []string{"n3", "n2"}) {
		t.Errorf("Name GE n2, desc: %v", n)
	}
	if n := items("/v1/datasources?filter=Name&op=prefix&value=n"); len(n) != 3 {
		t.Errorf("Name Prefix n: %v", n)
	}

	for _, q := range []string{"limit=0", "limit=101", "limit=x", "op=XX&value=1", "sort=up", "bogus=1", "value=3", "filter=Name&op=EQ", "limit=1&limit=2", "filter=Nope&op=EQ&value=1"} {
		wantError(t, e.do(t, "GET", "/v1/datasources?"+q, e.root, nil), 400, "Invalid", "")
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.call(t, 201, "PUT", "/v1/objects/in/small.csv", smallCSV)
	id := e.dataSource(t, "tagged")
	path := "/v1/datasources/" + id + "/tags"
	tags := func(r response) map[string]string {
		t.Helper()
		var v struct {
			Tags map[string]string `json:"tags"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil || v.Tags == nil {
			t.Fatalf("%s: %v", r, err)
		}
		return v.Tags
	}
	if got := tags(e.call(t, 200, "GET", path, nil)); len(got) != 0 {
		t.Errorf("new tags %v", got)
	}
	got := tags(e.call(t, 200, "POST", path, `{"tags":{"team":"risk","env":"test","tier":"1"}}`))
	if len(got) != 3 || got["team"] != "risk" {
		t.Errorf("after add: %v", got)
	}
	got = tags(e.call(t, 200, "DELETE", path+"?key=env&key=tier&key=absent", nil))
	if len(got) != 1 || got["team"] != "risk" {
		t.Errorf("after delete: %v", got)
	}
	if got := tags(e.call(t, 200, "GET", path, nil)); len(got) != 1 {
		t.Errorf("tags now %v", got)
	}
	wantError(t, e.do(t, "DELETE", path, e.root, nil), 400, "Invalid", "key")
	wantError(t, e.do(t, "POST", path, e.root, `{}`), 400, "Invalid", "tags: required")
	wantError(t, e.do(t, "POST", path, e.root, `{"tags":{"aws:x":"1"}}`), 400, "Invalid", "reserved")
	wantError(t, e.do(t, "GET", "/v1/models/nosuch/tags", e.root, nil), 404, "NotFound", "")
	wantError(t, e.do(t, "GET", "/v1/evaluations/"+id+"/tags", e.root, nil), 404, "NotFound", "")
}

func TestObjects(t *testing.T) {
	e := newEnv(t, api.Options{})
	r := e.call(t, 201, "PUT", "/v1/objects/in/a.csv", "a,b\n1,2\n")
	o := r.json(t)
	if o["key"] != "in/a.csv" || o["size"] != float64(8) || o["etag"] == "" || !strings.HasPrefix(o["url"].(string), "file://") {
		t.Errorf("PUT: %v", o)
	}
	if loc := r.header.Get("Location"); loc != "/v1/objects/in/a.csv" {
		t.Errorf("Location %q", loc)
	}
	if loc := e.call(t, 201, "PUT", "/v1/objects/sp%20ace/a%3Fb.csv", "x").header.Get("Location"); loc != "/v1/objects/sp%20ace/a%3Fb.csv" {
		t.Errorf("Location %q of an odd key", loc)
	}
	if r := e.call(t, 200, "GET", "/v1/objects/sp%20ace/a%3Fb.csv", nil); string(r.body) != "x" {
		t.Errorf("odd key: %q", r.body)
	}
	e.call(t, 201, "PUT", "/v1/objects/in/b.bin", []byte{0, 1, 2})
	e.call(t, 201, "PUT", "/v1/objects/other.txt", "x")

	r = e.call(t, 200, "GET", "/v1/objects/in/a.csv", nil)
	if string(r.body) != "a,b\n1,2\n" || r.header.Get("Content-Type") != "text/csv" || r.header.Get("Content-Length") != "8" {
		t.Errorf("GET a.csv: %q %v", r.body, r.header)
	}
	r = e.call(t, 200, "GET", "/v1/objects/in/b.bin", nil)
	if !bytes.Equal(r.body, []byte{0, 1, 2}) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET b.bin: %q %v", r.body, r.header)
	}

	var l struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(e.call(t, 200, "GET", "/v1/objects?prefix=in/", nil).body, &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 2 || l.Items[0]["key"] != "in/a.csv" || l.Items[1]["key"] != "in/b.bin" {
		t.Fatalf("list: %v", l.Items)
	}
	for _, f := range []string{"key", "url", "size", "modTime", "etag"} {
		if _, ok := l.Items[0][f]; !ok {
			t.Errorf("listed object lacks %s: %v", f, l.Items[0])
		}
	}
	if r := e.call(t, 200, "GET", "/v1/objects?prefix=none/", nil); string(r.body) != "{\"items\":[]}\n" {
		t.Errorf("empty listing: %s", r.body)
	}
	wantError(t, e.do(t, "GET", "/v1/objects?prefx=in/", e.root, nil), 400, "Invalid", "prefx")

	if r := e.do(t, "DELETE", "/v1/objects/in/a.csv", e.root, nil); r.status != 204 || len(r.body) != 0 {
		t.Errorf("DELETE: %s", r)
	}
	wantError(t, e.do(t, "GET", "/v1/objects/in/a.csv", e.root, nil), 404, "NotFound", "")
	wantError(t, e.do(t, "DELETE", "/v1/objects/in/a.csv", e.root, nil), 404, "NotFound", "")
	wantError(t, e.do(t, "PUT", "/v1/objects/x.attrs", e.root, "x"), 400, "Invalid", "")

	// perch's own files: readable, not writable.
	if err := e.svc.Objects().Write(context.Background(), ".perch/models/m.json", strings.NewReader("{}"), ""); err != nil {
		t.Fatal(err)
	}
	if r := e.call(t, 200, "GET", "/v1/objects/.perch/models/m.json", nil); string(r.body) != "{}" {
		t.Errorf("GET .perch: %s", r.body)
	}
	wantError(t, e.do(t, "PUT", "/v1/objects/.perch/models/m.json", e.root, "evil"), 403, "Forbidden", ".perch/")
	wantError(t, e.do(t, "PUT", "/v1/objects/.PERCH/x", e.root, "evil"), 403, "Forbidden", "")
	wantError(t, e.do(t, "DELETE", "/v1/objects/.perch/models/m.json", e.root, nil), 403, "Forbidden", "")
	if r := e.call(t, 200, "GET", "/v1/objects/.perch/models/m.json", nil); string(r.body) != "{}" {
		t.Errorf(".perch file changed: %s", r.body)
	}

	// A declared size over 5 GiB is refused before a byte is read.
	h := api.New(e.svc, api.Options{Registry: prometheus.NewRegistry()})
	req := httptest.NewRequest("PUT", "/v1/objects/huge.bin", strings.NewReader("x"))
	req.ContentLength = 5<<30 + 1
	req.Header.Set("Authorization", "Bearer "+e.root)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantError(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 413, "LimitExceeded", "request body over 5368709120 bytes")
}

func TestKeys(t *testing.T) {
	e := newEnv(t, api.Options{})
	r := e.call(t, 201, "POST", "/v1/keys", `{"name":"ci","policy":"reader"}`)
	k := r.json(t)
	key, _ := k["key"].(string)
	if !strings.HasPrefix(key, "perch_") || k["name"] != "ci" || k["status"] != "COMPLETED" || k["id"] == "" || k["hint"] == "" || k["root"] != nil {
		t.Fatalf("new key: %v", k)
	}
	if loc := r.header.Get("Location"); loc != "/v1/keys/"+k["id"].(string) {
		t.Errorf("Location %q", loc)
	}
	if strings.Contains(e.logs.String(), key) {
		t.Error("the new key is in the log")
	}

	// The new key reads, but may not make keys, nor change anything.
	if r := e.do(t, "GET", "/v1/datasources", key, nil); r.status != 200 {
		t.Errorf("new key: %s", r)
	}
	wantError(t, e.do(t, "POST", "/v1/keys", key, `{"name":"mine"}`), 403, "AccessDenied", "key ci may not perch:CreateKey on key/*")
	wantError(t, e.do(t, "PUT", "/v1/objects/a.csv", key, "x"), 403, "AccessDenied", "perch:PutObject on object/a.csv")
	// A key without a policy may read itself and nothing else.
	bare := e.call(t, 201, "POST", "/v1/keys", `{"name":"bare"}`).json(t)
	bareKey, bareID := bare["key"].(string), bare["id"].(string)
	if r := e.do(t, "GET", "/v1/keys/"+bareID, bareKey, nil); r.status != 200 {
		t.Errorf("a key reading itself: %s", r)
	}
	wantError(t, e.do(t, "GET", "/v1/datasources", bareKey, nil), 403, "AccessDenied", "machinelearning:DescribeDataSources")
	wantError(t, e.do(t, "GET", "/v1/keys/"+k["id"].(string), bareKey, nil), 403, "AccessDenied", "perch:GetKey")
	// A policy given later takes effect at once.
	e.call(t, 200, "PUT", "/v1/keys/"+bareID+"/policy", `{"Statement":{"Effect":"Allow","Action":"machinelearning:Describe*","Resource":"*"}}`)
	if r := e.do(t, "GET", "/v1/datasources", bareKey, nil); r.status != 200 {
		t.Errorf("after its policy allowed it: %s", r)
	}
	wantError(t, e.do(t, "PUT", "/v1/keys/"+bareID+"/policy", e.root, `{"Statement":{"Effect":"Allow","Action":"machinelearning:Fly","Resource":"*"}}`), 400, "Invalid", "machinelearning:Fly")
	e.call(t, 200, "DELETE", "/v1/keys/"+bareID, nil)

	var l struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(e.call(t, 200, "GET", "/v1/keys", nil).body, &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 3 {
		t.Fatalf("keys: %v", l.Items)
	}
	for _, it := range l.Items {
		if _, ok := it["key"]; ok {
			t.Errorf("a listed key shows its secret: %v", it)
		}
	}
	wantError(t, e.do(t, "POST", "/v1/keys", e.root, `{"name":5}`), 400, "Invalid", "name: want a string, got number")

	// Revoked: this server forgets it at once.
	d := e.call(t, 200, "DELETE", "/v1/keys/"+k["id"].(string), nil).json(t)
	if d["status"] != "DELETED" {
		t.Errorf("revoked key: %v", d)
	}
	wantError(t, e.do(t, "GET", "/v1/datasources", key, nil), 401, "Unauthorized", "revoked")
	wantError(t, e.do(t, "DELETE", "/v1/keys/nosuch", e.root, nil), 404, "NotFound", "")
}

// discard keeps a logger quiet in benchmarks.
var discard = slog.New(slog.DiscardHandler)

// An access key pair for AML's protocol is made through the same route,
// shown once, and listed without its secret, sealed or not.
func TestAWSKeys(t *testing.T) {
	e := newEnv(t, api.Options{})
	master, err := access.EnsureMasterKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetMasterKey(master); err != nil {
		t.Fatal(err)
	}
	k := e.call(t, 201, "POST", "/v1/keys", `{"name":"boto","aws":true}`).json(t)
	id, _ := k["accessKeyId"].(string)
	secret, _ := k["secretAccessKey"].(string)
	if !access.ValidAccessKeyID(id) || len(secret) < 30 || k["id"] != id || k["key"] != nil || k["sealedSecret"] != nil {
		t.Fatalf("new pair: %v", k)
	}
	got, err := e.svc.AWSSecret(context.Background(), id)
	if err != nil || got != secret {
		t.Fatalf("AWSSecret: %q, %v; want the secret shown", got, err)
	}
	body := e.call(t, 200, "GET", "/v1/keys", nil).body
	if bytes.Contains(body, []byte("sealedSecret")) || bytes.Contains(body, []byte(secret)) {
		t.Errorf("the key list shows a secret: %s", body)
	}
	if b := e.call(t, 200, "DELETE", "/v1/keys/"+id, nil).body; bytes.Contains(b, []byte("sealedSecret")) {
		t.Errorf("a deleted pair shows its sealed secret: %s", b)
	}
}
