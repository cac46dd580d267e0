package learn

import (
	"math"
	"strconv"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/metrics"
	"github.com/perchml/perch/model"
)

// Evaluation is a model measured on labelled data. PerformanceMetrics
// carries AML's metric names (BinaryAUC, MulticlassAvgFScore,
// RegressionRMSE) as decimal strings; the reports carry the detail.
type Evaluation struct {
	PerformanceMetrics PerformanceMetrics        `json:"PerformanceMetrics"`
	Type               perch.ModelType           `json:"type"`
	Records            int                       `json:"records"`
	InvalidRecords     int                       `json:"invalidRecords"`
	Binary             *metrics.BinaryReport     `json:"binary,omitempty"`
	Multiclass         *metrics.MulticlassReport `json:"multiclass,omitempty"`
	Regression         *metrics.RegressionReport `json:"regression,omitempty"`
}

// PerformanceMetrics is AML's evaluation result shape.
type PerformanceMetrics struct {
	Properties map[string]string `json:"Properties"`
}

// Evaluate predicts every row of t whose target is valid and measures the
// predictions. Rows with a missing or invalid target are counted, not
// used, as in training.
func Evaluate(p *model.Predictor, t *data.Table) (*Evaluation, error) {
	m := p.Model()
	col := t.Schema.Index(m.Schema.TargetAttributeName)
	if col < 0 {
		return nil, perch.Errorf(perch.EInvalid, "evaluation data has no target attribute %q", m.Schema.TargetAttributeName)
	}
	ev := &Evaluation{Type: m.Type}
	var pred perch.Prediction
	switch m.Type {
	case perch.BinaryModel:
		var scores []float64
		var labels []bool
		for _, r := range t.Rows {
			y, ok := binaryTarget(m, r[col])
			if !ok {
				ev.InvalidRecords++
				continue
			}
			p.Predict(r, &pred)
			scores = append(scores, pred.Scores[0].Value)
			labels = append(labels, y)
		}
		if len(scores) == 0 {
			return nil, noRows(m)
		}
		ev.Binary = metrics.Binary(scores, labels, m.ScoreThreshold)
		ev.PerformanceMetrics.Properties = ev.Binary.Properties()
		ev.Records = len(scores)
	case perch.MulticlassModel:
		classes := append([]string(nil), m.Classes...)
		index := make(map[string]int, len(classes))
		for i, c := range classes {
			index[c] = i
		}
		numeric := numericTarget(m.Schema)
		var predicted, actual []int
		for _, r := range t.Rows {
			v, ok := r[col], r[col] != ""
			if numeric {
				v, ok = numberClass(v)
			}
			if !ok {
				ev.InvalidRecords++
				continue
			}
			a, ok := index[v]
			if !ok { // a class the model never saw: it can only be missed
				a = len(classes)
				index[v] = a
				classes = append(classes, v)
			}
			p.Predict(r, &pred)
			predicted = append(predicted, index[pred.Label])
			actual = append(actual, a)
		}
		if len(actual) == 0 {
			return nil, noRows(m)
		}
		ev.Multiclass = metrics.Multiclass(predicted, actual, classes)
		ev.PerformanceMetrics.Properties = ev.Multiclass.Properties()
		ev.Records = len(actual)
	default:
		var predicted, actual []float64
		for _, r := range t.Rows {
			y, err := strconv.ParseFloat(r[col], 64)
			if err != nil || math.IsNaN(y) || math.IsInf(y, 0) {
				ev.InvalidRecords++
				continue
			}
			p.Predict(r, &pred)
			predicted = append(predicted, pred.Value)
			actual = append(actual, y)
		}
		if len(actual) == 0 {
			return nil, noRows(m)
		}
		ev.Regression = metrics.Regression(predicted, actual, m.Training.TargetMean)
		ev.PerformanceMetrics.Properties = ev.Regression.Properties()
		ev.Records = len(actual)
	}
	return ev, nil
}

func noRows(m *model.Model) error {
	return perch.Errorf(perch.EInvalid, "no row of the evaluation data has a valid value of the target %q", m.Schema.TargetAttributeName)
}

// binaryTarget reads a BINARY target value the way the model was trained:
// with the file's own spellings when it had them, AML's otherwise.
func binaryTarget(m *model.Model, v string) (bool, bool) {
	if v == "" {
		return false, false
	}
	if len(m.Original) == 2 {
		switch v {
		case m.Original[1]:
			return true, true
		case m.Original[0]:
			return false, true
		}
		return false, false
	}
	b, ok := data.ParseBinary(v)
	return b, ok
}
