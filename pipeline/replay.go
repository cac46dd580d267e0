package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/objects"
)

// ReplayResult counts what a replay did.
type ReplayResult struct {
	Objects   int   `json:"objects"`   // dead-letter objects read
	Replayed  int64 `json:"replayed"`  // records read and written to the sinks this time
	Remaining int64 `json:"remaining"` // records still refused, kept as dead letters
}

// Replay reads a pipeline's dead letters again, after a fix (to the
// model, or to the records in the dead-letter objects themselves): each
// record that now reads is predicted and written to the sinks under its
// original object, version and row, as if it had read the first time, and
// leaves the dead letters; the rest stay, with their new errors. An
// objects sink gets the replayed records as an object of their own
// (<output>.replayed-<first row>.<format>) beside the original output.
//
// Sinks are written before the dead-letter object is rewritten, so a
// replay stopped half way and done again writes nothing twice.
func (e *Engine) Replay(ctx context.Context, p *perch.Pipeline) (*ReplayResult, error) {
	pred, err := e.Predictor(ctx, p.Model)
	if err != nil {
		return nil, err
	}
	dlb, err := objects.Open(ctx, p.DeadLetter)
	if err != nil {
		return nil, err
	}
	defer dlb.Close()
	list, err := dlb.List(ctx, p.ID+"/")
	if err != nil {
		return nil, err
	}
	res := &ReplayResult{}
	for _, o := range list {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		b, err := dlb.ReadAll(ctx, o.Key)
		if err != nil {
			return res, err
		}
		res.Objects++
		var keep []DeadLetter
		var letters []DeadLetter
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 4*perch.MaxRecordBytes)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var dl DeadLetter
			if err := json.Unmarshal(sc.Bytes(), &dl); err != nil || dl.Object == "" {
				return res, perch.Errorf(perch.EInvalid, "dead letters %s: a line is not a dead letter: %v", o.Key, err)
			}
			letters = append(letters, dl)
		}
		if err := sc.Err(); err != nil {
			return res, fmt.Errorf("dead letters %s: %w", o.Key, err)
		}
		// One object holds one batch: one object version.
		var results []Result
		for _, dl := range letters {
			rec, err := replayRecord(p, pred, dl)
			if err != nil {
				dl.Error = err.Error()
				keep = append(keep, dl)
				continue
			}
			results = append(results, Result{Record: rec})
			pred.Predict(rec.Fields, &results[len(results)-1].Prediction)
		}
		if len(results) > 0 {
			dl := letters[0]
			if err := e.writeReplayed(ctx, p, pred, dl.Object, dl.Version, results); err != nil {
				return res, err
			}
			n := int64(len(results))
			_, err := e.Store.UpdatePipelineRun(ctx, RunID(p.ID, dl.Object, dl.Version), func(r *perch.PipelineRun) error {
				r.Predicted += n
				r.DeadLetters = max(r.DeadLetters-n, 0)
				return nil
			})
			if err != nil && perch.Code(err) != perch.ENotFound {
				return res, err
			}
			mRecords.WithLabelValues(p.ID, "replayed").Add(float64(n))
		}
		switch {
		case len(keep) == 0:
			if err := dlb.Delete(ctx, o.Key); err != nil && perch.Code(err) != perch.ENotFound {
				return res, err
			}
		case len(keep) < len(letters) || keep[0].Error != letters[0].Error:
			if err := writeDeadLetters(ctx, dlb, o.Key, keep); err != nil {
				return res, err
			}
		}
		res.Replayed += int64(len(results))
		res.Remaining += int64(len(keep))
	}
	return res, nil
}

// replayRecord reads a dead letter's text again, under its object's
// header when it had one.
func replayRecord(p *perch.Pipeline, pred *model.Predictor, dl DeadLetter) (Record, error) {
	text := dl.Raw
	if dl.Header != "" {
		text = dl.Header + "\n" + text
	}
	rd, err := NewReader(strings.NewReader(text), strings.TrimSuffix(dl.Object, ".gz"), Format(p.Source.Format, dl.Object), pred.Model().Schema)
	if err != nil {
		return Record{}, err
	}
	rec, err := rd.Next()
	if err != nil {
		return Record{}, err
	}
	if rec.Err != nil {
		return Record{}, rec.Err
	}
	if _, err := rd.Next(); err == nil {
		return Record{}, perch.Errorf(perch.EInvalid, "the text holds more than one record")
	}
	rec.Row, rec.Line, rec.Raw = dl.Row, dl.Line, dl.Raw
	return rec, nil
}

// writeReplayed writes replayed results to every sink.
func (e *Engine) writeReplayed(ctx context.Context, p *perch.Pipeline, pred *model.Predictor, key, version string, rs []Result) error {
	sinks, _, _, err := openSinks(ctx, p, NewLayout(pred.Model()), key, version, fmt.Sprintf(".replayed-%d", rs[0].Row))
	if err != nil {
		return err
	}
	defer closeSinks(sinks)
	for _, s := range sinks {
		if err := s.write(ctx, rs); err != nil {
			return err
		}
	}
	for _, s := range sinks {
		if err := s.finish(ctx); err != nil {
			return err
		}
	}
	return nil
}
