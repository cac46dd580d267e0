package recipe

import (
	"encoding/json"
	"testing"

	"github.com/perchml/perch"
)

func TestSuggest(t *testing.T) {
	withText := adultSchema()
	withText.Attributes = append(withText.Attributes,
		perch.Attribute{Name: "notes", Type: perch.Text}, perch.Attribute{Name: "member", Type: perch.Binary})
	clash := adultSchema()
	clash.Attributes = append(clash.Attributes, perch.Attribute{Name: "NUMERIC_VARS_QB_10", Type: perch.Categorical},
		perch.Attribute{Name: "capital gain", Type: perch.Numeric})
	for _, tc := range []struct {
		name  string
		s     *perch.Schema
		hints map[string]AttributeHint
		want  string
	}{
		{"adult", adultSchema(), nil,
			`{"groups":{"NUMERIC_VARS_QB_10":"group(age, education_num, capital_gain, capital_loss, hours_per_week)"},"assignments":{},` +
				`"outputs":["ALL_CATEGORICAL","quantile_bin(NUMERIC_VARS_QB_10,10)","normalize(ALL_NUMERIC)"]}`},
		{"text and binary", withText, nil,
			`{"groups":{"NUMERIC_VARS_QB_10":"group(age, education_num, capital_gain, capital_loss, hours_per_week)"},"assignments":{},` +
				`"outputs":["ALL_BINARY","ALL_CATEGORICAL","quantile_bin(NUMERIC_VARS_QB_10,10)","normalize(ALL_NUMERIC)","ngram(lowercase(no_punct(ALL_TEXT)),2)"]}`},
		{"hints", withText, map[string]AttributeHint{
			"age":            {Count: 5000, Distinct: 0},
			"education_num":  {Count: 5000, Distinct: 3},
			"capital_loss":   {Count: 5000, Distinct: 1},
			"hours_per_week": {Count: 5000, Distinct: 3},
			"native_country": {Count: 5000, Distinct: 2600},
			"race":           {Count: 900, Distinct: 600},
			"notes":          {Count: 0, Missing: 5000},
			"member":         {Count: 0, Missing: 0},
		},
			`{"groups":{"CATEGORICAL_VARS":"group(workclass, education, marital_status, occupation, relationship, race, sex)",` +
				`"NUMERIC_VARS_QB_10":"group(age, capital_gain)","NUMERIC_VARS_QB_3":"group(education_num, hours_per_week)",` +
				`"NUMERIC_VARS":"group(age, education_num, capital_gain, hours_per_week)"},"assignments":{},` +
				`"outputs":["ALL_BINARY","CATEGORICAL_VARS","quantile_bin(NUMERIC_VARS_QB_10,10)","quantile_bin(NUMERIC_VARS_QB_3,3)","normalize(NUMERIC_VARS)"]}`},
		{"names", clash, nil,
			`{"groups":{"NUMERIC_VARS_QB_10_2":"group(age, education_num, capital_gain, capital_loss, hours_per_week)"},"assignments":{},` +
				`"outputs":["ALL_CATEGORICAL","quantile_bin(NUMERIC_VARS_QB_10_2,10)","normalize(ALL_NUMERIC)"]}`},
	} {
		r := Suggest(tc.s, tc.hints)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s: Suggest =\n%s\nwant\n%s", tc.name, b, tc.want)
		}
		if _, err := Compile(r, tc.s); err != nil {
			t.Errorf("%s: suggested recipe does not compile: %v", tc.name, err)
		}
	}
	if _, err := Compile(Suggest(testSchema(), nil), testSchema()); err != nil {
		t.Errorf("testSchema: %v", err)
	}
}
