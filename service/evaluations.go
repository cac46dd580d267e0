package service

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/batch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// EvaluationInput describes an evaluation to run.
type EvaluationInput struct {
	ID           string            `json:"id,omitempty"`
	Name         string            `json:"name,omitempty"`
	MLModelID    string            `json:"mlModelId"`
	DataSourceID string            `json:"dataSourceId"`
	Tags         map[string]string `json:"tags,omitempty"`
}

// BatchPredictionInput describes a batch prediction to run.
type BatchPredictionInput struct {
	ID           string `json:"id,omitempty"`
	Name         string `json:"name,omitempty"`
	MLModelID    string `json:"mlModelId"`
	DataSourceID string `json:"dataSourceId"`
	// OutputURL names the output object (a key or a URL in the object
	// store); one ending in "/" is a prefix the batch prediction's id.csv
	// is written under; "" means batch-predictions/ID.csv.
	OutputURL string            `json:"outputUrl,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// checkModelAndData checks the two entities an evaluation or batch
// prediction is made of, and returns the data source.
func (s *Service) checkModelAndData(ctx context.Context, modelID, dataID string) (*perch.DataSource, error) {
	if modelID == "" {
		return nil, perch.Errorf(perch.EInvalid, "mlModelId: required")
	}
	if dataID == "" {
		return nil, perch.Errorf(perch.EInvalid, "dataSourceId: required")
	}
	m, err := s.store.GetMLModel(ctx, modelID)
	if err != nil {
		return nil, err
	}
	if err := usable("model", m.ID, m.Status, m.Message); err != nil {
		return nil, err
	}
	d, err := s.store.GetDataSource(ctx, dataID)
	if err != nil {
		return nil, err
	}
	return d, usable("data source", d.ID, d.Status, d.Message)
}

// CreateEvaluation stores an evaluation and starts its job, which waits
// for the model and the data source to be COMPLETED.
func (s *Service) CreateEvaluation(ctx context.Context, in EvaluationInput) (*perch.Evaluation, error) {
	if in.ID == "" {
		in.ID = newID(evaluationPrefix)
	}
	if err := s.authorize(ctx, "machinelearning:CreateEvaluation", perch.Resource(perch.KindEvaluation, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	if err := checkName("evaluation", in.Name); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	d, err := s.checkModelAndData(ctx, in.MLModelID, in.DataSourceID)
	if err != nil {
		return nil, err
	}
	e := &perch.Evaluation{
		Meta:         perch.Meta{ID: in.ID, Name: in.Name, Tags: cloneTags(in.Tags), Attempt: 1, CreatedBy: creator(ctx)},
		MLModel:      in.MLModelID,
		DataSource:   in.DataSourceID,
		InputDataURL: d.DataURL,
	}
	if e.Name == "" {
		e.Name = "evaluation of " + in.MLModelID + " on " + in.DataSourceID
	}
	if err := s.store.CreateEvaluation(ctx, e); err != nil {
		return nil, err
	}
	s.enqueue(ctx, Job{Kind: JobEvaluate, ID: e.ID, Attempt: 1})
	return e, nil
}

// GetEvaluation returns an evaluation.
func (s *Service) GetEvaluation(ctx context.Context, id string) (*perch.Evaluation, error) {
	if err := s.authorize(ctx, "machinelearning:GetEvaluation", perch.Resource(perch.KindEvaluation, id), evalTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.GetEvaluation(ctx, id)
}

// ListEvaluations returns one page of evaluations.
func (s *Service) ListEvaluations(ctx context.Context, f perch.Filter) ([]*perch.Evaluation, string, error) {
	if err := s.authorize(ctx, "machinelearning:DescribeEvaluations", "*", nil); err != nil {
		return nil, "", err
	}
	items, next, err := s.store.ListEvaluations(ctx, f)
	return filterList(s, ctx, items, "machinelearning:GetEvaluation", perch.KindEvaluation, func(v *perch.Evaluation) *perch.Meta { return &v.Meta }), next, err
}

// UpdateEvaluation renames an evaluation.
func (s *Service) UpdateEvaluation(ctx context.Context, id string, u Update) (*perch.Evaluation, error) {
	if err := s.authorize(ctx, "machinelearning:UpdateEvaluation", perch.Resource(perch.KindEvaluation, id), evalTags(s, ctx, id)); err != nil {
		return nil, err
	}
	if u.ScoreThreshold != nil {
		return nil, perch.Errorf(perch.EInvalid, "scoreThreshold: an evaluation has none; set it on the model")
	}
	if u.Name != nil {
		if err := checkName("evaluation", *u.Name); err != nil {
			return nil, err
		}
	}
	return s.store.UpdateEvaluation(ctx, id, func(e *perch.Evaluation) error {
		if u.Name != nil {
			e.Name = *u.Name
		}
		return nil
	})
}

// DeleteEvaluation marks an evaluation DELETED.
func (s *Service) DeleteEvaluation(ctx context.Context, id string) (*perch.Evaluation, error) {
	if err := s.authorize(ctx, "machinelearning:DeleteEvaluation", perch.Resource(perch.KindEvaluation, id), evalTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.UpdateEvaluation(ctx, id, func(e *perch.Evaluation) error {
		e.Status = perch.StatusDeleted
		return nil
	})
}

// EvaluationReport returns the full report of a COMPLETED evaluation
// (ROC, threshold table, confusion matrix, …) as JSON.
func (s *Service) EvaluationReport(ctx context.Context, id string) ([]byte, error) {
	if err := s.authorize(ctx, "machinelearning:GetEvaluation", perch.Resource(perch.KindEvaluation, id), evalTags(s, ctx, id)); err != nil {
		return nil, err
	}
	e, err := s.store.GetEvaluation(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.ReportURL == "" {
		return nil, perch.Errorf(perch.ENotFound, "evaluation %s has no report (status %s)", id, e.Status)
	}
	key, err := s.objects.Key(e.ReportURL)
	if err != nil {
		return nil, err
	}
	return s.objects.ReadAll(ctx, key)
}

// waitFor returns ErrNotReady until the model and data source of a job are
// COMPLETED, and an error once either cannot be.
func (s *Service) waitFor(ctx context.Context, modelID, dataID string) (*perch.MLModel, *perch.DataSource, error) {
	m, err := s.store.GetMLModel(ctx, modelID)
	if err != nil {
		return nil, nil, err
	}
	if err := usable("model", m.ID, m.Status, m.Message); err != nil {
		return nil, nil, err
	}
	d, err := s.store.GetDataSource(ctx, dataID)
	if err != nil {
		return nil, nil, err
	}
	if err := usable("data source", d.ID, d.Status, d.Message); err != nil {
		return nil, nil, err
	}
	if m.Status != perch.StatusCompleted || d.Status != perch.StatusCompleted {
		return nil, nil, ErrNotReady
	}
	return m, d, nil
}

// runEvaluate measures the model on the data source.
func (s *Service) runEvaluate(ctx context.Context, e *perch.Evaluation) error {
	m, d, err := s.waitFor(ctx, e.MLModel, e.DataSource)
	if err != nil {
		return err
	}
	p, err := s.models.load(ctx, m)
	if err != nil {
		return err
	}
	// The predictor reads a row by position, as the model's schema lays
	// it out; other columns would be measured as if they were those.
	if !sameColumns(d.Schema, p.predictor.Model().Schema) {
		return perch.Errorf(perch.EInvalid, "data source %s's attributes differ from those model %s was trained on", d.ID, m.ID)
	}
	t, err := s.loadTable(ctx, d)
	if err != nil {
		return err
	}
	progressFrom(ctx).set("evaluating", "", 0, 0)
	ev, err := learn.Evaluate(p.predictor, t)
	if err != nil {
		return fmt.Errorf("%v", errMessage(err))
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	rkey := ".perch/evaluations/" + e.ID + ".json"
	if err := s.objects.Write(ctx, rkey, bytes.NewReader(b), "application/json"); err != nil {
		return err
	}
	_, err = s.store.UpdateEvaluation(ctx, e.ID, func(e *perch.Evaluation) error {
		e.PerformanceMetrics = ev.PerformanceMetrics.Properties
		e.ReportURL = rkey
		e.DataSHA256 = d.DataSHA256
		return nil
	})
	return err
}

// CreateBatchPrediction stores a batch prediction and starts its job.
func (s *Service) CreateBatchPrediction(ctx context.Context, in BatchPredictionInput) (*perch.BatchPrediction, error) {
	if in.ID == "" {
		in.ID = newID(batchPrefix)
	}
	if err := s.authorize(ctx, "machinelearning:CreateBatchPrediction", perch.Resource(perch.KindBatchPrediction, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	if err := checkName("batch prediction", in.Name); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	d, err := s.checkModelAndData(ctx, in.MLModelID, in.DataSourceID)
	if err != nil {
		return nil, err
	}
	out := in.OutputURL
	switch {
	case out == "":
		out = "batch-predictions/" + in.ID + ".csv"
	case strings.HasSuffix(out, "/"):
		out += in.ID + ".csv"
	}
	key, err := s.locationKey(out)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "outputUrl: %v", errMessage(err))
	}
	if err := s.authorize(ctx, "perch:PutObject", perch.Resource(perch.KindObject, key), nil); err != nil {
		return nil, err
	}
	// The output must not replace perch's own files (a model file, say),
	// which clients cannot write otherwise, nor the data it is read from.
	if ownKey(key) {
		return nil, perch.Errorf(perch.EForbidden, "outputUrl %q: .perch/ holds perch's own files", key)
	}
	if dk, err := s.objects.Key(d.DataURL); err == nil && dk == key {
		return nil, perch.Errorf(perch.EInvalid, "outputUrl %q: it is the data source's own data", key)
	}
	b := &perch.BatchPrediction{
		Meta:         perch.Meta{ID: in.ID, Name: in.Name, Tags: cloneTags(in.Tags), Attempt: 1, CreatedBy: creator(ctx)},
		MLModel:      in.MLModelID,
		DataSource:   in.DataSourceID,
		OutputURL:    s.objects.URL(key),
		InputDataURL: d.DataURL,
	}
	if b.Name == "" {
		b.Name = "batch prediction of " + in.MLModelID + " on " + in.DataSourceID
	}
	if err := s.store.CreateBatchPrediction(ctx, b); err != nil {
		return nil, err
	}
	s.enqueue(ctx, Job{Kind: JobBatch, ID: b.ID, Attempt: 1})
	return b, nil
}

// GetBatchPrediction returns a batch prediction.
func (s *Service) GetBatchPrediction(ctx context.Context, id string) (*perch.BatchPrediction, error) {
	if err := s.authorize(ctx, "machinelearning:GetBatchPrediction", perch.Resource(perch.KindBatchPrediction, id), batchTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.GetBatchPrediction(ctx, id)
}

// ListBatchPredictions returns one page of batch predictions.
func (s *Service) ListBatchPredictions(ctx context.Context, f perch.Filter) ([]*perch.BatchPrediction, string, error) {
	if err := s.authorize(ctx, "machinelearning:DescribeBatchPredictions", "*", nil); err != nil {
		return nil, "", err
	}
	items, next, err := s.store.ListBatchPredictions(ctx, f)
	return filterList(s, ctx, items, "machinelearning:GetBatchPrediction", perch.KindBatchPrediction, func(v *perch.BatchPrediction) *perch.Meta { return &v.Meta }), next, err
}

// UpdateBatchPrediction renames a batch prediction.
func (s *Service) UpdateBatchPrediction(ctx context.Context, id string, u Update) (*perch.BatchPrediction, error) {
	if err := s.authorize(ctx, "machinelearning:UpdateBatchPrediction", perch.Resource(perch.KindBatchPrediction, id), batchTags(s, ctx, id)); err != nil {
		return nil, err
	}
	if u.ScoreThreshold != nil {
		return nil, perch.Errorf(perch.EInvalid, "scoreThreshold: a batch prediction has none; set it on the model")
	}
	if u.Name != nil {
		if err := checkName("batch prediction", *u.Name); err != nil {
			return nil, err
		}
	}
	return s.store.UpdateBatchPrediction(ctx, id, func(b *perch.BatchPrediction) error {
		if u.Name != nil {
			b.Name = *u.Name
		}
		return nil
	})
}

// DeleteBatchPrediction marks a batch prediction DELETED; its output
// object stays.
func (s *Service) DeleteBatchPrediction(ctx context.Context, id string) (*perch.BatchPrediction, error) {
	if err := s.authorize(ctx, "machinelearning:DeleteBatchPrediction", perch.Resource(perch.KindBatchPrediction, id), batchTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.UpdateBatchPrediction(ctx, id, func(b *perch.BatchPrediction) error {
		b.Status = perch.StatusDeleted
		return nil
	})
}

// runBatch predicts every record of the data source into the output
// object, streaming: the input is never held in memory whole, and the
// output appears whole or not at all.
func (s *Service) runBatch(ctx context.Context, b *perch.BatchPrediction) error {
	m, d, err := s.waitFor(ctx, b.MLModel, b.DataSource)
	if err != nil {
		return err
	}
	p, err := s.models.load(ctx, m)
	if err != nil {
		return err
	}
	in, err := s.objects.Key(d.DataURL)
	if err != nil {
		return err
	}
	out, err := s.objects.Key(b.OutputURL)
	if err != nil {
		return err
	}
	if d.Schema.DataFormat == "JSON" {
		return perch.Errorf(perch.EInvalid, "batch predictions read CSV; data source %s is JSON Lines", d.ID)
	}
	// Unlabelled data, without the target's column, is what a batch
	// prediction is usually for.
	ms := p.predictor.Model().Schema
	noTarget := !sameColumns(d.Schema, ms) && sameColumns(d.Schema, withoutTarget(ms))
	if !noTarget && !sameColumns(d.Schema, ms) {
		return perch.Errorf(perch.EInvalid, "data source %s's attributes differ from those model %s was trained on", d.ID, m.ID)
	}
	opt := batch.Options{Header: d.Schema.DataFileContainsHeader, NoTarget: noTarget}
	if mkey, ok := amlPerFile(b.ID, out); ok {
		return s.runBatchFiles(ctx, b, d, p.predictor, in, mkey, opt)
	}
	var r io.ReadCloser
	if d.Rearrangement != "" {
		r, err = s.rearranged(ctx, in, d)
		opt.Header = true
	} else {
		var c *checkedData
		if c, err = s.openData(ctx, in, d.DataSHA256); err == nil {
			r = c.report(progressFrom(ctx), "predicting", d.SizeBytes)
		}
	}
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := s.predictInto(ctx, p.predictor, r, out, opt)
	if c, ok := r.(*checkedData); ok {
		_, err = c.result(err)
	}
	if err != nil {
		return err
	}
	if err := s.writeAMLManifest(ctx, b, d, out); err != nil {
		return err
	}
	return s.recordBatchCounts(ctx, b.ID, d.DataSHA256, res)
}

// recordBatchCounts stores what a batch prediction's run counted: its
// records, the invalid ones, and the first errors as its message.
func (s *Service) recordBatchCounts(ctx context.Context, id, sum string, res batch.Result) error {
	_, err := s.store.UpdateBatchPrediction(ctx, id, func(b *perch.BatchPrediction) error {
		b.DataSHA256 = sum
		b.TotalRecords = res.Records
		b.InvalidRecords = res.Invalid
		if len(res.Errors) > 0 {
			b.Message = strings.Join(res.Errors, "; ")
		}
		return nil
	})
	return err
}

// predictInto predicts the records of r into the output object out.
func (s *Service) predictInto(ctx context.Context, pred *model.Predictor, r io.Reader, out string, opt batch.Options) (batch.Result, error) {
	pr, pw := io.Pipe()
	var res batch.Result
	done := make(chan error, 1)
	go func() {
		var err error
		res, err = batch.Run(pred, r, pw, opt)
		pw.CloseWithError(err)
		done <- err
	}()
	werr := s.writeOutput(ctx, out, pr)
	pr.CloseWithError(werr) // unblock the batch if the write failed first
	if err := <-done; err != nil {
		return res, fmt.Errorf("%v", errMessage(err))
	}
	return res, werr
}

// rearranged streams the records of a data source that its rearrangement
// keeps, as CSV with a header: batch.Run reads whole files, and a data
// source made of part of one holds only that part.
func (s *Service) rearranged(ctx context.Context, key string, d *perch.DataSource) (io.ReadCloser, error) {
	re, err := data.ParseRearrangement(d.Rearrangement)
	if err != nil {
		return nil, err
	}
	// A rearrangement places a record by its index among all of them.
	total, _, err := s.scan(ctx, key, d.DataSHA256, d.SizeBytes, d.Schema, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, err := s.scan(ctx, key, d.DataSHA256, d.SizeBytes, d.Schema, re, total, func(rd data.Reader) error {
			w := csv.NewWriter(pw)
			names := make([]string, len(d.Schema.Attributes))
			for i, a := range d.Schema.Attributes {
				names[i] = a.Name
			}
			w.Write(names)
			for {
				rec, err := rd.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				if err := w.Write(rec); err != nil {
					return err
				}
			}
			w.Flush()
			return w.Error()
		})
		pw.CloseWithError(err)
	}()
	return &pipeReadCloser{pr, done}, nil
}

// pipeReadCloser is the reading end of a pipe whose writer runs in a
// goroutine; Close stops the writer and waits for it.
type pipeReadCloser struct {
	*io.PipeReader
	done chan struct{}
}

func (p *pipeReadCloser) Close() error {
	p.PipeReader.Close()
	<-p.done
	return nil
}

// withoutTarget returns s without its target attribute: the layout of
// unlabelled data for a model trained on s.
func withoutTarget(s *perch.Schema) *perch.Schema {
	t := s.Target()
	if t < 0 {
		return s
	}
	c := *s
	c.Attributes = append(s.Attributes[:t:t], s.Attributes[t+1:]...)
	return &c
}

// sameColumns reports whether two schemas lay out the same attributes in
// the same order, as batch prediction reads them by position.
func sameColumns(a, b *perch.Schema) bool {
	if len(a.Attributes) != len(b.Attributes) {
		return false
	}
	for i := range a.Attributes {
		if a.Attributes[i].Name != b.Attributes[i].Name {
			return false
		}
	}
	return true
}
