// Package metrics measures predictions against the true values and names
// the headline figures as Amazon Machine Learning did (BinaryAUC,
// MulticlassAvgFScore, RegressionRMSE). It works on slices only; reading
// data and predicting are left to its callers.
//
// Every report is deterministic and safe to encode as JSON: where a figure
// is undefined (a ratio with nothing to divide by) it is reported as 0, or
// as the value a random guess would score, and the report says why in its
// Warning.
package metrics

import "strconv"

// ratio is a/b, or 0 when b is 0, so that no report ever holds a NaN.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func formatFloat(x float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64)
}
