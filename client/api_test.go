package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/client/clienttest"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/service"
)

// foundingRecord is the Adult record perch's quickstart predicts.
const foundingRecord = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"

const poll = 20 * time.Millisecond

// record names the fields of a CSV line by the schema, leaving out the
// target.
func record(s *perch.Schema, line string) perch.Record {
	fields := strings.Split(line, ",")
	r := perch.Record{}
	i := 0
	for _, a := range s.Attributes {
		if a.Name == s.TargetAttributeName {
			continue
		}
		r[a.Name] = strings.TrimSpace(fields[i])
		i++
	}
	return r
}

// TestAdultEndToEnd drives a real server through the client: upload,
// data source, model, endpoint, predictions, evaluation, batch
// prediction, tags, lists, keys, and the errors on the way.
func TestAdultEndToEnd(t *testing.T) {
	srv := clienttest.New(t)
	c := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	other, _ := access.NewKey()
	_, err := client.New(srv.URL, other).GetMLModel(ctx, "ml-1")
	var ce *client.Error
	if perch.Code(err) != perch.EUnauthorized || !errors.As(err, &ce) || ce.Status != 401 {
		t.Errorf("unknown key: %v", err)
	}

	// Upload, under a key that needs escaping.
	gz, err := examples.FS.ReadFile("adult/train.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	key := "uploads/adult train #1.csv.gz"
	info, err := c.PutObject(ctx, key, bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if info.Key != key || info.Size != int64(len(gz)) || info.URL == "" {
		t.Errorf("PutObject: %+v", info)
	}
	objs, err := c.ListObjects(ctx, "uploads/")
	if err != nil || len(objs) != 1 || objs[0].Key != key || objs[0].Size != int64(len(gz)) {
		t.Errorf("ListObjects: %+v, %v", objs, err)
	}
	rc, err := c.GetObject(ctx, key)
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, gz) {
		t.Errorf("GetObject: %d bytes back, %d sent", len(back), len(gz))
	}

	// The data source.
	ds, err := c.CreateDataSource(ctx, service.DataSourceInput{Name: "adult", DataURL: key, TargetAttributeName: "income", ComputeStatistics: true})
	if err != nil {
		t.Fatalf("CreateDataSource: %v", err)
	}
	if ds.Status.Done() || ds.Name != "adult" {
		t.Errorf("created data source: %+v", ds)
	}
	if err := c.Wait(ctx, client.DataSources, ds.ID, poll); err != nil {
		t.Fatalf("Wait data source: %v", err)
	}
	if ds, err = c.GetDataSource(ctx, ds.ID); err != nil {
		t.Fatal(err)
	}
	if ds.Status != perch.StatusCompleted || ds.Records != 32561 || ds.Schema == nil || ds.Schema.TargetAttributeName != "income" {
		t.Fatalf("data source: %+v", ds)
	}
	stats, err := c.DataSourceStatistics(ctx, ds.ID)
	var st struct{ Records int64 }
	if err != nil || json.Unmarshal(stats, &st) != nil || st.Records != 32561 {
		t.Errorf("statistics: %.200s, %v", stats, err)
	}

	// The model and its endpoint.
	m, err := c.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: ds.ID})
	if err != nil {
		t.Fatalf("CreateMLModel: %v", err)
	}
	if err := c.Wait(ctx, client.MLModels, m.ID, poll); err != nil {
		t.Fatalf("Wait model: %v", err)
	}
	rec := record(ds.Schema, foundingRecord)
	if _, err := c.Predict(ctx, m.ID, rec); perch.Code(err) != perch.EConflict {
		t.Errorf("Predict without an endpoint: %v", err)
	}
	if m, err = c.CreateEndpoint(ctx, m.ID, 0); err != nil {
		t.Fatalf("CreateEndpoint: %v", err)
	}
	if m.Endpoint.Status != perch.EndpointReady || m.Endpoint.PeakRequestsPerSecond != service.DefaultPeakRequestsPerSecond ||
		m.Endpoint.URL != srv.URL+"/v1/models/"+m.ID+"/predict" {
		t.Errorf("endpoint: %+v", m.Endpoint)
	}
	p, err := c.Predict(ctx, m.ID, rec)
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	if p.Label != "0" || p.Original != "<=50K" || p.Type != perch.BinaryModel || len(p.Scores) != 1 || p.Scores[0].Value >= 0.5 {
		t.Errorf("the founding record: %+v", p)
	}
	rich := record(ds.Schema, "52, Self-emp-inc, 287927, Doctorate, 16, Married-civ-spouse, Exec-managerial, Husband, White, Male, 99999, 0, 60, United-States")
	preds, err := c.PredictBatch(ctx, m.ID, []perch.Record{rec, rich})
	if err != nil {
		t.Fatalf("PredictBatch: %v", err)
	}
	if len(preds) != 2 || preds[0].Label != "0" || preds[0].Scores[0] != p.Scores[0] || preds[1].Label != "1" || preds[1].Original != ">50K" {
		t.Errorf("PredictBatch: %+v", preds)
	}
	// A threshold below every score makes every prediction "1".
	zero := 0.0
	if m, err = c.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: &zero}); err != nil || m.ScoreThreshold != 0 {
		t.Fatalf("UpdateMLModel: %+v, %v", m, err)
	}
	if p, err := c.Predict(ctx, m.ID, rec); err != nil || p.Label != "1" {
		t.Errorf("Predict at threshold 0: %+v, %v", p, err)
	}
	half := 0.5
	if _, err := c.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: &half}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateDataSource(ctx, ds.ID, service.Update{ScoreThreshold: &half}); perch.Code(err) != perch.EInvalid {
		t.Errorf("a data source's threshold: %v", err)
	}

	// An evaluation and a batch prediction, waited for together.
	ev, err := c.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m.ID, DataSourceID: ds.ID})
	if err != nil {
		t.Fatalf("CreateEvaluation: %v", err)
	}
	bp, err := c.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: ds.ID, OutputURL: "out/"})
	if err != nil {
		t.Fatalf("CreateBatchPrediction: %v", err)
	}
	if err := c.Wait(ctx, client.Evaluations, ev.ID, poll); err != nil {
		t.Fatalf("Wait evaluation: %v", err)
	}
	if ev, err = c.GetEvaluation(ctx, ev.ID); err != nil {
		t.Fatal(err)
	}
	if auc, _ := strconv.ParseFloat(ev.PerformanceMetrics["BinaryAUC"], 64); auc < 0.85 {
		t.Errorf("BinaryAUC %q, want ≥ 0.85 (%v)", ev.PerformanceMetrics["BinaryAUC"], ev.PerformanceMetrics)
	}
	if report, err := c.EvaluationReport(ctx, ev.ID); err != nil || !bytes.Contains(report, []byte("BinaryAUC")) {
		t.Errorf("report: %.200s, %v", report, err)
	}
	if err := c.Wait(ctx, "BatchPrediction", bp.ID, poll); err != nil {
		t.Fatalf("Wait batch prediction: %v", err)
	}
	if bp, err = c.GetBatchPrediction(ctx, bp.ID); err != nil || bp.TotalRecords != 32561 {
		t.Errorf("batch prediction: %+v, %v", bp, err)
	}
	out, err := c.GetObject(ctx, "out/"+bp.ID+".csv")
	if err != nil {
		t.Fatalf("batch output: %v", err)
	}
	sc := bufio.NewScanner(out)
	lines := 0
	for sc.Scan() {
		if lines == 0 && !strings.HasPrefix(sc.Text(), "bestAnswer,score") {
			t.Errorf("batch output header %q", sc.Text())
		}
		lines++
	}
	out.Close()
	if lines != 32562 {
		t.Errorf("batch output: %d lines, want a header and 32561", lines)
	}

	// Tags.
	tags, err := c.AddTags(ctx, client.MLModels, m.ID, map[string]string{"team": "growth", "stage": "test"})
	if err != nil || len(tags) != 2 {
		t.Errorf("AddTags: %v, %v", tags, err)
	}
	if tags, err = c.DeleteTags(ctx, "MLModel", m.ID, []string{"stage", "absent"}); err != nil || len(tags) != 1 || tags["team"] != "growth" {
		t.Errorf("DeleteTags: %v, %v", tags, err)
	}
	if tags, err = c.Tags(ctx, client.MLModels, m.ID); err != nil || tags["team"] != "growth" {
		t.Errorf("Tags: %v, %v", tags, err)
	}

	// A data source that fails: its object is not gzip.
	if _, err := c.PutObject(ctx, "uploads/bad.csv.gz", strings.NewReader("not gzip")); err != nil {
		t.Fatal(err)
	}
	bad, err := c.CreateDataSource(ctx, service.DataSourceInput{DataURL: "uploads/bad.csv.gz", TargetAttributeName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Wait(ctx, client.DataSources, bad.ID, poll)
	var fe *client.FailedError
	if !errors.As(err, &fe) || fe.Status != perch.StatusFailed || fe.Message == "" || !strings.Contains(err.Error(), "FAILED: ") {
		t.Errorf("Wait on a failing data source: %v", err)
	}

	// Lists, filtered and in pages.
	ms, next, err := c.ListMLModels(ctx, perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: "COMPLETED"})
	if err != nil || len(ms) != 1 || ms[0].ID != m.ID || next != "" {
		t.Errorf("ListMLModels: %v, %q, %v", ms, next, err)
	}
	page1, next, err := c.ListDataSources(ctx, perch.Filter{Limit: 1})
	if err != nil || len(page1) != 1 || next == "" {
		t.Fatalf("page 1: %v, %q, %v", page1, next, err)
	}
	page2, next, err := c.ListDataSources(ctx, perch.Filter{Limit: 1, PageToken: next})
	if err != nil || len(page2) != 1 || next != "" || page2[0].ID == page1[0].ID {
		t.Errorf("page 2: %v, %q, %v", page2, next, err)
	}
	if _, _, err := c.ListDataSources(ctx, perch.Filter{Variable: "Colour", Op: perch.OpEQ, Value: "x"}); perch.Code(err) != perch.EInvalid {
		t.Errorf("a bad filter: %v", err)
	}

	// Keys: a new key works, cannot make keys, and stops when revoked.
	newKey, k, err := c.CreateKey(ctx, "ci", json.RawMessage(`"reader"`))
	if err != nil || !access.WellFormed(newKey) || k.Name != "ci" || k.ID == "" || k.Root {
		t.Fatalf("CreateKey: %q %+v %v", newKey, k, err)
	}
	ci := client.New(srv.URL, newKey)
	if _, err := ci.GetMLModel(ctx, m.ID); err != nil {
		t.Errorf("the new key: %v", err)
	}
	if _, _, err := ci.CreateKey(ctx, "more", nil); perch.Code(err) != perch.EAccessDenied {
		t.Errorf("a key made by a non-root key: %v", err)
	}
	keys, _, err := c.ListKeys(ctx, perch.Filter{})
	if err != nil || len(keys) != 2 {
		t.Errorf("ListKeys: %v, %v", keys, err)
	}
	if k, err = c.DeleteKey(ctx, k.ID); err != nil || k.Status != perch.StatusDeleted {
		t.Errorf("DeleteKey: %+v, %v", k, err)
	}
	if _, err := ci.GetMLModel(ctx, m.ID); perch.Code(err) != perch.EUnauthorized {
		t.Errorf("a revoked key: %v", err)
	}

	// Closing the endpoint, deleting the model.
	if m, err = c.DeleteEndpoint(ctx, m.ID); err != nil || m.Endpoint.Status != perch.EndpointNone {
		t.Errorf("DeleteEndpoint: %+v, %v", m, err)
	}
	if _, err := c.Predict(ctx, m.ID, rec); perch.Code(err) != perch.EConflict {
		t.Errorf("Predict after DeleteEndpoint: %v", err)
	}
	if m, err = c.DeleteMLModel(ctx, m.ID); err != nil || m.Status != perch.StatusDeleted {
		t.Errorf("DeleteMLModel: %+v, %v", m, err)
	}
	if err := c.Wait(ctx, client.MLModels, m.ID, poll); !errors.As(err, &fe) || fe.Status != perch.StatusDeleted {
		t.Errorf("Wait on a deleted model: %v", err)
	}

	// Not found, with the request id to quote.
	_, err = c.GetDataSource(ctx, "ds-nope")
	if perch.Code(err) != perch.ENotFound || !errors.As(err, &ce) || ce.Status != 404 || ce.RequestID == "" {
		t.Errorf("a missing data source: %#v", err)
	}
	if err := c.DeleteObject(ctx, key); err != nil {
		t.Errorf("DeleteObject: %v", err)
	}
	if _, err := c.GetObject(ctx, key); perch.Code(err) != perch.ENotFound {
		t.Errorf("GetObject after DeleteObject: %v", err)
	}
}
