package metrics

import (
	"encoding/json"
	"math"
	"testing"
)

func TestRegression(t *testing.T) {
	// scikit-learn's example: residuals 0.5, -0.5, 0, -1; SSres 1.5;
	// actual mean 2.875, SStot 29.1875.
	actual := []float64{3, -0.5, 2, 7}
	predicted := []float64{2.5, 0.0, 2, 8}
	r := Regression(predicted, actual, 2.875)
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-15 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("RMSE", r.RMSE, math.Sqrt(0.375))
	check("RMSE", r.RMSE, 0.6123724356957945)
	check("MAE", r.MAE, 0.5)
	check("R2", r.R2, 1-1.5/29.1875)
	check("R2", r.R2, 0.9486081370449679)
	check("BaselineRMSE", r.BaselineRMSE, math.Sqrt(29.1875/4))
	if r.Warning != "" {
		t.Errorf("Warning = %q", r.Warning)
	}
	if got := r.Properties(); len(got) != 1 || got["RegressionRMSE"] != "0.6123724356957945" {
		t.Errorf("Properties() = %v", got)
	}

	// A baseline mean other than the evaluation data's.
	r = Regression(predicted, actual, 0)
	check("BaselineRMSE", r.BaselineRMSE, math.Sqrt((9+0.25+4+49)/4.0))
}

func TestRegressionResiduals(t *testing.T) {
	// Residuals 0.5, -0.5, 0, -1: the range is ±1 (below 4·RMSE) and
	// each bin is 0.1 wide.
	r := Regression([]float64{2.5, 0.0, 2, 8}, []float64{3, -0.5, 2, 7}, 0)
	h := r.Residuals
	if h.Lower != -1 || h.Upper != 1 || len(h.Counts) != 20 {
		t.Fatalf("Residuals = %+v", h)
	}
	want := map[int]int{0: 1, 5: 1, 10: 1, 15: 1}
	for i, n := range h.Counts {
		if n != want[i] {
			t.Errorf("Counts = %v, want %v", h.Counts, want)
			break
		}
	}

	// One outlier among many small residuals is clipped to 4·RMSE and
	// counted in the last bin.
	actual := make([]float64, 1000)
	predicted := make([]float64, 1000)
	for i := range actual {
		actual[i] = float64(i%3 - 1)
	}
	actual[999] = 100
	r = Regression(predicted, actual, 0)
	h = r.Residuals
	if h.Upper != 4*r.RMSE || h.Lower != -h.Upper {
		t.Errorf("range [%v, %v], want ±4·RMSE = %v", h.Lower, h.Upper, 4*r.RMSE)
	}
	total := 0
	for _, n := range h.Counts {
		total += n
	}
	if total != 1000 || h.Counts[19] != 1 {
		t.Errorf("Counts = %v: want 1000 in all, the outlier alone in the last", h.Counts)
	}
}

func TestRegressionConstant(t *testing.T) {
	r := Regression([]float64{1, 2, 3}, []float64{2, 2, 2}, 2)
	if r.R2 != 0 || r.Warning != "actual values are constant" {
		t.Errorf("R2 %v, warning %q; want 0 and a warning", r.R2, r.Warning)
	}
	if r.BaselineRMSE != 0 || r.MAE != 2.0/3 {
		t.Errorf("BaselineRMSE %v, MAE %v; want 0, 2/3", r.BaselineRMSE, r.MAE)
	}
	for _, r := range []*RegressionReport{r, Regression(nil, nil, 0), Regression([]float64{5}, []float64{5}, 5)} {
		if _, err := json.Marshal(r); err != nil {
			t.Error(err)
		}
	}
}
