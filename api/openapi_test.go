package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
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
