package api_test

import (
	"fmt"
	"testing"

	"github.com/perchml/perch/api"
)

// TestPredictOnlyKey checks a key allowed only machinelearning:Predict on
// one model: it predicts that model and is refused everything else, and
// what it was refused is unchanged.
func TestPredictOnlyKey(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.call(t, 201, "PUT", "/v1/objects/in/small.csv", smallCSV)
	ds := e.dataSource(t, "small")
	e.waitDone(t, "/v1/datasources/"+ds)
	for _, id := range []string{"ml-a", "ml-b"} {
		e.call(t, 201, "POST", "/v1/models", map[string]any{"id": id, "trainingDataSourceId": ds, "type": "BINARY", "parameters": map[string]string{"algorithm": "sgd"}})
		e.waitDone(t, "/v1/models/"+id)
		e.call(t, 200, "POST", "/v1/models/"+id+"/endpoint", nil)
	}
	k := e.call(t, 201, "POST", "/v1/keys", `{"name":"app","policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"machinelearning:Predict","Resource":"mlmodel/ml-a"}]}}`).json(t)
	key := k["key"].(string)
	rec := `{"record":{"x":"2","y":"b"}}`
	if r := e.do(t, "POST", "/v1/models/ml-a/predict", key, rec); r.status != 200 {
		t.Fatalf("predict A: %s", r)
	}
	for _, c := range []struct{ method, path, body, action string }{
		{"POST", "/v1/models/ml-b/predict", rec, "machinelearning:Predict on mlmodel/ml-b"},
		{"POST", "/v1/models/ml-b/predictions", `{"records":[{"x":"1"}]}`, "machinelearning:Predict on mlmodel/ml-b"},
		{"PATCH", "/v1/models/ml-a", `{"scoreThreshold":0.9}`, "machinelearning:UpdateMLModel on mlmodel/ml-a"},
		{"DELETE", "/v1/models/ml-a", "", "machinelearning:DeleteMLModel on mlmodel/ml-a"},
		{"DELETE", "/v1/models/ml-a/endpoint", "", "machinelearning:DeleteRealtimeEndpoint on mlmodel/ml-a"},
		{"GET", "/v1/models/ml-a", "", "machinelearning:GetMLModel on mlmodel/ml-a"},
		{"GET", "/v1/models", "", "machinelearning:DescribeMLModels"},
		{"PUT", "/v1/objects/in/x.csv", "x", "perch:PutObject on object/in/x.csv"},
		{"GET", "/v1/objects/in/small.csv", "", "perch:GetObject on object/in/small.csv"},
		{"DELETE", "/v1/objects/in/small.csv", "", "perch:DeleteObject on object/in/small.csv"},
		{"GET", "/v1/objects", "", "perch:ListObjects"},
		{"POST", "/v1/keys", `{"name":"more"}`, "perch:CreateKey"},
		{"GET", "/v1/keys", "", "perch:ListKeys"},
		{"POST", "/v1/datasources", `{"dataUrl":"in/small.csv","targetAttributeName":"label"}`, "machinelearning:CreateDataSourceFromS3"},
		{"POST", "/v1/models/ml-a/tags", `{"tags":{"a":"b"}}`, "machinelearning:AddTags on mlmodel/ml-a"},
		{"GET", "/v1/pipelines", "", "perch:ListPipelines"},
	} {
		wantError(t, e.do(t, c.method, c.path, key, c.body), 403, "AccessDenied", "key app may not "+c.action)
	}
	// Nothing changed.
	m := e.call(t, 200, "GET", "/v1/models/ml-a", nil).json(t)
	if m["status"] != "COMPLETED" || m["scoreThreshold"] != 0.5 || m["endpoint"].(map[string]any)["status"] != "READY" {
		t.Errorf("model A after the refusals: %v", m)
	}
	if r := e.do(t, "GET", "/v1/objects/in/small.csv", e.root, nil); r.status != 200 || string(r.body) != smallCSV {
		t.Errorf("the object after the refusals: %s", r)
	}
	if r := e.do(t, "GET", "/v1/objects/in/x.csv", e.root, nil); r.status != 404 {
		t.Errorf("a refused upload is there: %s", r)
	}
}

// TestPolicyConditions checks that Allow * with a Deny of DeleteMLModel
// cannot delete, that a tag condition admits the tagged model only, and
// that an IpAddress condition naming another range refuses loopback.
func TestPolicyConditions(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.call(t, 201, "PUT", "/v1/objects/in/small.csv", smallCSV)
	ds := e.dataSource(t, "small")
	e.waitDone(t, "/v1/datasources/"+ds)
	for _, id := range []string{"ml-prod", "ml-dev"} {
		e.call(t, 201, "POST", "/v1/models", map[string]any{"id": id, "trainingDataSourceId": ds, "type": "BINARY", "parameters": map[string]string{"algorithm": "sgd"},
			"tags": map[string]string{"stage": id[3:]}})
		e.waitDone(t, "/v1/models/"+id)
	}
	newKey := func(name, policy string) string {
		return e.call(t, 201, "POST", "/v1/keys", `{"name":"`+name+`","policy":`+policy+`}`).json(t)["key"].(string)
	}
	noDelete := newKey("nodelete", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"KeepModels","Effect":"Deny","Action":"machinelearning:DeleteMLModel","Resource":"*"}]}`)
	wantError(t, e.do(t, "DELETE", "/v1/models/ml-dev", noDelete, nil), 403, "AccessDenied", "machinelearning:DeleteMLModel")
	if r := e.do(t, "GET", "/v1/models/ml-dev", noDelete, nil); r.status != 200 || r.json(t)["status"] != "COMPLETED" {
		t.Errorf("the model a denied delete left: %s", r)
	}

	// A list is on no one resource, so a tag condition cannot admit it;
	// what it lists is each model the key may get.
	prodOnly := newKey("prod", `{"Statement":[{"Effect":"Allow","Action":"machinelearning:GetMLModel","Resource":"*","Condition":{"StringEquals":{"perch:ResourceTag/stage":"prod"}}},
		{"Effect":"Allow","Action":"machinelearning:DescribeMLModels","Resource":"*"}]}`)
	if r := e.do(t, "GET", "/v1/models/ml-prod", prodOnly, nil); r.status != 200 {
		t.Errorf("the tagged model: %s", r)
	}
	wantError(t, e.do(t, "GET", "/v1/models/ml-dev", prodOnly, nil), 403, "AccessDenied", "mlmodel/ml-dev")
	// A list shows only what the key may read.
	if items, _ := e.do(t, "GET", "/v1/models", prodOnly, nil).json(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != "ml-prod" {
		t.Errorf("the models the key lists: %v", items)
	}

	elsewhere := newKey("office", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}}`)
	wantError(t, e.do(t, "GET", "/v1/models/ml-prod", elsewhere, nil), 403, "AccessDenied", "")
	loopback := newKey("here", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8","::1/128"]}}}}`)
	if r := e.do(t, "GET", "/v1/models/ml-prod", loopback, nil); r.status != 200 {
		t.Errorf("from an allowed range: %s", r)
	}
}

// TestSimulatePolicy checks the simulator's decisions and deciding
// statements, for a key named by its name or id.
func TestSimulatePolicy(t *testing.T) {
	e := newEnv(t, api.Options{})
	k := e.call(t, 201, "POST", "/v1/keys", `{"name":"sim","policy":{"Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"KeepModels","Effect":"Deny","Action":"machinelearning:DeleteMLModel","Resource":"mlmodel/prod-*"}]}}`).json(t)
	for _, c := range []struct {
		body, allowed, statement string
	}{
		{`{"key":"sim","action":"machinelearning:DeleteMLModel","resource":"mlmodel/prod-1"}`, "false", "KeepModels"},
		{`{"key":"sim","action":"machinelearning:DeleteMLModel","resource":"mlmodel/dev-1"}`, "true", "All"},
		{`{"key":"` + k["id"].(string) + `","action":"perch:PutObject","resource":"object/a.csv"}`, "true", "All"},
	} {
		got := e.call(t, 200, "POST", "/v1/policy/simulate", c.body).json(t)
		if fmt.Sprint(got["allowed"]) != c.allowed || got["statement"] != c.statement || got["key"] != k["id"] {
			t.Errorf("%s: %v, want allowed %s by %s", c.body, got, c.allowed, c.statement)
		}
	}
	wantError(t, e.do(t, "POST", "/v1/policy/simulate", e.root, `{"key":"sim","action":"machinelearning:Fly"}`), 400, "Invalid", "no such action")
	wantError(t, e.do(t, "POST", "/v1/policy/simulate", e.root, `{"key":"nobody","action":"machinelearning:Predict"}`), 404, "NotFound", "key nobody not found")
	reader := e.call(t, 201, "POST", "/v1/keys", `{"name":"reader","policy":"reader"}`).json(t)["key"].(string)
	wantError(t, e.do(t, "POST", "/v1/policy/simulate", reader, `{"key":"sim","action":"machinelearning:Predict"}`), 403, "AccessDenied", "perch:SimulatePolicy")
}
