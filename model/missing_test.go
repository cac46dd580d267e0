package model_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

// A prediction names the attributes its record lacks, in schema order:
// absent from the record, empty, or the missing marker. The target and
// unknown names are not attributes the model reads; an invalid value is
// invalid, not missing.
func TestMissingAttributes(t *testing.T) {
	_, _, trees := adultTrees(t)
	_, linear := adult(t)
	for _, p := range []*model.Predictor{linear, trees} {
		t.Run(p.Model().Algorithm, func(t *testing.T) {
			rec := perch.Record{"unknown": "x"}
			for i, a := range p.Model().Schema.Attributes {
				rec[a.Name] = founding[i]
			}
			delete(rec, "income")
			delete(rec, "workclass")
			rec["fnlwgt"] = ""
			rec["hours_per_week"] = " ? "
			rec["age"] = "old"
			var out perch.Prediction
			p.PredictRecord(rec, &out)
			want := []string{"workclass", "fnlwgt", "hours_per_week"}
			if !slices.Equal(out.Missing, want) || !slices.Equal(out.Invalid, []string{"age"}) {
				t.Fatalf("missing %q, invalid %q; want missing %q, invalid [age]", out.Missing, out.Invalid, want)
			}
			js := string(out.AppendJSON(nil))
			if !strings.Contains(js, `"missingAttributes":["workclass","fnlwgt","hours_per_week"]}`) || !strings.Contains(js, `"invalidAttributes":["age"]`) {
				t.Errorf("JSON does not list them: %s", js)
			}
			var shape struct {
				Details struct {
					Missing []string `json:"missingAttributes"`
				} `json:"details"`
			}
			if err := json.Unmarshal([]byte(js), &shape); err != nil || !slices.Equal(shape.Details.Missing, want) {
				t.Errorf("details.missingAttributes %q (%v), want %q", shape.Details.Missing, err, want)
			}

			// Fields in schema order, as a CSV line gives them: "" is missing.
			fields := slices.Clone(founding)
			fields[1], fields[13] = "", ""
			p.Predict(fields, &out)
			if want := []string{"workclass", "native_country"}; !slices.Equal(out.Missing, want) {
				t.Errorf("fields: missing %q, want %q", out.Missing, want)
			}
			// Reused, a Prediction for a full record lists nothing.
			p.Predict(founding, &out)
			if out.Missing == nil || len(out.Missing) != 0 || strings.Contains(string(out.AppendJSON(nil)), "missingAttributes") {
				t.Errorf("full record: missing %q (storage kept: %v)", out.Missing, out.Missing != nil)
			}
			// Listing them does not allocate once the storage is there.
			p.Predict(fields, &out)
			if n := testing.AllocsPerRun(1000, func() { p.Predict(fields, &out) }); n != 0 {
				t.Errorf("%v allocations per prediction of a record that lacks attributes", n)
			}
		})
	}
}
