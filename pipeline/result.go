package pipeline

import (
	"strconv"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

// Result is one record predicted, as every sink writes it.
type Result struct {
	Record
	Prediction perch.Prediction
}

// Layout is the columns of a pipeline's results: where the record came
// from, its attributes, then the prediction's columns, which depend on
// the model type:
//
//	BINARY      predicted_label ("0"/"1"), predicted_original_label, score
//	MULTICLASS  predicted_label, then score_<class> for each class
//	REGRESSION  predicted_value
//
// and invalid_attributes last (the attributes whose values did not parse
// and were taken as missing).
type Layout struct {
	Attributes []string
	Predicted  []string
	typ        perch.ModelType
	classes    []string
}

// Source columns, first in every row.
var sourceColumns = []string{"pipeline", "source_key", "source_version", "source_row", "source_line"}

// NewLayout returns the layout of m's results.
func NewLayout(m *model.Model) *Layout {
	l := &Layout{typ: m.Type, classes: m.Classes}
	for _, a := range m.Schema.Attributes {
		l.Attributes = append(l.Attributes, a.Name)
	}
	switch m.Type {
	case perch.BinaryModel:
		l.Predicted = []string{"predicted_label", "predicted_original_label", "score"}
	case perch.MulticlassModel:
		l.Predicted = []string{"predicted_label"}
		for _, c := range m.Classes {
			l.Predicted = append(l.Predicted, "score_"+c)
		}
	default:
		l.Predicted = []string{"predicted_value"}
	}
	l.Predicted = append(l.Predicted, "invalid_attributes")
	return l
}

// predicted returns the prediction's column values: strings, or float64
// for scores and values.
func (l *Layout) predicted(p *perch.Prediction, out []any) []any {
	switch l.typ {
	case perch.BinaryModel:
		var score float64
		if len(p.Scores) > 0 {
			score = p.Scores[0].Value
		}
		out = append(out, p.Label, p.Original, score)
	case perch.MulticlassModel:
		out = append(out, p.Label)
		for i := range l.classes {
			var v float64
			if i < len(p.Scores) {
				v = p.Scores[i].Value
			}
			out = append(out, v)
		}
	default:
		out = append(out, p.Value)
	}
	return append(out, strings.Join(p.Invalid, ","))
}

// appendCSV appends the prediction's columns to a CSV line, each after a
// comma, without boxing its numbers as predicted does.
func (l *Layout) appendCSV(b []byte, p *perch.Prediction) []byte {
	switch l.typ {
	case perch.BinaryModel:
		var score float64
		if len(p.Scores) > 0 {
			score = p.Scores[0].Value
		}
		b = append(b, ',')
		b = appendCSV(b, p.Label)
		b = append(b, ',')
		b = appendCSV(b, p.Original)
		b = append(b, ',')
		b = strconv.AppendFloat(b, score, 'g', -1, 64)
	case perch.MulticlassModel:
		b = append(b, ',')
		b = appendCSV(b, p.Label)
		for i := range l.classes {
			var v float64
			if i < len(p.Scores) {
				v = p.Scores[i].Value
			}
			b = append(b, ',')
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	default:
		b = append(b, ',')
		b = strconv.AppendFloat(b, p.Value, 'g', -1, 64)
	}
	b = append(b, ',')
	if len(p.Invalid) > 0 {
		return appendCSV(b, strings.Join(p.Invalid, ","))
	}
	return b
}

// text returns a column value as text.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	}
	return ""
}
