package metrics

import "fmt"

// MulticlassReport measures the predictions of a multiclass classifier.
type MulticlassReport struct {
	// AvgF1 is the macro-averaged F1 score: the mean of the F1 scores of
	// the classes that occur among the actual or the predicted classes,
	// as scikit-learn's f1_score(average="macro") computes it. It is AML's
	// MulticlassAvgFScore.
	AvgF1    float64    `json:"macroF1"`
	Accuracy float64    `json:"accuracy"`
	Classes  []ClassRow `json:"classes"` // every class, in the order given
	// Confusion counts the rows by actual class (first index) and
	// predicted class (second index).
	Confusion [][]int `json:"confusion"`
	// BaselineF1 is the macro F1 of always predicting the most frequent
	// actual class (the first of equally frequent ones).
	BaselineF1 float64 `json:"baselineMacroF1"`
	Warning    string  `json:"warning,omitempty"`
}

// ClassRow holds the figures of one class. Support is the number of rows
// whose actual class it is.
type ClassRow struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Multiclass evaluates predicted classes against the actual ones. Both are
// indices into classes, which names them. Multiclass panics if the slices
// differ in length or an index is out of range.
func Multiclass(predicted, actual []int, classes []string) *MulticlassReport {
	if len(predicted) != len(actual) {
		panic("metrics: Multiclass: predicted and actual differ in length")
	}
	k := len(classes)
	conf := make([][]int, k)
	for i := range conf {
		conf[i] = make([]int, k)
	}
	correct := 0
	for i, a := range actual {
		p := predicted[i]
		if a < 0 || a >= k || p < 0 || p >= k {
			panic(fmt.Sprintf("metrics: Multiclass: class index out of range [0,%d) at row %d", k, i))
		}
		conf[a][p]++
		if a == p {
			correct++
		}
	}
	r := &MulticlassReport{
		Accuracy:  ratio(float64(correct), float64(len(actual))),
		Classes:   make([]ClassRow, k),
		Confusion: conf,
	}
	support, predictedCount := marginals(conf)
	for c := range classes {
		tp := float64(conf[c][c])
		r.Classes[c] = ClassRow{
			Class:     classes[c],
			Precision: ratio(tp, float64(predictedCount[c])),
			Recall:    ratio(tp, float64(support[c])),
			F1:        ratio(2*tp, float64(support[c]+predictedCount[c])),
			Support:   support[c],
		}
	}
	r.AvgF1 = macroF1(conf)

	// The baseline puts every row in the column of the majority class.
	if len(actual) > 0 {
		major := 0
		for c, n := range support {
			if n > support[major] {
				major = c
			}
		}
		base := make([][]int, k)
		for c := range base {
			base[c] = make([]int, k)
			base[c][major] = support[c]
		}
		r.BaselineF1 = macroF1(base)
	} else {
		r.Warning = "no predictions"
	}
	return r
}

// marginals returns the row and column sums of a confusion.
func marginals(conf [][]int) (rows, cols []int) {
	rows = make([]int, len(conf))
	cols = make([]int, len(conf))
	for a, row := range conf {
		for p, n := range row {
			rows[a] += n
			cols[p] += n
		}
	}
	return rows, cols
}

// macroF1 averages F1 over the classes that occur in a row or a column of
// conf. F1 is computed as 2TP/(actual+predicted), as scikit-learn does.
func macroF1(conf [][]int) float64 {
	rows, cols := marginals(conf)
	var sum float64
	present := 0
	for c := range conf {
		if rows[c]+cols[c] == 0 {
			continue
		}
		present++
		sum += 2 * float64(conf[c][c]) / float64(rows[c]+cols[c])
	}
	return ratio(sum, float64(present))
}

// Properties returns AML's PerformanceMetrics properties of the report.
func (r *MulticlassReport) Properties() map[string]string {
	return map[string]string{"MulticlassAvgFScore": formatFloat(r.AvgF1)}
}
