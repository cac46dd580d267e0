package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEveryRouteAuthorized walks every registered route: without a
// credential only health, readiness and the OpenAPI document answer, and
// a key whose policy allows nothing is refused by the route's action
// before anything is read or changed.
func TestEveryRouteAuthorized(t *testing.T) {
	a, root, _ := testAPI(t)
	ctx := context.Background()
	nobody, _, err := a.svc.CreateKey(ctx, "nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{"health": true, "ready": true, "openapi": true}
	bodies := map[string]string{
		"predict": `{"record":{}}`, "explain": `{"record":{}}`, "predictBatch": `{"records":[]}`,
		"putObject": "x", "putKeyPolicy": `"reader"`, "testPipeline": "x,y\n",
	}
	seen := 0
	for _, rt := range a.routes() {
		path := strings.NewReplacer("{id}", "x1", "{key...}", "in/a.csv", "{key}", "in/a.csv").Replace(rt.pattern)
		if strings.HasPrefix(rt.op, "delete") && strings.HasSuffix(rt.op, "Tags") {
			path += "?key=a" // a well-formed request, refused for its action
		}
		if strings.HasPrefix(rt.op, "add") && strings.HasSuffix(rt.op, "Tags") {
			bodies[rt.op] = `{"tags":{"a":"b"}}`
		}
		body, ok := bodies[rt.op]
		if !ok && (rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH") {
			body = "{}"
		}
		h := a.chain(rt)
		anon := serve(h, rt.method, path, "", strings.NewReader(body))
		if open[rt.op] {
			if anon.Code != http.StatusOK {
				t.Errorf("%s %s without a key: %d, want 200", rt.method, path, anon.Code)
			}
			continue
		}
		if code, _ := errorBody(t, anon); anon.Code != http.StatusUnauthorized || code != "Unauthorized" {
			t.Errorf("%s %s without a key: %d %s, want 401", rt.method, path, anon.Code, code)
		}
		w := serve(h, rt.method, path, nobody, strings.NewReader(body))
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != http.StatusForbidden || e.Error.Code != "AccessDenied" || !strings.Contains(e.Error.Message, "key nobody may not ") {
			t.Errorf("%s %s (%s) with a key allowed nothing: %d %s", rt.method, path, rt.op, w.Code, w.Body.String())
		}
		seen++
	}
	if seen < 40 {
		t.Errorf("walked %d routes that need a key; the table has more", seen)
	}
	// Nothing the refused requests asked for happened.
	if w := serve(a.chain(&route{op: "listObjects", method: "GET", pattern: "/v1/objects", handler: a.listObjects}), "GET", "/v1/objects", root, nil); !strings.Contains(w.Body.String(), `"items":[]`) {
		t.Errorf("objects after the refusals: %s", w.Body.String())
	}
}
