package metrics

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

func TestMulticlass(t *testing.T) {
	// scikit-learn's f1_score example: y_true [0 1 2 0 1 2], y_pred
	// [0 2 1 0 0 1]. Class a: TP 2, predicted 3, support 2, F1 4/5; b and
	// c: no TP, F1 0. Macro F1 (4/5)/3. Class d occurs nowhere and is not
	// averaged.
	classes := []string{"a", "b", "c", "d"}
	actual := []int{0, 1, 2, 0, 1, 2}
	predicted := []int{0, 2, 1, 0, 0, 1}
	r := Multiclass(predicted, actual, classes)
	if want := 0.8 / 3; r.AvgF1 != want {
		t.Errorf("AvgF1 = %v, want %v", r.AvgF1, want)
	}
	if r.AvgF1 != 0.26666666666666666 {
		t.Errorf("AvgF1 = %v, want scikit-learn's 0.26666666666666666", r.AvgF1)
	}
	if r.Accuracy != 2.0/6 {
		t.Errorf("Accuracy = %v, want 1/3", r.Accuracy)
	}
	wantConf := [][]int{
		{2, 0, 0, 0},
		{1, 0, 1, 0},
		{0, 2, 0, 0},
		{0, 0, 0, 0},
	}
	for i := range wantConf {
		if !slices.Equal(r.Confusion[i], wantConf[i]) {
			t.Errorf("Confusion = %v, want %v", r.Confusion, wantConf)
			break
		}
	}
	wantRows := []ClassRow{
		{"a", 2.0 / 3, 1, 0.8, 2},
		{"b", 0, 0, 0, 2},
		{"c", 0, 0, 0, 2},
		{"d", 0, 0, 0, 0},
	}
	if !slices.Equal(r.Classes, wantRows) {
		t.Errorf("Classes = %v, want %v", r.Classes, wantRows)
	}
	// Every class has support 2; the baseline predicts the first, a:
	// F1 2·2/(2+6) = 1/2, over three classes.
	if want := 0.5 / 3; r.BaselineF1 != want {
		t.Errorf("BaselineF1 = %v, want %v", r.BaselineF1, want)
	}
	if got := r.Properties(); len(got) != 1 || got["MulticlassAvgFScore"] != "0.26666666666666666" {
		t.Errorf("Properties() = %v", got)
	}
	if r.Warning != "" {
		t.Errorf("Warning = %q", r.Warning)
	}
}

func TestMulticlassPredictedOnly(t *testing.T) {
	// Class c is predicted but never actual: it is averaged, with F1 0.
	// a: TP 1, predicted 1, support 2, F1 2/3; b: TP 2, predicted 2,
	// support 2, F1 1. Macro F1 5/9, which scikit-learn rounds as
	// 0.5555555555555555.
	r := Multiclass([]int{0, 2, 1, 1}, []int{0, 0, 1, 1}, []string{"a", "b", "c"})
	if r.AvgF1 != 0.5555555555555555 {
		t.Errorf("AvgF1 = %v, want 0.5555555555555555", r.AvgF1)
	}
	if math.Abs(r.AvgF1-5.0/9) > 1e-15 {
		t.Errorf("AvgF1 = %v, want 5/9", r.AvgF1)
	}
	if c := r.Classes[2]; c.Precision != 0 || c.Recall != 0 || c.F1 != 0 || c.Support != 0 {
		t.Errorf("Classes[2] = %+v, want zeros", c)
	}
	// The baseline predicts a (first of two with support 2): F1 of a is
	// 2·2/(2+4), averaged over a and b.
	if want := (4.0 / 6) / 2; r.BaselineF1 != want {
		t.Errorf("BaselineF1 = %v, want %v", r.BaselineF1, want)
	}
}

func TestMulticlassBaselineMajority(t *testing.T) {
	// b is the most frequent actual class: 3 of 5. Baseline F1 of b is
	// 2·3/(3+5) = 3/4, of a 0: macro 3/8. Predictions are perfect.
	actual := []int{0, 1, 1, 1, 0}
	r := Multiclass(actual, actual, []string{"a", "b"})
	if r.AvgF1 != 1 || r.Accuracy != 1 {
		t.Errorf("AvgF1, Accuracy = %v, %v; want 1, 1", r.AvgF1, r.Accuracy)
	}
	if r.BaselineF1 != 3.0/8 {
		t.Errorf("BaselineF1 = %v, want 3/8", r.BaselineF1)
	}
}

func TestMulticlassEmpty(t *testing.T) {
	r := Multiclass(nil, nil, []string{"a", "b"})
	if r.AvgF1 != 0 || r.Accuracy != 0 || r.BaselineF1 != 0 || r.Warning == "" {
		t.Errorf("empty: %+v", r)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Error(err)
	}
}
