package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/data"
)

// remoteBatch is how many stdin records go in one request.
const remoteBatch = 100

// remotePredict is perch predict --server: the model is a model id on the
// server, whose real-time endpoint answers. The record's attribute names
// come from the schema of the model's training data source, so --csv and
// JSON Lines read as they do with a model file, and a misspelt --record
// name is caught rather than sent as a missing value.
func remotePredict(rm *remote, id, csvLine string, record multi, explain bool, stdin io.Reader, stdout, stderr io.Writer) error {
	var kv map[string]string
	if len(record) > 0 {
		var err error
		if kv, err = keyValues("record", record); err != nil {
			return err
		}
	}
	c, err := rm.client()
	if err != nil {
		return err
	}
	ctx, stop := remoteContext()
	defer stop()
	schema, err := trainingSchema(ctx, c, id)
	if err != nil && !(kv != nil && perch.Code(err) == perch.EForbidden) {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	emit := func(p *perch.Prediction) error {
		_, err := w.Write(append(p.AppendJSON(nil), '\n'))
		return err
	}
	predict := c.Predict
	if explain {
		predict = c.Explain
	}
	switch {
	case csvLine != "":
		fields, err := csvRecord(schema, csvLine)
		if err != nil {
			return err
		}
		p, err := predict(ctx, id, fieldRecord(schema, fields))
		if err != nil {
			return err
		}
		return emit(p)
	case kv != nil:
		if schema != nil {
			for _, k := range slices.Sorted(maps.Keys(kv)) {
				if schema.Index(k) < 0 {
					return perch.Errorf(perch.EInvalid, "--record %s: model %s has no attribute %q (attributes: %s)",
						k, id, k, strings.Join(attributeNames(schema), ", "))
				}
			}
		}
		p, err := predict(ctx, id, perch.Record(kv))
		if err != nil {
			return err
		}
		return emit(p)
	}
	// JSON Lines on stdin, sent in batches; typed at a terminal, each
	// record is sent as soon as its line ends.
	batch := remoteBatch
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(stderr, "reading records as JSON Lines, one object a line; end with Ctrl-D (or give --record or --csv)")
			batch = 1
		}
	}
	rd := data.NewJSONLReader(stdin, attributeNames(schema), data.Options{})
	var pending []perch.Record
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		preds, err := predictAll(ctx, c, id, pending, explain)
		if err != nil {
			return err
		}
		pending = pending[:0]
		for i := range preds {
			if err := emit(&preds[i]); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	for {
		fields, err := rd.Read()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return prefix("stdin", err)
		}
		pending = append(pending, fieldRecord(schema, fields))
		if len(pending) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// predictAll predicts records in one batch call, or explains them one
// call each, since the batch route does not explain.
func predictAll(ctx context.Context, c *client.Client, id string, rs []perch.Record, explain bool) ([]perch.Prediction, error) {
	if !explain {
		return c.PredictBatch(ctx, id, rs)
	}
	preds := make([]perch.Prediction, 0, len(rs))
	for _, r := range rs {
		p, err := c.Explain(ctx, id, r)
		if err != nil {
			return nil, err
		}
		preds = append(preds, *p)
	}
	return preds, nil
}

// trainingSchema returns the schema of the data source a model was
// trained on.
func trainingSchema(ctx context.Context, c *client.Client, id string) (*perch.Schema, error) {
	m, err := c.GetMLModel(ctx, id)
	if err != nil {
		return nil, err
	}
	d, err := c.GetDataSource(ctx, m.TrainingDataSource)
	if err != nil {
		return nil, fmt.Errorf("the training data source of model %s: %w", id, err)
	}
	if d.Schema == nil {
		return nil, perch.Errorf(perch.EConflict, "model %s: its training data source %s has no schema yet (status %s)", id, d.ID, d.Status)
	}
	return d.Schema, nil
}

// fieldRecord names a record's fields, given in schema order; the target
// is left out, as a record to predict seldom has it.
func fieldRecord(s *perch.Schema, fields []string) perch.Record {
	r := make(perch.Record, len(fields))
	for i, a := range s.Attributes {
		if i < len(fields) && a.Name != s.TargetAttributeName {
			r[a.Name] = fields[i]
		}
	}
	return r
}
