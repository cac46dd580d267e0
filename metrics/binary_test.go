package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// pairAUC counts, over every positive-negative pair, a win as 2 and a tie
// as 1: the Mann–Whitney statistic by brute force.
func pairAUC(scores []float64, labels []bool) float64 {
	var u2 int64
	p, n := 0, 0
	for i, si := range scores {
		if !labels[i] {
			n++
			continue
		}
		p++
		for j, sj := range scores {
			if labels[j] {
				continue
			}
			switch {
			case si > sj:
				u2 += 2
			case si == sj:
				u2++
			}
		}
	}
	return float64(u2) / (2 * float64(p) * float64(n))
}

func TestAUCSmall(t *testing.T) {
	for _, tc := range []struct {
		scores []float64
		labels []bool
		want   float64
	}{
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		// Positive 0.5 ties both negatives (1/2 each), 0.9 beats both: 3/4.
		{[]float64{0.5, 0.5, 0.5, 0.9}, []bool{false, true, false, true}, 0.75},
		{[]float64{0.3, 0.3, 0.3, 0.3}, []bool{false, true, false, true}, 0.5},
		// 0.2 beats nothing, ties 0.2; 0.6 beats 0.2 and 0.4, ties 0.6:
		// (0.5 + 2.5) / (2*3).
		{[]float64{0.2, 0.2, 0.4, 0.6, 0.6}, []bool{true, false, false, true, false}, 0.5},
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{true, true, false, false}, 0},
	} {
		r := Binary(tc.scores, tc.labels, 0.5)
		if r.AUC != tc.want {
			t.Errorf("Binary(%v, %v).AUC = %v, want %v", tc.scores, tc.labels, r.AUC, tc.want)
		}
		if r.Warning != "" {
			t.Errorf("Binary(%v, %v).Warning = %q", tc.scores, tc.labels, r.Warning)
		}
	}
}

func TestAUCMatchesPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		n := 2 + rng.IntN(200)
		levels := 1 + rng.IntN(20) // few levels make many ties
		scores := make([]float64, n)
		labels := make([]bool, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(levels+1)) / float64(levels)
			labels[i] = rng.IntN(3) == 0
		}
		labels[0], labels[1] = true, false
		got := Binary(scores, labels, 0.5).AUC
		if want := pairAUC(scores, labels); got != want {
			t.Fatalf("trial %d: AUC = %v, pair count gives %v", trial, got, want)
		}
	}
}

func TestAUCPerfectAndInverted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 10000
	scores := make([]float64, n)
	labels := make([]bool, n)
	inverted := make([]bool, n)
	for i := range scores {
		scores[i] = rng.Float64()
		labels[i] = scores[i] >= 0.3
		inverted[i] = !labels[i]
	}
	if r := Binary(scores, labels, 0.3); r.AUC != 1 || r.Accuracy != 1 || r.F1 != 1 {
		t.Errorf("perfect: AUC %v, accuracy %v, F1 %v; want 1, 1, 1", r.AUC, r.Accuracy, r.F1)
	}
	if r := Binary(scores, inverted, 0.3); r.AUC != 0 || r.Accuracy != 0 || r.F1 != 0 {
		t.Errorf("inverted: AUC %v, accuracy %v, F1 %v; want 0, 0, 0", r.AUC, r.Accuracy, r.F1)
	}
}

func TestBinaryAtThreshold(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.6, 0.5}
	labels := []bool{true, true, false, true, false, true, false, false, false, false}
	r := Binary(scores, labels, 0.5)
	// At 0.5: predicted positive 0.9, 0.8, 0.7, 0.5, 0.6, 0.5.
	want := BinaryConfusion{TP: 3, FP: 3, TN: 3, FN: 1}
	if r.Confusion != want {
		t.Fatalf("Confusion = %+v, want %+v", r.Confusion, want)
	}
	if r.Positives != 4 || r.Negatives != 6 {
		t.Errorf("Positives, Negatives = %d, %d; want 4, 6", r.Positives, r.Negatives)
	}
	check := func(name string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("Accuracy", r.Accuracy, 6.0/10)
	check("Precision", r.Precision, 3.0/6)
	check("Recall", r.Recall, 3.0/4)
	check("F1", r.F1, 6.0/10)
	check("FalsePositiveRate", r.FalsePositiveRate, 3.0/6)

	if len(r.Thresholds) != 101 {
		t.Fatalf("len(Thresholds) = %d, want 101", len(r.Thresholds))
	}
	row := r.Thresholds[50]
	top := ThresholdRow{
		Threshold:         r.Threshold,
		Accuracy:          r.Accuracy,
		Precision:         r.Precision,
		Recall:            r.Recall,
		F1:                r.F1,
		FalsePositiveRate: r.FalsePositiveRate,
		PredictedPositive: r.Confusion.TP + r.Confusion.FP,
	}
	if row != top {
		t.Errorf("Thresholds[50] = %+v, want the report's figures %+v", row, top)
	}
	for i, row := range r.Thresholds {
		if row.Threshold != float64(i)/100 {
			t.Errorf("Thresholds[%d].Threshold = %v", i, row.Threshold)
		}
	}
	if first := r.Thresholds[0]; first.PredictedPositive != 10 || first.Recall != 1 || first.FalsePositiveRate != 1 {
		t.Errorf("Thresholds[0] = %+v, want everything predicted positive", first)
	}
	// No score reaches 1: nothing is predicted positive, precision is 0.
	if last := r.Thresholds[100]; last.PredictedPositive != 0 || last.Precision != 0 || last.F1 != 0 || last.Accuracy != 0.6 {
		t.Errorf("Thresholds[100] = %+v", last)
	}
}

func TestLogLoss(t *testing.T) {
	r := Binary([]float64{0.9, 0.2}, []bool{true, false}, 0.5)
	want := -(math.Log(0.9) + math.Log(0.8)) / 2 // 0.164252033486018
	if math.Abs(r.LogLoss-want) > 1e-15 || math.Abs(r.LogLoss-0.164252033486018) > 1e-14 {
		t.Errorf("LogLoss = %v, want %v", r.LogLoss, want)
	}
	// Certain and wrong costs about -ln(1e-15) each, not infinity. The
	// upper clip 1-1e-15 rounds to 1-9.992007221626409e-16.
	r = Binary([]float64{0, 1}, []bool{true, false}, 0.5)
	if want := (34.538776394910684 + 34.53957599234088) / 2; math.Abs(r.LogLoss-want) > 1e-12 {
		t.Errorf("clipped LogLoss = %v, want %v", r.LogLoss, want)
	}
	r = Binary([]float64{1, 0}, []bool{true, false}, 0.5)
	if r.LogLoss > 1e-14 {
		t.Errorf("certain and right LogLoss = %v, want about 1e-15", r.LogLoss)
	}
}

func TestROC(t *testing.T) {
	r := Binary([]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.5)
	want := []ROCPoint{
		{0, 0, 1},
		{0, 0.5, 0.8},
		{0.5, 0.5, 0.4},
		{0.5, 1, 0.35},
		{1, 1, 0.1},
	}
	if len(r.ROC) != len(want) {
		t.Fatalf("ROC = %v, want %v", r.ROC, want)
	}
	for i := range want {
		if r.ROC[i] != want[i] {
			t.Errorf("ROC[%d] = %v, want %v", i, r.ROC[i], want[i])
		}
	}

	// A score of 1 needs a first threshold above it.
	r = Binary([]float64{1, 0}, []bool{true, false}, 0.5)
	if th := r.ROC[0].Threshold; !(th > 1) {
		t.Errorf("ROC[0].Threshold = %v, want above 1", th)
	}

	rng := rand.New(rand.NewPCG(5, 6))
	n := 100000
	scores := make([]float64, n)
	labels := make([]bool, n)
	for i := range scores {
		labels[i] = rng.IntN(2) == 0
		scores[i] = rng.Float64()
		if labels[i] {
			scores[i] = math.Sqrt(scores[i])
		}
	}
	r = Binary(scores, labels, 0.5)
	if len(r.ROC) != 101 {
		t.Fatalf("len(ROC) = %d, want 101", len(r.ROC))
	}
	if p := r.ROC[0]; p.FPR != 0 || p.TPR != 0 {
		t.Errorf("ROC[0] = %v, want (0,0)", p)
	}
	if p := r.ROC[100]; p.FPR != 1 || p.TPR != 1 {
		t.Errorf("ROC[100] = %v, want (1,1)", p)
	}
	for i := 1; i < len(r.ROC); i++ {
		a, b := r.ROC[i-1], r.ROC[i]
		if b.FPR < a.FPR || b.TPR < a.TPR || b.Threshold >= a.Threshold {
			t.Fatalf("ROC[%d] = %v after %v: not monotone", i, b, a)
		}
	}
	// Scores sqrt(U) against U: AUC is 2/3.
	if math.Abs(r.AUC-2.0/3) > 0.01 {
		t.Errorf("AUC = %v, want about 2/3", r.AUC)
	}
}

func TestHistogram(t *testing.T) {
	scores := []float64{0, 0.01, 0.02, 0.5, 0.99, 1, math.NaN(), -1, 2}
	labels := []bool{true, true, true, false, false, false, true, false, true}
	r := Binary(scores, labels, 0.5)
	h := r.Histogram
	if len(h.Bins) != 51 || h.Bins[0] != 0 || h.Bins[50] != 1 || h.Bins[25] != 0.5 {
		t.Fatalf("Bins = %v", h.Bins)
	}
	wantPos := map[int]int{0: 3, 1: 1, 49: 1}  // 0, 0.01, NaN | 0.02 | 2
	wantNeg := map[int]int{0: 1, 25: 1, 49: 2} // -1 | 0.5 | 0.99, 1
	for i := range 50 {
		if h.Positive[i] != wantPos[i] || h.Negative[i] != wantNeg[i] {
			t.Errorf("bin %d: %d positive, %d negative; want %d, %d", i, h.Positive[i], h.Negative[i], wantPos[i], wantNeg[i])
		}
	}
	// Every score lands in the bin its edges say.
	for i := range 1001 {
		s := float64(i) / 1000
		b := scoreBin(s, h.Bins)
		if s < h.Bins[b] || (s >= h.Bins[b+1] && b < 49) {
			t.Errorf("scoreBin(%v) = %d, edges [%v, %v)", s, b, h.Bins[b], h.Bins[b+1])
		}
	}
}

func TestBinaryOneClass(t *testing.T) {
	for _, tc := range []struct {
		labels  []bool
		warning string
	}{
		{[]bool{true, true, true}, "only one class present"},
		{[]bool{false, false, false}, "only one class present"},
		{[]bool{}, "no scores"},
	} {
		scores := []float64{0.2, 0.7, 0.9}[:len(tc.labels)]
		r := Binary(scores, tc.labels, 0.5)
		if r.AUC != 0.5 || r.Warning != tc.warning {
			t.Errorf("Binary(%v): AUC %v, warning %q; want 0.5, %q", tc.labels, r.AUC, r.Warning, tc.warning)
		}
		if len(r.ROC) != 2 || r.ROC[0].FPR != 0 || r.ROC[1].TPR != 1 {
			t.Errorf("Binary(%v).ROC = %v, want the diagonal", tc.labels, r.ROC)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("Binary(%v): %v", tc.labels, err)
		}
	}
}

func TestBinaryDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	scores := make([]float64, 5000)
	labels := make([]bool, len(scores))
	for i := range scores {
		scores[i] = math.Round(rng.Float64()*300) / 300
		labels[i] = rng.Float64() < scores[i]
	}
	a, _ := json.Marshal(Binary(scores, labels, 0.4))
	b, _ := json.Marshal(Binary(scores, labels, 0.4))
	if string(a) != string(b) {
		t.Error("two runs differ")
	}
}

func TestBinaryProperties(t *testing.T) {
	r := Binary([]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.5)
	got := r.Properties()
	if len(got) != 1 || got["BinaryAUC"] != "0.75" {
		t.Errorf("Properties() = %v, want BinaryAUC 0.75", got)
	}
}

func BenchmarkBinary(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	n := 1_000_000
	scores := make([]float64, n)
	labels := make([]bool, n)
	for i := range scores {
		labels[i] = rng.IntN(2) == 0
		scores[i] = rng.Float64()
		if labels[i] {
			scores[i] = math.Sqrt(scores[i])
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Binary(scores, labels, 0.5)
	}
}

func TestSortScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 511, 512, 513, 10000} {
		for _, gen := range []func() float64{
			rng.Float64,
			func() float64 { return float64(rng.IntN(7)) / 6 },
			func() float64 { return 0.25 },
			func() float64 { return math.Ldexp(rng.Float64(), -rng.IntN(1100)) }, // subnormals too
		} {
			s := make([]float64, n)
			for i := range s {
				s[i] = gen()
			}
			want := slices.Clone(s)
			slices.Sort(want)
			sortScores(s)
			if !slices.Equal(s, want) {
				t.Fatalf("sortScores of %d scores differs from slices.Sort", n)
			}
		}
	}
}
