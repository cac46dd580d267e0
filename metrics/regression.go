package metrics

import "math"

// residualBins is the number of bins of RegressionReport.Residuals.
const residualBins = 20

// RegressionReport measures the predictions of a regression model.
type RegressionReport struct {
	RMSE float64 `json:"rmse"`
	MAE  float64 `json:"mae"`
	// R2 is 1 - SSres/SStot, the share of the variance of the actual
	// values that the predictions explain. It is 0 when the actual values
	// do not vary.
	R2 float64 `json:"r2"`
	// BaselineRMSE is the RMSE of always predicting the baseline mean,
	// the mean target of the training data.
	BaselineRMSE float64           `json:"baselineRmse"`
	Residuals    ResidualHistogram `json:"residuals"`
	Warning      string            `json:"warning,omitempty"`
}

// ResidualHistogram counts the residuals, actual minus predicted, in 20
// equal bins over [Lower, Upper]. The range is symmetric around 0 and
// reaches the largest residual, but no further than four times the RMSE
// so that a few outliers do not squash the rest into one bin; residuals
// beyond it are counted in the end bins.
type ResidualHistogram struct {
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	Counts []int   `json:"counts"`
}

// Regression evaluates predicted values against the actual ones, and
// against always predicting baselineMean. The values must be finite.
// Regression panics if the slices differ in length.
func Regression(predicted, actual []float64, baselineMean float64) *RegressionReport {
	if len(predicted) != len(actual) {
		panic("metrics: Regression: predicted and actual differ in length")
	}
	n := float64(len(actual))
	var mean float64
	for _, y := range actual {
		mean += y
	}
	mean = ratio(mean, n)

	var ssRes, absRes, ssTot, ssBase, maxAbs float64
	for i, y := range actual {
		e := y - predicted[i]
		ssRes += e * e
		absRes += math.Abs(e)
		maxAbs = max(maxAbs, math.Abs(e))
		d := y - mean
		ssTot += d * d
		b := y - baselineMean
		ssBase += b * b
	}
	r := &RegressionReport{
		RMSE:         math.Sqrt(ratio(ssRes, n)),
		MAE:          ratio(absRes, n),
		BaselineRMSE: math.Sqrt(ratio(ssBase, n)),
	}
	switch {
	case len(actual) == 0:
		r.Warning = "no predictions"
	case ssTot == 0:
		r.Warning = "actual values are constant"
	default:
		r.R2 = 1 - ssRes/ssTot
	}

	bound := min(maxAbs, 4*r.RMSE)
	if bound == 0 {
		bound = 1
	}
	r.Residuals = ResidualHistogram{Lower: -bound, Upper: bound, Counts: make([]int, residualBins)}
	for i, y := range actual {
		e := y - predicted[i]
		b := int((e + bound) / (2 * bound) * residualBins)
		r.Residuals.Counts[min(max(b, 0), residualBins-1)]++
	}
	return r
}

// Properties returns AML's PerformanceMetrics properties of the report.
func (r *RegressionReport) Properties() map[string]string {
	return map[string]string{"RegressionRMSE": formatFloat(r.RMSE)}
}
