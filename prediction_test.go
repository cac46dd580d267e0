package perch

import (
	"encoding/json"
	"testing"
)

func TestPredictionJSON(t *testing.T) {
	for _, c := range []struct {
		p    Prediction
		want string
	}{
		{Prediction{Type: BinaryModel, Algorithm: "SGD", Label: "1", Scores: []Score{{"1", 0.75}}, Original: ">50K"},
			`{"predictedLabel":"1","predictedScores":{"1":0.75},"details":{"PredictiveModelType":"BINARY","Algorithm":"SGD"},"predictedOriginalLabel":">50K"}`},
		{Prediction{Type: MulticlassModel, Algorithm: "SGD", Label: "b", Scores: []Score{{"a", 0.25}, {"b", 0.75}}},
			`{"predictedLabel":"b","predictedScores":{"a":0.25,"b":0.75},"details":{"PredictiveModelType":"MULTICLASS","Algorithm":"SGD"}}`},
		{Prediction{Type: RegressionModel, Algorithm: "SGD", Value: 5.5, Invalid: []string{"age"}},
			`{"predictedValue":5.5,"predictedScores":{},"details":{"PredictiveModelType":"REGRESSION","Algorithm":"SGD"},"invalidAttributes":["age"]}`},
		{Prediction{Type: MulticlassModel, Algorithm: "GBDT", Label: "0", Scores: []Score{{"0", 1}}, Invalid: []string{"age"}, Missing: []string{"sepal_width", `a"b`}},
			`{"predictedLabel":"0","predictedScores":{"0":1},"details":{"PredictiveModelType":"MULTICLASS","Algorithm":"GBDT","missingAttributes":["sepal_width","a\"b"]},"invalidAttributes":["age"]}`},
		{Prediction{Type: BinaryModel, Algorithm: "GBDT", Label: "1", Scores: []Score{{"1", 0.5}}, Missing: []string{"x"},
			Contributions: &Contributions{Names: []string{"x"}, Margins: []Margin{{Expected: -1, Values: []float64{1}}}}},
			`{"predictedLabel":"1","predictedScores":{"1":0.5},"details":{"PredictiveModelType":"BINARY","Algorithm":"GBDT","contributions":{"x":1},"expectedMargin":-1,"missingAttributes":["x"]}}`},
		{Prediction{Type: RegressionModel, Algorithm: "SGD", Value: 1, Missing: []string{}},
			`{"predictedValue":1,"predictedScores":{},"details":{"PredictiveModelType":"REGRESSION","Algorithm":"SGD"}}`},
	} {
		if b := c.p.AppendJSON(nil); string(b) != c.want {
			t.Errorf("got %s\nwant %s", b, c.want)
		}
		var v map[string]any
		if b, err := json.Marshal(&c.p); err != nil || json.Unmarshal(b, &v) != nil {
			t.Errorf("json.Marshal: %s %v", b, err)
		}
	}
}

// FuzzAppendJSONString checks the hand-written string encoder against
// encoding/json: the same value must come back.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote`, "back\\slash", "\x00\x1f\n\r\t", "<=50K & >", "\u2028\u2029", "\xff\xfe bad utf8", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var w string
		json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, got, w)
		}
	})
}
