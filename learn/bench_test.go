package learn

import (
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

// BenchmarkTrainAdult measures training from records in memory (recipe
// fit, feature mapping, 10 SGD passes), the same span scikit-learn's
// Pipeline.fit covers from a DataFrame.
func BenchmarkTrainAdult(b *testing.B) {
	_, train, _ := adultData(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Train(train, Options{Type: perch.BinaryModel, Params: sgdParams}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictAdult measures one-record prediction of the founding
// record through the compiled Predictor.
func BenchmarkPredictAdult(b *testing.B) {
	_, train, _ := adultData(b)
	m, err := Train(train, Options{Type: perch.BinaryModel, Params: sgdParams})
	if err != nil {
		b.Fatal(err)
	}
	p, err := model.Compile(m)
	if err != nil {
		b.Fatal(err)
	}
	rec := []string{"22", "Local-gov", "108435", "Masters", "14", "Married-civ-spouse", "Prof-specialty", "Husband", "White", "Male", "0", "0", "80", "United-States", ""}
	var out perch.Prediction
	p.Predict(rec, &out)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Predict(rec, &out)
	}
}
