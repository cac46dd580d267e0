package learn

import (
	"bytes"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

var gbdtParams = map[string]string{"algorithm": "gbdt"}

// XGBoost (hist, 300 trees, depth 6) reaches AUC 0.9273 on Adult's test
// file, scikit-learn's HistGradientBoosting 0.9271.
func TestAdultGBDT(t *testing.T) {
	_, train, test := adultData(t)
	m, ev := trainEval(t, train, test, Options{Type: perch.BinaryModel, Params: gbdtParams})
	auc := metric(t, ev, "BinaryAUC")
	t.Logf("Adult gbdt BinaryAUC %.4f, %d trees", auc, m.Trees.Trees())
	if auc < 0.9273 {
		t.Errorf("BinaryAUC %.4f, want ≥ 0.9273", auc)
	}
	if m.Algorithm != "gbdt" || m.Parameters["gbdt.numTrees"] == "" {
		t.Errorf("algorithm %q, parameters %v", m.Algorithm, m.Parameters)
	}
}

// XGBoost on the same split: RMSE 0.642, macro-F1 0.390.
func TestWineGBDT(t *testing.T) {
	const first70 = `{"splitting":{"percentBegin":0,"percentEnd":70}}`
	const last30 = `{"splitting":{"percentBegin":0,"percentEnd":70,"complement":"true"}}`
	s := infer(t, "wine-quality/wine.csv", "quality")
	train := load(t, "wine-quality/wine.csv", s, first70)
	test := load(t, "wine-quality/wine.csv", s, last30)
	_, ev := trainEval(t, train, test, Options{Type: perch.RegressionModel, Params: gbdtParams})
	rmse := metric(t, ev, "RegressionRMSE")
	t.Logf("wine gbdt RegressionRMSE %.4f", rmse)
	if rmse > 0.642 {
		t.Errorf("RegressionRMSE %.4f, want ≤ 0.642", rmse)
	}

	mc := *s
	mc.Attributes = append([]perch.Attribute(nil), s.Attributes...)
	mc.Attributes[mc.Target()].Type = perch.Categorical
	train = load(t, "wine-quality/wine.csv", &mc, first70)
	test = load(t, "wine-quality/wine.csv", &mc, last30)
	_, ev = trainEval(t, train, test, Options{Type: perch.MulticlassModel, Params: gbdtParams})
	f1 := metric(t, ev, "MulticlassAvgFScore")
	t.Logf("wine gbdt MulticlassAvgFScore %.4f", f1)
	if f1 < 0.390 {
		t.Errorf("MulticlassAvgFScore %.4f, want ≥ 0.390", f1)
	}
}

func TestGBDTSameSeedSameBytes(t *testing.T) {
	_, train, _ := adultData(t)
	enc := func(seed string) []byte {
		m, err := Train(train, Options{Type: perch.BinaryModel, Params: map[string]string{
			"algorithm": "gbdt", "seed": seed, "gbdt.numTrees": "20", "gbdt.rowFraction": "0.8", "gbdt.featureFraction": "0.8"}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := enc("7"), enc("7"), enc("8")
	if !bytes.Equal(a, b) {
		t.Fatal("two trainings with one seed wrote different model files")
	}
	if bytes.Equal(a, c) {
		t.Fatal("another seed wrote the very same file: the seed is not used")
	}
	m, err := model.Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Bytes()
	if !bytes.Equal(a, again) {
		t.Fatal("decode then encode changed the file")
	}
}
