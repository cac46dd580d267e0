package client

import (
	"bytes"
	"testing"

	"github.com/perchml/perch"
)

// FuzzParsePrediction: any answer is read or refused without panicking,
// and a prediction read writes back as an answer that reads the same.
func FuzzParsePrediction(f *testing.F) {
	for _, p := range []perch.Prediction{
		{Type: perch.BinaryModel, Algorithm: "SGD", Label: "0", Scores: []perch.Score{{Label: "0", Value: 0.3}}, Original: "<=50K", Invalid: []string{"age"}},
		{Type: perch.RegressionModel, Algorithm: "GBDT", Value: 5.5,
			Contributions: &perch.Contributions{Names: []string{"a"}, Margins: []perch.Margin{{Expected: 5, Values: []float64{0.5}}}}},
		{Type: perch.MulticlassModel, Algorithm: "GBDT", Label: "y", Scores: []perch.Score{{Label: "y", Value: 0.7}, {Label: "x", Value: 0.3}},
			Contributions: &perch.Contributions{Names: []string{"b", "a"}, Margins: []perch.Margin{
				{Class: "y", Expected: 0.5, Values: []float64{1, -1}}, {Class: "x", Expected: -0.5, Values: []float64{0.125, 3}}}}},
	} {
		f.Add(p.AppendJSON(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePrediction(b)
		if err != nil {
			return
		}
		once := p.AppendJSON(nil)
		q, err := ParsePrediction(once)
		if err != nil {
			t.Fatalf("%s read, but its answer %s does not: %v", b, once, err)
		}
		if twice := q.AppendJSON(nil); !bytes.Equal(once, twice) {
			t.Fatalf("%s reads back as\n%s\nthen\n%s", b, once, twice)
		}
	})
}
