package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/aml"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// loadOpenAPI parses the embedded document.
func loadOpenAPI(t testing.TB) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi %v, want 3.0.3", doc["openapi"])
	}
	return doc
}

// docPath is a route's path as OpenAPI spells it: {key...} is {key}.
func docPath(pattern string) string {
	return strings.ReplaceAll(pattern, "...}", "}")
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// amlDoor is AML's protocol, which New mounts beside the route table when
// Options.AML is set; the document describes it as POST /.
const amlDoor = "POST /"

// TestOpenAPIRoutes checks the document against the route table both
// ways, and the table against the mux it registers.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	paths := doc["paths"].(map[string]any)
	a := &api{}
	routes := a.routes()
	seen := map[string]bool{}
	for _, rt := range routes {
		p := docPath(rt.pattern)
		m := strings.ToLower(rt.method)
		name := rt.method + " " + p
		if seen[name] {
			t.Errorf("route %s twice in the table", name)
		}
		seen[name] = true
		item, _ := paths[p].(map[string]any)
		op, _ := item[m].(map[string]any)
		if op == nil {
			t.Errorf("route %s is not in openapi.json", name)
			continue
		}
		if op["operationId"] != rt.op {
			t.Errorf("%s: operationId %v, want %s", name, op["operationId"], rt.op)
		}
		sec, declared := op["security"].([]any)
		if open := declared && len(sec) == 0; open != rt.public {
			t.Errorf("%s: the document says public=%v, the route %v", name, open, rt.public)
		}
		if _, ok := op["responses"].(map[string]any); !ok {
			t.Errorf("%s: no responses", name)
		}
		// Every path parameter is declared, on the path or the operation.
		var params []any
		if ps, ok := item["parameters"].([]any); ok {
			params = append(params, ps...)
		}
		if ps, ok := op["parameters"].([]any); ok {
			params = append(params, ps...)
		}
		for _, w := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(p, -1) {
			found := false
			for _, pr := range params {
				pm := resolve(t, doc, pr).(map[string]any)
				if pm["in"] == "path" && pm["name"] == w[1] && pm["required"] == true {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: path parameter %s is not declared", name, w[1])
			}
		}
	}
	if op, _ := paths["/"].(map[string]any)["post"].(map[string]any); op == nil {
		t.Errorf("the AML door, %s, is not in openapi.json", amlDoor)
	} else if op["operationId"] != "aml" {
		t.Errorf("%s: operationId %v, want aml", amlDoor, op["operationId"])
	}
	seen[amlDoor] = true
	for p, item := range paths {
		for m := range item.(map[string]any) {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			if name := strings.ToUpper(m) + " " + p; !seen[name] {
				t.Errorf("openapi.json has %s, which is no route", name)
			}
		}
	}

	// The mux serves each route of the table at its pattern.
	mux := New(nil, Options{}).(*http.ServeMux)
	for _, rt := range routes {
		path := strings.NewReplacer("{id}", "x1", "{key...}", "in/a.csv").Replace(rt.pattern)
		r := httptest.NewRequest(rt.method, path, nil)
		if _, pat := mux.Handler(r); pat != rt.method+" "+rt.pattern {
			t.Errorf("%s %s: the mux routes it to %q", rt.method, path, pat)
		}
	}
	// POST / is the door when the server speaks AML, and no route when not.
	door := New(nil, Options{AML: http.NotFoundHandler()}).(*http.ServeMux)
	if _, pat := door.Handler(httptest.NewRequest("POST", "/", nil)); pat != "POST /{$}" {
		t.Errorf("with AML, the mux routes POST / to %q", pat)
	}
	if _, pat := mux.Handler(httptest.NewRequest("POST", "/", nil)); pat != "/" {
		t.Errorf("without AML, the mux routes POST / to %q", pat)
	}
}

// TestOpenAPIRefs checks that every $ref in the document resolves.
func TestOpenAPIRefs(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				n++
				if _, err := pointer(doc, r); err != nil {
					t.Error(err)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if n < 50 {
		t.Errorf("only %d $refs: the walk is broken", n)
	}
	if _, err := pointer(doc, "#/components/schemas/Nope"); err == nil {
		t.Error("a missing $ref resolves")
	}
}

// pointer resolves a local JSON pointer.
func pointer(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var v any = doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %s is not in an object", ref, part)
		}
		if v, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return v, nil
}

// resolve follows $refs until v is not one.
func resolve(t testing.TB, doc map[string]any, v any) any {
	t.Helper()
	for {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		r, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		var err error
		if v, err = pointer(doc, r); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckSchema checks a JSON response against the named schema of the
// document: every object in it has the properties its schema requires,
// and no others than those it lists; every value has the schema's type.
// The integration tests call it with real responses.
func CheckSchema(t testing.TB, schema string, body []byte) {
	t.Helper()
	doc := loadOpenAPI(t)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	s, err := pointer(doc, "#/components/schemas/"+schema)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, doc, schema, s, v)
}

func checkValue(t testing.TB, doc map[string]any, where string, schema, v any) {
	t.Helper()
	s := resolve(t, doc, schema).(map[string]any)
	if v == nil {
		if s["nullable"] != true {
			t.Errorf("%s: null, and the schema is not nullable", where)
		}
		return
	}
	if alts, ok := s["oneOf"].([]any); ok {
		for _, alt := range alts {
			if typeMatches(resolve(t, doc, alt).(map[string]any)["type"], v) {
				return
			}
		}
		t.Errorf("%s: %T matches none of oneOf", where, v)
		return
	}
	if !typeMatches(s["type"], v) {
		t.Errorf("%s: %T (%v), want %v", where, v, v, s["type"])
		return
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		t.Errorf("%s: %v is not one of %v", where, v, enum)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[r.(string)]; !ok {
					t.Errorf("%s: required property %s is missing", where, r)
				}
			}
		}
		extra := s["additionalProperties"]
		for k, x := range v {
			switch ps, ok := props[k]; {
			case ok:
				checkValue(t, doc, where+"."+k, ps, x)
			case extra != nil && extra != false:
				if es, ok := extra.(map[string]any); ok {
					checkValue(t, doc, where+"."+k, es, x)
				}
			case props == nil && extra == nil:
				// A free-form object.
			default:
				t.Errorf("%s: property %s is not in the schema", where, k)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, x := range v {
				checkValue(t, doc, fmt.Sprintf("%s[%d]", where, i), items, x)
			}
		}
	}
}

func typeMatches(typ, v any) bool {
	switch typ {
	case nil:
		return true
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}

// TestCheckSchema makes sure the checker fails what it should.
func TestCheckSchema(t *testing.T) {
	for _, c := range []struct {
		schema, body string
		ok           bool
	}{
		{"Tags", `{"tags":{"a":"b"}}`, true},
		{"Tags", `{}`, false},
		{"Tags", `{"tags":{},"more":1}`, false},
		{"Tags", `{"tags":{"a":1}}`, false},
		{"Endpoint", `{"status":"READY","peakRequestsPerSecond":2}`, true},
		{"Endpoint", `{"status":"OPEN","peakRequestsPerSecond":2}`, false},
		{"Endpoint", `{"status":"READY","peakRequestsPerSecond":2.5}`, false},
		{"Schema", `{"version":"1.0","rowId":null,"dataFormat":"CSV","dataFileContainsHeader":true,"attributes":[{"attributeName":"a","attributeType":"TEXT"}],"excludedAttributeNames":null}`, true},
		{"Schema", `{"version":"1.0","rowId":null,"dataFormat":"CSV","dataFileContainsHeader":true,"attributes":[{"attributeName":"a"}],"excludedAttributeNames":[]}`, false},
	} {
		ft := &fakeT{TB: t}
		CheckSchema(ft, c.schema, []byte(c.body))
		if ft.failed == c.ok {
			t.Errorf("%s %s: failed=%v, want %v", c.schema, c.body, ft.failed, !c.ok)
		}
	}
}

// fakeT records failures instead of reporting them.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Helper()               {}

// TestOpenAPIValid loads the document as it is served with kin-openapi and
// validates it as OpenAPI 3.0.
func TestOpenAPIValid(t *testing.T) {
	w := httptest.NewRecorder()
	New(nil, Options{}).ServeHTTP(w, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), openAPI) {
		t.Fatalf("GET /v1/openapi.json: %d, %d bytes; want the embedded document", w.Code, w.Body.Len())
	}
	doc := kinDoc(t, w.Body.Bytes())
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3.0: %v", err)
	}
	ids := map[string]string{}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			name := m + " " + p
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s on %s and %s", op.OperationID, other, name)
			}
			ids[op.OperationID] = name
			if op.Responses.Len() == 0 {
				t.Errorf("%s: no responses", name)
			}
		}
	}
}

// kinDoc loads an OpenAPI document with kin-openapi.
func kinDoc(t testing.TB, b []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("kin-openapi does not load openapi.json: %v", err)
	}
	return doc
}

// TestOpenAPINoEmptyRequired checks that no schema has "required": [],
// which OpenAPI 3.0 forbids (the list needs an element) and kin-openapi
// lets through.
func TestOpenAPINoEmptyRequired(t *testing.T) {
	for _, where := range emptyRequired("#", loadOpenAPI(t)) {
		t.Errorf(`%s: "required": []`, where)
	}
	probe := map[string]any{"a": []any{map[string]any{"required": []any{}}}}
	if got := emptyRequired("#", probe); !slices.Equal(got, []string{"#/a/0"}) {
		t.Errorf("the walk finds %v in a probe, want #/a/0", got)
	}
}

// emptyRequired lists where, under v, a "required" is an empty list.
func emptyRequired(where string, v any) []string {
	var found []string
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["required"].([]any); ok && len(r) == 0 {
			found = append(found, where)
		}
		for k, x := range v {
			found = append(found, emptyRequired(where+"/"+k, x)...)
		}
	case []any:
		for i, x := range v {
			found = append(found, emptyRequired(fmt.Sprintf("%s/%d", where, i), x)...)
		}
	}
	return found
}

// TestOpenAPIAMLDoor checks how the document describes AML's protocol, and
// that a server with the protocol answers as it says.
func TestOpenAPIAMLDoor(t *testing.T) {
	doc := kinDoc(t, openAPI)
	item := doc.Paths.Find("/")
	if item == nil || item.Post == nil {
		t.Fatal("openapi.json has no POST /")
	}
	op := item.Post
	if op.Security == nil || len(*op.Security) != 1 || len((*op.Security)[0]) != 1 || (*op.Security)[0]["sigv4"] == nil {
		t.Errorf("POST /: security %v, want sigv4 alone", op.Security)
	}
	if ss := doc.Components.SecuritySchemes["sigv4"]; ss == nil || ss.Value.Type != "apiKey" || ss.Value.In != "header" || ss.Value.Name != "Authorization" {
		t.Errorf("securitySchemes.sigv4 is not the Authorization header")
	}
	target := op.Parameters.GetByInAndName("header", "X-Amz-Target")
	if target == nil || !target.Required {
		t.Fatal("POST /: X-Amz-Target is not a required header parameter")
	}
	var targets []string
	for _, v := range target.Schema.Value.Enum {
		s, _ := v.(string)
		if !strings.HasPrefix(s, aml.TargetPrefix) {
			t.Errorf("X-Amz-Target %v does not start with %s", v, aml.TargetPrefix)
		}
		targets = append(targets, s)
	}
	if len(targets) != 28 {
		t.Errorf("X-Amz-Target lists %d operations, want AML's 28", len(targets))
	}
	if op.RequestBody == nil || op.RequestBody.Value.Content.Get(aml.ContentType) == nil {
		t.Errorf("POST /: no %s request body", aml.ContentType)
	}
	for _, code := range []int{200, 400, 500} {
		r := op.Responses.Status(code)
		if r == nil || r.Value.Content.Get(aml.ContentType) == nil {
			t.Errorf("POST /: no %d response in %s", code, aml.ContentType)
			continue
		}
		if code == 200 {
			continue
		}
		s := r.Value.Content.Get(aml.ContentType).Schema
		if s.Ref != "#/components/schemas/AMLError" || !slices.Equal(s.Value.Required, []string{"__type", "message"}) {
			t.Errorf("POST / %d: schema %s, want AMLError {__type, message}", code, s.Ref)
		}
	}

	// A server with the protocol, and an access key pair to sign with.
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
	t.Cleanup(func() { bucket.Close() })
	svc := service.New(service.Config{Store: store, Objects: bucket, Queue: dropQueue{}})
	master, err := access.EnsureMasterKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetMasterKey(master); err != nil {
		t.Fatal(err)
	}
	id, secret, _, err := svc.CreateAWSKey(ctx, "door", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := New(svc, Options{AML: aml.New(svc, aml.Options{})})
	post := func(target string, body []byte, sign bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", aml.ContentType)
		r.Header.Set("X-Amz-Target", target)
		if sign {
			access.SignV4(r, body, id, secret, "us-east-1", aml.SigningName, time.Now())
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	// errType checks an answer of the protocol and returns its __type, ""
	// for a success.
	errType := func(what string, w *httptest.ResponseRecorder) string {
		t.Helper()
		if ct := w.Header().Get("Content-Type"); ct != aml.ContentType {
			t.Errorf("%s: Content-Type %q, want %s", what, ct, aml.ContentType)
		}
		if w.Header().Get("x-amzn-RequestId") == "" {
			t.Errorf("%s: no x-amzn-RequestId", what)
		}
		b, _ := io.ReadAll(w.Body)
		switch w.Code {
		case http.StatusOK:
			var out map[string]any
			if err := json.Unmarshal(b, &out); err != nil {
				t.Errorf("%s: 200 with %s, not a JSON object", what, b)
			}
			return ""
		case http.StatusBadRequest, http.StatusInternalServerError:
			CheckSchema(t, "AMLError", b)
			var e struct {
				Type string `json:"__type"`
			}
			json.Unmarshal(b, &e)
			return e.Type
		}
		t.Errorf("%s: status %d, which POST / does not document", what, w.Code)
		return ""
	}
	// Every operation the document lists is one the protocol knows.
	for _, target := range targets {
		if typ := errType(target, post(target, []byte("{}"), true)); typ == "UnknownOperationException" {
			t.Errorf("%s is in openapi.json and not an operation of the protocol", target)
		}
	}
	if typ := errType("an unknown target", post(aml.TargetPrefix+"Nope", []byte("{}"), true)); typ != "UnknownOperationException" {
		t.Errorf("an unknown target: %q, want UnknownOperationException", typ)
	}
	if typ := errType("unsigned", post(targets[0], []byte("{}"), false)); typ != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %q, want MissingAuthenticationTokenException", typ)
	}
	// A body declared over the cap is refused before the protocol sees it.
	w := post(targets[0], make([]byte, 1<<20+1), true)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB: %d, want 413 as documented", w.Code)
	}
	CheckSchema(t, "Error", w.Body.Bytes())
}

// dropQueue takes jobs and runs none.
type dropQueue struct{}

func (dropQueue) Enqueue(context.Context, service.Job) error { return nil }
