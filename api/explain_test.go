package api_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// A gbdt model explains a prediction on request, in the answer's details;
// the contributions add up to the margin.
func TestExplain(t *testing.T) {
	a := trained(t)
	e := a.env
	id := e.call(t, 201, "POST", "/v1/models", map[string]any{
		"name": "income trees", "type": "BINARY", "trainingDataSourceId": a.train, "parameters": map[string]string{"gbdt.numTrees": "20"},
	}).json(t)["id"].(string)
	if m := e.waitDone(t, "/v1/models/"+id); m["algorithm"] != "gbdt" || m["createdBy"] != "arn:aws:iam::000000000000:root" {
		t.Fatalf("model (created with the root key): %v", m)
	}
	e.call(t, 200, "POST", "/v1/models/"+id+"/endpoint", nil)
	rec := map[string]any{"record": a.record(foundingRecord)}

	r := e.call(t, 200, "POST", "/v1/models/"+id+"/predict?explain=true", rec)
	var got struct {
		Prediction struct {
			Scores  map[string]float64 `json:"predictedScores"`
			Details struct {
				Type          string             `json:"PredictiveModelType"`
				Algorithm     string             `json:"Algorithm"`
				Contributions map[string]float64 `json:"contributions"`
				Expected      *float64           `json:"expectedMargin"`
			} `json:"details"`
		} `json:"prediction"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	d := got.Prediction.Details
	if d.Algorithm != "GBDT" || d.Expected == nil || len(d.Contributions) != len(a.names)-1 {
		t.Fatalf("details: %s", r.body)
	}
	if !strings.Contains(string(r.body), `"details":{"PredictiveModelType":"BINARY","Algorithm":"GBDT","contributions":{"age":`) {
		t.Errorf("details out of order: %s", r.body)
	}
	sum := *d.Expected
	for _, v := range d.Contributions {
		sum += v
	}
	score := got.Prediction.Scores["0"]
	if margin := math.Log(score / (1 - score)); math.Abs(sum-margin) > 1e-9 {
		t.Errorf("contributions add up to %v, the margin is %v", sum, margin)
	}

	// Without explain=true, or after an explained one, no contributions.
	for _, q := range []string{"", "?explain=false"} {
		if r := e.call(t, 200, "POST", "/v1/models/"+id+"/predict"+q, rec); strings.Contains(string(r.body), "contributions") {
			t.Errorf("predict%s: %s", q, r.body)
		}
	}
	// The explain route says the same per margin.
	var x struct {
		Explanation []struct {
			Class         string             `json:"class"`
			Expected      float64            `json:"expected"`
			Contributions map[string]float64 `json:"contributions"`
		} `json:"explanation"`
	}
	if err := json.Unmarshal(e.call(t, 200, "POST", "/v1/models/"+id+"/explain", rec).body, &x); err != nil || len(x.Explanation) != 1 {
		t.Fatalf("explain: %+v %v", x, err)
	}
	if m := x.Explanation[0]; m.Class != "1" || m.Expected != *d.Expected || m.Contributions["age"] != d.Contributions["age"] {
		t.Errorf("explain: %+v, predict: %+v", m, d)
	}

	wantError(t, e.do(t, "POST", "/v1/models/"+id+"/predict?explain=maybe", e.root, rec), 400, "Invalid", `explain: "maybe" is not true or false`)
	wantError(t, e.do(t, "POST", "/v1/models/"+id+"/predict?verbose=1", e.root, rec), 400, "Invalid", `query parameter "verbose": unknown`)
	e.call(t, 200, "POST", "/v1/models/"+a.model+"/endpoint", nil)
	wantError(t, e.do(t, "POST", "/v1/models/"+a.model+"/predict?explain=true", e.root, rec), 400, "Invalid", "algorithm sgd does not explain")
}
