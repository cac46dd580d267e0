package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/perchml/perch"
)

// Predict predicts one record with a model that has a READY endpoint.
func (c *Client) Predict(ctx context.Context, id string, r perch.Record) (*perch.Prediction, error) {
	return c.predict(ctx, id, r, "")
}

// Explain predicts one record as Predict does and explains it: the
// answer's Contributions hold each attribute's contribution to the margin
// (tree models; others answer Invalid).
func (c *Client) Explain(ctx context.Context, id string, r perch.Record) (*perch.Prediction, error) {
	return c.predict(ctx, id, r, "?explain=true")
}

func (c *Client) predict(ctx context.Context, id string, r perch.Record, query string) (*perch.Prediction, error) {
	p, err := escapeID(id)
	if err != nil {
		return nil, err
	}
	in := struct {
		Record perch.Record `json:"record"`
	}{r}
	var out struct {
		Prediction json.RawMessage `json:"prediction"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/models/"+p+"/predict"+query, nil, in, &out); err != nil {
		return nil, err
	}
	pred, err := ParsePrediction(out.Prediction)
	if err != nil {
		return nil, err
	}
	return pred, nil
}

// PredictBatch predicts several records (up to the server's limit, 1000)
// in one request; the predictions come in the records' order.
func (c *Client) PredictBatch(ctx context.Context, id string, rs []perch.Record) ([]perch.Prediction, error) {
	p, err := escapeID(id)
	if err != nil {
		return nil, err
	}
	if rs == nil {
		rs = []perch.Record{}
	}
	in := struct {
		Records []perch.Record `json:"records"`
	}{rs}
	var out struct {
		Predictions []json.RawMessage `json:"predictions"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/models/"+p+"/predictions", nil, in, &out); err != nil {
		return nil, err
	}
	if len(out.Predictions) != len(rs) {
		return nil, fmt.Errorf("the server answered %d predictions for %d records", len(out.Predictions), len(rs))
	}
	preds := make([]perch.Prediction, len(out.Predictions))
	for i, b := range out.Predictions {
		pred, err := ParsePrediction(b)
		if err != nil {
			return nil, fmt.Errorf("prediction %d: %v", i+1, err)
		}
		preds[i] = *pred
	}
	return preds, nil
}

// ParsePrediction reads a prediction in AML's Predict shape, the one
// perch.Prediction's MarshalJSON writes, keeping the order of the scores.
func ParsePrediction(b []byte) (*perch.Prediction, error) {
	var w struct {
		Label   *string         `json:"predictedLabel"`
		Value   *float64        `json:"predictedValue"`
		Scores  json.RawMessage `json:"predictedScores"`
		Details struct {
			Type          perch.ModelType `json:"PredictiveModelType"`
			Algorithm     string          `json:"Algorithm"`
			Contributions json.RawMessage `json:"contributions"`
			Expected      json.RawMessage `json:"expectedMargin"`
			Missing       []string        `json:"missingAttributes"`
		} `json:"details"`
		Original string   `json:"predictedOriginalLabel"`
		Invalid  []string `json:"invalidAttributes"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("reading a prediction: %v", err)
	}
	if w.Label == nil && w.Value == nil {
		return nil, fmt.Errorf("reading a prediction: it has neither predictedLabel nor predictedValue")
	}
	p := &perch.Prediction{
		Type:      w.Details.Type,
		Algorithm: w.Details.Algorithm,
		Original:  w.Original,
		Invalid:   w.Invalid,
		Missing:   w.Details.Missing,
	}
	if w.Label != nil {
		p.Label = *w.Label
	}
	if w.Value != nil {
		p.Value = *w.Value
	}
	scores, err := orderedScores(w.Scores)
	if err != nil {
		return nil, err
	}
	p.Scores = scores
	if len(w.Details.Contributions) > 0 {
		if p.Contributions, err = parseContributions(p.Type, w.Details.Contributions, w.Details.Expected); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// parseContributions reads details.contributions and expectedMargin, in
// the order the server wrote them: attribute → value, or for MULTICLASS
// class → (attribute → value) with an expected margin per class.
func parseContributions(t perch.ModelType, b, expected json.RawMessage) (*perch.Contributions, error) {
	bad := func(err error) error { return fmt.Errorf("reading a prediction's contributions: %v", err) }
	c := &perch.Contributions{}
	margin := func(class string, b json.RawMessage) error {
		values, err := orderedScores(b)
		if err != nil {
			return err
		}
		m := perch.Margin{Class: class}
		for i, v := range values {
			if len(c.Margins) == 0 {
				c.Names = append(c.Names, v.Label)
			} else if i >= len(c.Names) || c.Names[i] != v.Label {
				return bad(fmt.Errorf("class %q names other attributes", class))
			}
			m.Values = append(m.Values, v.Value)
		}
		c.Margins = append(c.Margins, m)
		return nil
	}
	if t != perch.MulticlassModel {
		if err := margin("", b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(expected, &c.Margins[0].Expected); err != nil {
			return nil, bad(err)
		}
		return c, nil
	}
	var byClass map[string]json.RawMessage
	if err := json.Unmarshal(b, &byClass); err != nil {
		return nil, bad(err)
	}
	// The classes in the server's order: orderedScores reads the expected
	// margins, an object of class to number, as it wrote them.
	classes, err := orderedScores(expected)
	if err != nil {
		return nil, err
	}
	for _, cl := range classes {
		if err := margin(cl.Label, byClass[cl.Label]); err != nil {
			return nil, err
		}
		c.Margins[len(c.Margins)-1].Expected = cl.Value
	}
	return c, nil
}

// orderedScores reads predictedScores, an object of label to score, in
// the order the server wrote it (for MULTICLASS, the model's class order),
// which decoding into a map would lose.
func orderedScores(b json.RawMessage) ([]perch.Score, error) {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil, nil
	}
	bad := func(err error) error { return fmt.Errorf("reading a prediction's predictedScores: %v", err) }
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if t != json.Delim('{') {
		return nil, bad(fmt.Errorf("want an object, got %v", t))
	}
	var scores []perch.Score
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		label, _ := t.(string)
		var n json.Number
		if err := dec.Decode(&n); err != nil {
			return nil, bad(err)
		}
		v, err := n.Float64()
		if err != nil {
			return nil, bad(err)
		}
		scores = append(scores, perch.Score{Label: label, Value: v})
	}
	return scores, nil
}
