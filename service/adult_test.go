package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// founding is the record the quickstart predicts: a 22-year-old, so "0"
// (<=50K) at the default threshold.
const founding = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"

// record maps the comma-separated values of a CSV line to the schema's
// attribute names, in order.
func record(s *perch.Schema, line string) perch.Record {
	r := perch.Record{}
	for i, v := range strings.Split(line, ",") {
		r[s.Attributes[i].Name] = strings.TrimSpace(v)
	}
	return r
}

// adult is the Adult example taken through the whole lifecycle once per
// store: the trained model is shared by the subtests, which run in order.
type adult struct {
	e      *env
	train  *perch.DataSource
	test   *perch.DataSource
	model  *perch.MLModel
	trainN int64 // records in train.csv
	testN  int64
}

func TestAdult(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		a := setupAdult(t, dsn)
		t.Run("DataSource", a.testDataSource)
		t.Run("Model", a.testModel)
		t.Run("Evaluation", a.testEvaluation)
		t.Run("BatchPrediction", a.testBatch)
		t.Run("Realtime", a.testRealtime)
		t.Run("Replica", a.testReplica)
		t.Run("ConcurrentPredict", a.testConcurrentPredict)
		t.Run("Delete", a.testDelete)
	})
}

func setupAdult(t *testing.T, dsn string) *adult {
	ctx := context.Background()
	e := newEnv(t, dsn, envOptions{config: service.Config{BaseURL: "http://perch.test/"}})
	train := example(t, "adult/train.csv")
	test := example(t, "adult/test.csv")
	e.write(t, "adult/train.csv", train)
	e.write(t, "adult/test.csv.gz", exampleGz(t, "adult/test.csv"))
	a := &adult{e: e, trainN: lineCount(train), testN: lineCount(test)}

	d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{
		Name: "adult", DataURL: "adult/train.csv", TargetAttributeName: "income", ComputeStatistics: true,
	})
	ok(t, err)
	if d.Status != perch.StatusPending || d.Attempt != 1 || d.SizeBytes != int64(len(train)) {
		t.Fatalf("created data source: status %s, attempt %d, size %d; want PENDING, 1, %d", d.Status, d.Attempt, d.SizeBytes, len(train))
	}
	// The model is created before its data source is read: it waits.
	m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: "binary", TrainingDataSourceID: d.ID})
	ok(t, err)
	if m.Status != perch.StatusPending || m.Type != perch.BinaryModel || m.ScoreThreshold != 0.5 || m.Endpoint.Status != perch.EndpointNone {
		t.Fatalf("created model: %+v", m)
	}
	// A URL inside the store names an object as its key does; .gz is
	// read through gunzip.
	dt, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{
		DataURL: e.objects.URL("adult/test.csv.gz"), TargetAttributeName: "income",
	})
	ok(t, err)
	a.train = e.waitDataSource(t, d.ID)
	a.test = e.waitDataSource(t, dt.ID)
	a.model = e.waitModel(t, m.ID)
	return a
}

// wantRun fails unless a finished entity says when it ran.
func wantRun(t *testing.T, m *perch.Meta) {
	t.Helper()
	if m.StartedAt == nil || m.FinishedAt == nil {
		t.Fatalf("%s: startedAt %v, finishedAt %v; want both", m.ID, m.StartedAt, m.FinishedAt)
	}
	if m.FinishedAt.Before(*m.StartedAt) || m.StartedAt.Before(m.CreatedAt) {
		t.Errorf("%s: created %v, started %v, finished %v: out of order", m.ID, m.CreatedAt, *m.StartedAt, *m.FinishedAt)
	}
	if m.ComputeMS < 0 {
		t.Errorf("%s: computeTime %d", m.ID, m.ComputeMS)
	}
}

func (a *adult) testDataSource(t *testing.T) {
	ctx := context.Background()
	d := a.train
	wantStatus(t, &d.Meta, perch.StatusCompleted)
	wantRun(t, &d.Meta)
	if d.Records != a.trainN {
		t.Errorf("records %d, want %d", d.Records, a.trainN)
	}
	if d.SizeBytes <= 0 || d.Name != "adult" {
		t.Errorf("size %d, name %q", d.SizeBytes, d.Name)
	}
	if d.Schema == nil || d.Schema.TargetAttributeName != "income" || len(d.Schema.Attributes) != 15 {
		t.Fatalf("schema %+v, want 15 attributes with target income", d.Schema)
	}
	if got := d.Schema.Attributes[d.Schema.Index("age")].Type; got != perch.Numeric {
		t.Errorf("age is %s, want NUMERIC", got)
	}
	if d.Message != "" {
		t.Errorf("message %q on a COMPLETED data source", d.Message)
	}
	b, err := a.e.svc.DataSourceStatistics(ctx, d.ID)
	ok(t, err)
	if !json.Valid(b) || !bytes.Contains(b, []byte(`"age"`)) || !bytes.Contains(b, []byte(`"income"`)) {
		t.Errorf("statistics %.200s: want JSON naming the attributes", b)
	}
	_, err = a.e.svc.DataSourceStatistics(ctx, a.test.ID)
	wantCode(t, err, perch.ENotFound)

	wantStatus(t, &a.test.Meta, perch.StatusCompleted)
	if a.test.Records != a.testN {
		t.Errorf("test records %d, want %d", a.test.Records, a.testN)
	}
	if a.test.Name != "adult/test.csv.gz" || a.test.DataURL != a.e.objects.URL("adult/test.csv.gz") {
		t.Errorf("test data source named %q at %q", a.test.Name, a.test.DataURL)
	}
}

func (a *adult) testModel(t *testing.T) {
	m := a.model
	wantStatus(t, &m.Meta, perch.StatusCompleted)
	wantRun(t, &m.Meta)
	if m.ArtifactURL == "" || m.SizeBytes <= 0 {
		t.Fatalf("artifact %q of %d bytes", m.ArtifactURL, m.SizeBytes)
	}
	if m.ComputeMS <= 0 {
		t.Errorf("computeTime %d ms for training on %d rows", m.ComputeMS, a.trainN)
	}
	key, err := a.e.objects.Key(m.ArtifactURL)
	ok(t, err)
	attrs, err := a.e.objects.Attributes(context.Background(), key)
	ok(t, err)
	if attrs.Size != m.SizeBytes {
		t.Errorf("model file %d bytes, entity says %d", attrs.Size, m.SizeBytes)
	}
	if m.Message != "" {
		t.Errorf("message %q on a COMPLETED model", m.Message)
	}
}

func (a *adult) testEvaluation(t *testing.T) {
	ctx := context.Background()
	ev, err := a.e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: a.model.ID, DataSourceID: a.test.ID})
	ok(t, err)
	ev = a.e.waitEvaluation(t, ev.ID)
	wantStatus(t, &ev.Meta, perch.StatusCompleted)
	wantRun(t, &ev.Meta)
	auc, err := strconv.ParseFloat(ev.PerformanceMetrics["BinaryAUC"], 64)
	if err != nil || auc <= 0.90 {
		t.Fatalf("performance metrics %v: want BinaryAUC above 0.90", ev.PerformanceMetrics)
	}
	b, err := a.e.svc.EvaluationReport(ctx, ev.ID)
	ok(t, err)
	if !json.Valid(b) {
		t.Errorf("report %.200s is not JSON", b)
	}
}

func (a *adult) testBatch(t *testing.T) {
	ctx := context.Background()
	b, err := a.e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{
		MLModelID: a.model.ID, DataSourceID: a.test.ID, OutputURL: "out/",
	})
	ok(t, err)
	if want := a.e.objects.URL("out/" + b.ID + ".csv"); b.OutputURL != want {
		t.Errorf("output %q, want %q", b.OutputURL, want)
	}
	b = a.e.waitBatch(t, b.ID)
	wantStatus(t, &b.Meta, perch.StatusCompleted)
	wantRun(t, &b.Meta)
	if b.TotalRecords != a.testN || b.InvalidRecords != 0 {
		t.Errorf("total %d, invalid %d; want %d, 0", b.TotalRecords, b.InvalidRecords, a.testN)
	}
	key, err := a.e.objects.Key(b.OutputURL)
	ok(t, err)
	out, err := a.e.objects.ReadAll(ctx, key)
	ok(t, err)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if lines[0] != "bestAnswer,score,trueLabel" {
		t.Fatalf("header %q, want bestAnswer,score,trueLabel", lines[0])
	}
	if int64(len(lines)-1) != a.testN {
		t.Fatalf("%d output rows, want %d", len(lines)-1, a.testN)
	}
	if f := strings.Split(lines[1], ","); len(f) != 3 || (f[0] != "0" && f[0] != "1") {
		t.Errorf("first row %q", lines[1])
	}
}

// predict predicts one record, failing the test on an error.
func (a *adult) predict(t *testing.T, svc *service.Service, r perch.Record) perch.Prediction {
	t.Helper()
	var p perch.Prediction
	ok(t, svc.Predict(context.Background(), a.model.ID, r, &p))
	return p
}

func (a *adult) testRealtime(t *testing.T) {
	ctx := context.Background()
	svc, id := a.e.svc, a.model.ID
	rec := record(a.train.Schema, founding)
	var p perch.Prediction

	wantCode(t, svc.Predict(ctx, id, rec, &p), perch.EConflict)
	_, err := svc.PredictBatch(ctx, id, []perch.Record{rec})
	wantCode(t, err, perch.EConflict)
	_, err = svc.CreateEndpoint(ctx, id, -1)
	wantCode(t, err, perch.EInvalid)

	m, err := svc.CreateEndpoint(ctx, id, 0)
	ok(t, err)
	if m.Endpoint.Status != perch.EndpointReady || m.Endpoint.PeakRequestsPerSecond != service.DefaultPeakRequestsPerSecond ||
		m.Endpoint.URL != "http://perch.test/v1/models/"+id+"/predict" || m.Endpoint.CreatedAt == nil {
		t.Fatalf("endpoint %+v", m.Endpoint)
	}

	p = a.predict(t, svc, rec)
	if p.Label != "0" || p.Type != perch.BinaryModel || len(p.Scores) != 1 || p.Scores[0].Value >= 0.5 || p.Original != "<=50K" || len(p.Invalid) != 0 {
		t.Fatalf("founding record: %+v; want label 0 (<=50K), score below 0.5", p)
	}
	score := p.Scores[0].Value

	// A new threshold applies to the very next prediction.
	_, err = svc.UpdateMLModel(ctx, id, service.Update{ScoreThreshold: ptr(0.01)})
	ok(t, err)
	if p = a.predict(t, svc, rec); p.Label != "1" || p.Scores[0].Value != score {
		t.Fatalf("at threshold 0.01: %+v; want label 1 with score %v", p, score)
	}
	_, err = svc.UpdateMLModel(ctx, id, service.Update{ScoreThreshold: ptr(1.5)})
	wantCode(t, err, perch.EInvalid)
	_, err = svc.UpdateMLModel(ctx, id, service.Update{ScoreThreshold: ptr(0.5)})
	ok(t, err)
	if p = a.predict(t, svc, rec); p.Label != "0" {
		t.Fatalf("back at 0.5: label %q", p.Label)
	}

	// A value that is not a number is missing, and named.
	bad := record(a.train.Schema, founding)
	bad["age"] = "twenty-two"
	if p = a.predict(t, svc, bad); len(p.Invalid) != 1 || p.Invalid[0] != "age" {
		t.Errorf("invalid attributes %q, want [age]", p.Invalid)
	}

	rs := make([]perch.Record, service.MaxBatchRecords+1)
	for i := range rs {
		rs[i] = rec
	}
	_, err = svc.PredictBatch(ctx, id, rs)
	wantCode(t, err, perch.ELimitExceeded)
	ps, err := svc.PredictBatch(ctx, id, []perch.Record{rec, bad, rec})
	ok(t, err)
	if len(ps) != 3 || ps[0].Label != "0" || len(ps[1].Invalid) != 1 || ps[2].Scores[0].Value != score {
		t.Errorf("batch: %+v", ps)
	}
	ps, err = svc.PredictBatch(ctx, id, rs[:service.MaxBatchRecords])
	ok(t, err)
	if len(ps) != service.MaxBatchRecords {
		t.Errorf("%d predictions for %d records", len(ps), service.MaxBatchRecords)
	}

	// Closing the endpoint stops predictions; opening it again restarts
	// them.
	_, err = svc.DeleteEndpoint(ctx, id)
	ok(t, err)
	wantCode(t, svc.Predict(ctx, id, rec, &p), perch.EConflict)
	m, err = svc.CreateEndpoint(ctx, id, 50)
	ok(t, err)
	if m.Endpoint.PeakRequestsPerSecond != 50 {
		t.Errorf("peak %d, want 50", m.Endpoint.PeakRequestsPerSecond)
	}
	a.predict(t, svc, rec)

	var none perch.Prediction
	wantCode(t, svc.Predict(ctx, "ml-missing", rec, &none), perch.ENotFound)
}

// eventually polls cond for up to 2 s: twice the time a change takes to
// reach another server.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(2 * time.Second)
	for {
		done, state := cond()
		if done {
			t.Logf("%s: seen after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 2 s (%s)", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *adult) testReplica(t *testing.T) {
	ctx := context.Background()
	id := a.model.ID
	other := replica(t, a.e, envOptions{})
	rec := record(a.train.Schema, founding)
	label := func(svc *service.Service) (string, error) {
		var p perch.Prediction
		err := svc.Predict(ctx, id, rec, &p)
		return p.Label, err
	}
	if l := a.predict(t, a.e.svc, rec).Label; l != "0" {
		t.Fatalf("label %q before the change", l)
	}
	if l := a.predict(t, other.svc, rec).Label; l != "0" {
		t.Fatalf("label %q on the other server", l)
	}

	_, err := other.svc.UpdateMLModel(ctx, id, service.Update{ScoreThreshold: ptr(0.01)})
	ok(t, err)
	eventually(t, "a threshold set on another server", func() (bool, string) {
		l, err := label(a.e.svc)
		return err == nil && l == "1", fmt.Sprintf("label %q, error %v", l, err)
	})

	_, err = other.svc.DeleteEndpoint(ctx, id)
	ok(t, err)
	eventually(t, "an endpoint closed on another server", func() (bool, string) {
		_, err := label(a.e.svc)
		return perch.Code(err) == perch.EConflict, fmt.Sprintf("error %v", err)
	})

	_, err = other.svc.CreateEndpoint(ctx, id, 0)
	ok(t, err)
	_, err = other.svc.UpdateMLModel(ctx, id, service.Update{ScoreThreshold: ptr(0.5)})
	ok(t, err)
	eventually(t, "an endpoint opened on another server", func() (bool, string) {
		l, err := label(a.e.svc)
		return err == nil && l == "0", fmt.Sprintf("label %q, error %v", l, err)
	})
}

func (a *adult) testConcurrentPredict(t *testing.T) {
	ctx := context.Background()
	svc, id := a.e.svc, a.model.ID
	rec := record(a.train.Schema, founding)
	score := a.predict(t, svc, rec).Scores[0].Value
	if score <= 0.01 || score >= 0.99 {
		t.Fatalf("score %v: the test needs one between 0.01 and 0.99", score)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	var failures []string
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p perch.Prediction
			local := map[string]int{}
			defer func() {
				mu.Lock()
				for k, v := range local {
					seen[k] += v
				}
				mu.Unlock()
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := svc.Predict(ctx, id, rec, &p); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					return
				}
				// One prediction is made with one threshold throughout.
				if len(p.Scores) != 1 || p.Scores[0].Label != p.Label || p.Scores[0].Value != score ||
					(p.Label == "1") != (p.Original == ">50K") {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%+v", p))
					mu.Unlock()
					return
				}
				local[p.Label]++
				// Yield, so that on a small machine the loops do not
				// starve the updates (and PostgreSQL) of CPU.
				runtime.Gosched()
			}
		}()
	}
	for i := range 20 {
		th := 0.99
		if i%2 == 0 {
			th = 0.01
		}
		if _, err := svc.UpdateMLModel(ctx, id, service.Update{ScoreThreshold: &th}); err != nil {
			t.Error(err)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d bad predictions, first: %s", len(failures), failures[0])
	}
	if seen["0"] == 0 || seen["1"] == 0 {
		t.Errorf("labels seen %v: want both while the threshold flips", seen)
	}
	// The last threshold, 0.99, holds once the flipping stops.
	if l := a.predict(t, svc, rec).Label; l != "0" {
		t.Errorf("after the last change to 0.99: label %q", l)
	}
}

func (a *adult) testDelete(t *testing.T) {
	ctx := context.Background()
	svc, id := a.e.svc, a.model.ID
	rec := record(a.train.Schema, founding)
	a.predict(t, svc, rec)
	m, err := svc.DeleteMLModel(ctx, id)
	ok(t, err)
	if m.Status != perch.StatusDeleted || m.Endpoint.Status != perch.EndpointNone {
		t.Fatalf("deleted model: status %s, endpoint %s", m.Status, m.Endpoint.Status)
	}
	var p perch.Prediction
	wantCode(t, svc.Predict(ctx, id, rec, &p), perch.ENotFound)
	_, err = svc.CreateEndpoint(ctx, id, 0)
	wantCode(t, err, perch.EInvalid)
	_, err = svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: id, DataSourceID: a.test.ID})
	wantCode(t, err, perch.EInvalid)
	_, err = svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: id, DataSourceID: a.test.ID})
	wantCode(t, err, perch.EInvalid)

	d, err := svc.DeleteDataSource(ctx, a.train.ID)
	ok(t, err)
	wantStatus(t, &d.Meta, perch.StatusDeleted)
	_, err = svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: a.train.ID})
	wantCode(t, err, perch.EInvalid)
}
