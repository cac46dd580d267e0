package metrics

import (
	"math"
	"slices"
	"sort"
)

// Sizes of the tables in a BinaryReport.
const (
	rocPoints      = 101 // at most, in BinaryReport.ROC
	thresholdSteps = 100 // BinaryReport.Thresholds has thresholdSteps+1 rows
	scoreBins      = 50  // bins of BinaryReport.Histogram
)

// logLossEpsilon keeps log-loss finite for confident mistakes.
const logLossEpsilon = 1e-15

// BinaryReport measures scores of a binary classifier.
type BinaryReport struct {
	// AUC is the area under the ROC curve: the probability that a random
	// positive scores above a random negative, ties counting one half.
	AUC float64 `json:"auc"`
	// LogLoss is the mean negative log-likelihood, with scores clipped to
	// [1e-15, 1-1e-15].
	LogLoss float64 `json:"logLoss"`

	// The figures below hold at Threshold: a score at or above it
	// predicts the positive class.
	Threshold         float64         `json:"threshold"`
	Accuracy          float64         `json:"accuracy"`
	Precision         float64         `json:"precision"`
	Recall            float64         `json:"recall"`
	F1                float64         `json:"f1"`
	FalsePositiveRate float64         `json:"falsePositiveRate"`
	Confusion         BinaryConfusion `json:"confusion"`

	Positives int `json:"positives"`
	Negatives int `json:"negatives"`

	// ROC is the ROC curve from (0,0) to (1,1), downsampled evenly to at
	// most 101 points when there are more distinct scores.
	ROC []ROCPoint `json:"roc"`
	// Thresholds holds the figures at the thresholds 0, 0.01, ..., 1.
	Thresholds []ThresholdRow `json:"thresholds"`
	Histogram  ScoreHistogram `json:"histogram"`
	Baseline   float64        `json:"baselineAuc"` // AUC of a random guess
	Warning    string         `json:"warning,omitempty"`
}

// BinaryConfusion counts the outcomes at one threshold.
type BinaryConfusion struct {
	TP int `json:"tp"`
	FP int `json:"fp"`
	TN int `json:"tn"`
	FN int `json:"fn"`
}

// ROCPoint is one point of an ROC curve: the rates when scores at or above
// Threshold are predicted positive. The first point's Threshold lies above
// every score.
type ROCPoint struct {
	FPR       float64 `json:"fpr"`
	TPR       float64 `json:"tpr"`
	Threshold float64 `json:"threshold"`
}

// ThresholdRow holds the figures at one threshold.
type ThresholdRow struct {
	Threshold         float64 `json:"threshold"`
	Accuracy          float64 `json:"accuracy"`
	Precision         float64 `json:"precision"`
	Recall            float64 `json:"recall"`
	F1                float64 `json:"f1"`
	FalsePositiveRate float64 `json:"falsePositiveRate"`
	PredictedPositive int     `json:"predictedPositive"`
}

// ScoreHistogram counts the scores of each class in 50 equal bins over
// [0,1]. Bins holds the 51 bin edges; bin i is [Bins[i], Bins[i+1]), the
// last bin also holding 1.
type ScoreHistogram struct {
	Bins     []float64 `json:"bins"`
	Positive []int     `json:"positive"`
	Negative []int     `json:"negative"`
}

// Binary evaluates the scores of a binary classifier against the labels,
// true meaning the positive class "1". A score at or above threshold
// predicts the positive class.
//
// Scores are probabilities: a score outside [0,1] is clamped to it and a
// NaN score counts as 0. A NaN threshold is taken as 0.5. When labels hold
// only one class, AUC is undefined and is reported as 0.5, the ROC curve as
// the diagonal. Binary panics if the slices differ in length.
func Binary(scores []float64, labels []bool, threshold float64) *BinaryReport {
	if len(scores) != len(labels) {
		panic("metrics: Binary: scores and labels differ in length")
	}
	if math.IsNaN(threshold) {
		threshold = 0.5
	}
	r := &BinaryReport{Threshold: threshold, Baseline: 0.5}
	for _, y := range labels {
		if y {
			r.Positives++
		}
	}
	r.Negatives = len(labels) - r.Positives

	// Scores of each class, sorted, are all the rest needs: merging the
	// two gives the ROC curve, and counting at or above a threshold is a search.
	pos := make([]float64, 0, r.Positives)
	neg := make([]float64, 0, r.Negatives)
	r.Histogram = ScoreHistogram{
		Bins:     make([]float64, scoreBins+1),
		Positive: make([]int, scoreBins),
		Negative: make([]int, scoreBins),
	}
	for i := range r.Histogram.Bins {
		r.Histogram.Bins[i] = float64(i) / scoreBins
	}
	var loss float64
	for i, s := range scores {
		s = clamp01(s)
		p := min(max(s, logLossEpsilon), 1-logLossEpsilon)
		b := scoreBin(s, r.Histogram.Bins)
		if labels[i] {
			pos = append(pos, s)
			loss -= math.Log(p)
			r.Histogram.Positive[b]++
		} else {
			neg = append(neg, s)
			loss -= math.Log1p(-p)
			r.Histogram.Negative[b]++
		}
	}
	r.LogLoss = ratio(loss, float64(len(scores)))
	sortScores(pos)
	sortScores(neg)

	c := confusionAt(pos, neg, threshold)
	r.Confusion = c
	r.Accuracy, r.Precision, r.Recall, r.F1, r.FalsePositiveRate = rates(c)

	r.Thresholds = make([]ThresholdRow, thresholdSteps+1)
	for i := range r.Thresholds {
		t := float64(i) / thresholdSteps
		c := confusionAt(pos, neg, t)
		row := ThresholdRow{Threshold: t, PredictedPositive: c.TP + c.FP}
		row.Accuracy, row.Precision, row.Recall, row.F1, row.FalsePositiveRate = rates(c)
		r.Thresholds[i] = row
	}

	top := 1.0 // a threshold above every score
	if len(scores) > 0 && max(last(pos), last(neg)) >= 1 {
		top = math.Nextafter(1, 2)
	}
	if r.Positives == 0 || r.Negatives == 0 {
		r.AUC = 0.5
		r.Warning = "only one class present"
		if len(scores) == 0 {
			r.Warning = "no scores"
		}
		bottom := 0.0 // a threshold at or below every score
		if len(scores) > 0 {
			bottom = min(first(pos), first(neg))
		}
		r.ROC = []ROCPoint{{0, 0, top}, {1, 1, bottom}}
		return r
	}
	r.AUC, r.ROC = roc(pos, neg, top)
	return r
}

// roc returns the area under the ROC curve of the sorted scores pos and
// neg, both non-empty, and the curve downsampled to at most rocPoints.
// The area is the Mann–Whitney U statistic over P·N, computed exactly in
// integers by the trapezoid rule over groups of tied scores.
func roc(pos, neg []float64, top float64) (float64, []ROCPoint) {
	P, N := len(pos), len(neg)
	var u2 int64 // twice U
	groups := 0
	prevTP := 0
	prevFP := 0
	descend(pos, neg, func(_ float64, tp, fp int) {
		u2 += int64(fp-prevFP) * int64(tp+prevTP)
		prevTP, prevFP = tp, fp
		groups++
	})
	auc := float64(u2) / (2 * float64(P) * float64(N))

	// Point k of the full curve is the origin for k = 0 and the k-th
	// group of tied scores from the top after it; keep points evenly
	// spaced in k, the first and the last among them.
	n := groups + 1
	pick := func(i int) int { return i } // point of the full curve kept i-th
	size := n
	if n > rocPoints {
		size = rocPoints
		pick = func(i int) int { return (i*(n-1) + (rocPoints-1)/2) / (rocPoints - 1) }
	}
	curve := make([]ROCPoint, 0, size)
	curve = append(curve, ROCPoint{0, 0, top})
	k := 0
	descend(pos, neg, func(s float64, tp, fp int) {
		k++
		if len(curve) < size && pick(len(curve)) == k {
			curve = append(curve, ROCPoint{
				FPR:       float64(fp) / float64(N),
				TPR:       float64(tp) / float64(P),
				Threshold: s,
			})
		}
	})
	return auc, curve
}

// descend calls fn for each distinct score of the sorted pos and neg, from
// the highest down, with the numbers of positives and negatives scoring at
// or above it.
func descend(pos, neg []float64, fn func(score float64, tp, fp int)) {
	i, j := len(pos), len(neg)
	for i > 0 || j > 0 {
		var s float64
		switch {
		case i == 0:
			s = neg[j-1]
		case j == 0:
			s = pos[i-1]
		default:
			s = max(pos[i-1], neg[j-1])
		}
		for i > 0 && pos[i-1] == s {
			i--
		}
		for j > 0 && neg[j-1] == s {
			j--
		}
		fn(s, len(pos)-i, len(neg)-j)
	}
}

// confusionAt counts the outcomes at threshold t from the sorted scores.
func confusionAt(pos, neg []float64, t float64) BinaryConfusion {
	tp := len(pos) - sort.SearchFloat64s(pos, t)
	fp := len(neg) - sort.SearchFloat64s(neg, t)
	return BinaryConfusion{TP: tp, FP: fp, TN: len(neg) - fp, FN: len(pos) - tp}
}

// rates derives the figures of a confusion. F1 is 2TP/(2TP+FP+FN), which
// is 0 when precision and recall both are.
func rates(c BinaryConfusion) (accuracy, precision, recall, f1, fpr float64) {
	tp, fp, tn, fn := float64(c.TP), float64(c.FP), float64(c.TN), float64(c.FN)
	accuracy = ratio(tp+tn, tp+fp+tn+fn)
	precision = ratio(tp, tp+fp)
	recall = ratio(tp, tp+fn)
	f1 = ratio(2*tp, 2*tp+fp+fn)
	fpr = ratio(fp, fp+tn)
	return
}

// sortScores sorts scores in [0,1] in increasing order. Non-negative
// floats order as their bits do, so a radix sort on the bits applies, and
// it is several times faster than comparing on a million scores.
func sortScores(s []float64) {
	if len(s) < 512 {
		slices.Sort(s)
		return
	}
	var counts [8][256]int
	for _, x := range s {
		b := math.Float64bits(x)
		for d := range counts {
			counts[d][byte(b>>(8*d))]++
		}
	}
	src, dst := s, make([]float64, len(s))
	for d := range counts {
		shift := 8 * d
		c := &counts[d]
		if c[byte(math.Float64bits(src[0])>>shift)] == len(s) {
			continue // every score has this digit
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, x := range src {
			k := byte(math.Float64bits(x) >> shift)
			dst[c[k]] = x
			c[k]++
		}
		src, dst = dst, src
	}
	copy(s, src) // a no-op when src is s
}

// clamp01 clamps s to [0,1], taking NaN and -0 to 0 so that sorting and
// comparing scores is total.
func clamp01(s float64) float64 {
	if !(s > 0) {
		return 0
	}
	return min(s, 1)
}

// scoreBin returns the bin of s in [0,1] among the given edges, agreeing
// with the edges exactly where floating-point division would not.
func scoreBin(s float64, edges []float64) int {
	n := len(edges) - 1
	b := min(int(s*float64(n)), n-1)
	if b+1 < n && s >= edges[b+1] {
		b++
	} else if b > 0 && s < edges[b] {
		b--
	}
	return b
}

// first and last return the ends of a sorted slice, or ones that lose
// every min and max when it is empty.
func first(s []float64) float64 {
	if len(s) == 0 {
		return math.Inf(1)
	}
	return s[0]
}

func last(s []float64) float64 {
	if len(s) == 0 {
		return math.Inf(-1)
	}
	return s[len(s)-1]
}

// Properties returns AML's PerformanceMetrics properties of the report.
func (r *BinaryReport) Properties() map[string]string {
	return map[string]string{"BinaryAUC": formatFloat(r.AUC)}
}
