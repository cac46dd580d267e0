package aml_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/aml"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// queue runs each job at once, again while it waits on another entity.
type queue struct {
	svc *service.Service
	ctx context.Context
}

func (q *queue) Enqueue(_ context.Context, j service.Job) error {
	go func() {
		for q.ctx.Err() == nil {
			err := q.svc.Run(q.ctx, j)
			if !errors.Is(err, service.ErrNotReady) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return nil
}

// server is an AML endpoint on a fresh service, with its root pair.
type server struct {
	url, id, secret string
	dir             string // the data directory; objects under objects/
	svc             *service.Service
	now             time.Time // signing time; zero means the present
}

func newServer(t testing.TB, dsn string, opts ...aml.Options) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := objects.Open(ctx, filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Objects: b})
	svc.SetQueue(&queue{svc: svc, ctx: ctx})
	master, err := access.EnsureMasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetMasterKey(master); err != nil {
		t.Fatal(err)
	}
	if _, created, err := svc.EnsureRootAWSKey(ctx, dir); err != nil || !created {
		t.Fatalf("EnsureRootAWSKey: created %v, %v", created, err)
	}
	id, secret, err := access.ReadCredentialsFile(filepath.Join(dir, access.RootAWSCredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	var opt aml.Options
	if len(opts) > 0 {
		opt = opts[0]
	}
	ts := httptest.NewServer(aml.New(svc, opt))
	svc.SetBaseURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		cancel()
		time.Sleep(50 * time.Millisecond) // let running jobs see the cancel
		b.Close()
		st.Close()
	})
	return &server{url: ts.URL, id: id, secret: secret, dir: dir, svc: svc}
}

// call sends one operation, signed, and decodes the answer into out (nil
// to drop it). It returns the __type of an error answer.
func (s *server) call(t testing.TB, op string, in any, out any) (string, string) {
	t.Helper()
	body, _ := json.Marshal(in)
	r, _ := http.NewRequest("POST", s.url+"/", bytes.NewReader(body))
	r.Header.Set("Content-Type", aml.ContentType)
	r.Header.Set("X-Amz-Target", aml.TargetPrefix+op)
	at := s.now
	if at.IsZero() {
		at = time.Now()
	}
	access.SignV4(r, body, s.id, s.secret, "us-east-1", "machinelearning", at)
	return s.do(t, r, out)
}

func (s *server) do(t testing.TB, r *http.Request, out any) (string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("no x-amzn-RequestId")
	}
	if resp.StatusCode != 200 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Type == "" {
			t.Fatalf("status %d, body %s", resp.StatusCode, b)
		}
		want := 400
		if e.Type == "InternalServerException" {
			want = 500
		}
		if resp.StatusCode != want {
			t.Errorf("%s answered %d", e.Type, resp.StatusCode)
		}
		return e.Type, e.Message
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
	}
	return "", ""
}

// must calls op and fails the test on an error answer.
func (s *server) must(t testing.TB, op string, in any, out any) {
	t.Helper()
	if typ, msg := s.call(t, op, in, out); typ != "" {
		t.Fatalf("%s: %s: %s", op, typ, msg)
	}
}

// wantError calls op and checks the error type it answers.
func (s *server) wantError(t testing.TB, typ, contains, op string, in any) {
	t.Helper()
	got, msg := s.call(t, op, in, nil)
	if got != typ || !strings.Contains(msg, contains) {
		t.Errorf("%s %v: got %s %q; want %s containing %q", op, in, got, msg, typ, contains)
	}
}

// put writes an object at s3://bucket/key, as the folder store maps it.
func (s *server) put(t testing.TB, s3url string, data []byte) {
	t.Helper()
	p := filepath.Join(s.dir, "objects", filepath.FromSlash(strings.TrimPrefix(s3url, "s3://")))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wait polls a Describe operation as boto3's waiters do, until every
// result is COMPLETED.
func (s *server) wait(t testing.TB, op, variable, value string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var out struct{ Results []map[string]any }
		s.must(t, op, map[string]any{"FilterVariable": variable, "EQ": value}, &out)
		done := len(out.Results) > 0
		for _, r := range out.Results {
			switch r["Status"] {
			case "FAILED":
				t.Fatalf("%s %s=%s: FAILED: %v", op, variable, value, r["Message"])
			case "COMPLETED":
			default:
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s %s=%s: not COMPLETED in time", op, variable, value)
}

// smallCSV is a binary problem a linear model learns: y is 1 when x > 5.
func smallCSV(rows int) []byte {
	var b bytes.Buffer
	b.WriteString("id,x,color,y\n")
	for i := 0; i < rows; i++ {
		x := float64(i%100) / 10
		y := 0
		if x > 5 {
			y = 1
		}
		fmt.Fprintf(&b, "r%d,%.1f,%s,%d\n", i, x, []string{"red", "green", "blue"}[i%3], y)
	}
	return b.Bytes()
}

const smallSchema = `{"version":"1.0","rowId":"id","targetAttributeName":"y","dataFormat":"CSV","dataFileContainsHeader":true,
 "attributes":[{"attributeName":"id","attributeType":"CATEGORICAL"},{"attributeName":"x","attributeType":"NUMERIC"},
  {"attributeName":"color","attributeType":"CATEGORICAL"},{"attributeName":"y","attributeType":"BINARY"}],
 "excludedAttributeNames":[]}`

// TestRefusals checks requests the protocol turns away before any
// operation runs.
func TestRefusals(t *testing.T) {
	s := newServer(t, testdb.SQLite(t))
	body := []byte(`{"DataSourceId":"nope"}`)
	req := func() *http.Request {
		r, _ := http.NewRequest("POST", s.url+"/", bytes.NewReader(body))
		r.Header.Set("Content-Type", aml.ContentType)
		r.Header.Set("X-Amz-Target", aml.TargetPrefix+"GetDataSource")
		return r
	}
	if typ, _ := s.do(t, req(), nil); typ != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %s", typ)
	}
	r := req()
	access.SignV4(r, body, s.id, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "machinelearning", time.Now())
	if typ, msg := s.do(t, r, nil); typ != "InvalidSignatureException" || !strings.Contains(msg, "does not match") {
		t.Errorf("wrong secret: %s %s", typ, msg)
	}
	r = req()
	access.SignV4(r, body, "PKIAAAAAAAAAAAAAAAAA", s.secret, "us-east-1", "machinelearning", time.Now())
	if typ, _ := s.do(t, r, nil); typ != "UnrecognizedClientException" {
		t.Errorf("unknown access key: %s", typ)
	}
	r = req()
	access.SignV4(r, body, s.id, s.secret, "eu-west-1", "machinelearning", time.Now().Add(-6*time.Minute))
	if typ, msg := s.do(t, r, nil); typ != "InvalidSignatureException" || !strings.Contains(msg, "Signature expired") {
		t.Errorf("stale: %s %s", typ, msg)
	}
	r, _ = http.NewRequest("POST", s.url+"/", strings.NewReader(`{"DataSourceId":"other"}`))
	r.Header.Set("Content-Type", aml.ContentType)
	r.Header.Set("X-Amz-Target", aml.TargetPrefix+"GetDataSource")
	access.SignV4(r, body, s.id, s.secret, "us-east-1", "machinelearning", time.Now())
	if typ, msg := s.do(t, r, nil); typ != "InvalidSignatureException" || !strings.Contains(msg, "does not match") {
		t.Errorf("tampered body: %s %s", typ, msg)
	}
	// Signed in another region, by the right key: the operation runs.
	r = req()
	access.SignV4(r, body, s.id, s.secret, "eu-west-1", "machinelearning", time.Now())
	if typ, _ := s.do(t, r, nil); typ != "ResourceNotFoundException" {
		t.Errorf("eu-west-1: %s", typ)
	}
	s.wantError(t, "UnknownOperationException", "", "ListThings", map[string]any{})
	if typ, _ := s.call(t, "GetDataSource", json.RawMessage(`{"DataSourceId":`), nil); typ != "SerializationException" {
		// json.Marshal refuses the broken document, so send it by hand.
		r, _ := http.NewRequest("POST", s.url+"/", strings.NewReader(`{"DataSourceId":`))
		r.Header.Set("Content-Type", aml.ContentType)
		r.Header.Set("X-Amz-Target", aml.TargetPrefix+"GetDataSource")
		access.SignV4(r, []byte(`{"DataSourceId":`), s.id, s.secret, "us-east-1", "machinelearning", time.Now())
		if typ, _ := s.do(t, r, nil); typ != "SerializationException" {
			t.Errorf("broken JSON: %s", typ)
		}
	}

	// A revoked pair stops working (after the key cache's few seconds).
	id, secret, _, err := s.svc.CreateAWSKey(context.Background(), "other", adminPolicy())
	if err != nil {
		t.Fatal(err)
	}
	other := *s
	other.id, other.secret = id, secret
	other.wantError(t, "ResourceNotFoundException", "", "GetDataSource", map[string]any{"DataSourceId": "nope"})
	if _, err := s.svc.DeleteKey(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	other.wantError(t, "UnrecognizedClientException", "", "GetDataSource", map[string]any{"DataSourceId": "nope"})
}

// TestValidation checks the members AML's clients do not check.
func TestValidation(t *testing.T) {
	s := newServer(t, testdb.SQLite(t))
	bad := []struct {
		op, contains string
		in           map[string]any
	}{
		{"GetDataSource", "DataSourceId", map[string]any{"DataSourceId": "bad id!"}},
		{"GetDataSource", "DataSourceId", map[string]any{"DataSourceId": strings.Repeat("a", 65)}},
		{"DescribeDataSources", "Limit", map[string]any{"Limit": 1000}},
		{"DescribeDataSources", "FilterVariable", map[string]any{"FilterVariable": "Bogus", "EQ": "x"}},
		{"DescribeDataSources", "SortOrder", map[string]any{"SortOrder": "desc"}},
		{"DescribeDataSources", "NE: only spaces", map[string]any{"FilterVariable": "Name", "EQ": "x", "NE": "  "}},
		{"DescribeDataSources", "Prefix does not apply to CreatedAt", map[string]any{"FilterVariable": "CreatedAt", "GE": "0", "Prefix": "1"}},
		{"DescribeDataSources", "FilterVariable", map[string]any{"FilterVariable": "TrainingDataURI", "EQ": "s3://b/k"}},
		{"DescribeMLModels", "FilterVariable", map[string]any{"FilterVariable": "DataLocationS3", "EQ": "x"}},
		{"CreateDataSourceFromS3", "DataLocationS3", map[string]any{"DataSourceId": "d", "DataSpec": map[string]any{"DataLocationS3": "http://x/y"}}},
		{"CreateDataSourceFromS3", "DataSpec", map[string]any{"DataSourceId": "d"}},
		{"CreateDataSourceFromS3", "not both", map[string]any{"DataSourceId": "d", "DataSpec": map[string]any{"DataLocationS3": "s3://b/k", "DataSchema": smallSchema, "DataSchemaLocationS3": "s3://b/s"}}},
		{"CreateDataSourceFromS3", "DataSourceName", map[string]any{"DataSourceId": "d", "DataSourceName": "   ", "DataSpec": map[string]any{"DataLocationS3": "s3://b/k"}}},
		{"CreateDataSourceFromRDS", "RDSData", map[string]any{"DataSourceId": "d", "RoleARN": "r"}},
		{"CreateDataSourceFromRedshift", "RoleARN", map[string]any{"DataSourceId": "d", "DataSpec": map[string]any{}}},
		{"CreateDataSourceFromRedshift", "CreateDataSourceFromS3", redshiftInput("d", "select 1")},
		{"CreateDataSourceFromRedshift", "Password", func() map[string]any {
			in := redshiftInput("d", "select 1")
			in["DataSpec"].(map[string]any)["DatabaseCredentials"] = map[string]string{"Username": "u", "Password": "short"}
			return in
		}()},
		{"CreateMLModel", "MLModelType", map[string]any{"MLModelId": "m", "MLModelType": "TREES", "TrainingDataSourceId": "d"}},
		{"CreateMLModel", "sgd (perch also trains gbdt)", map[string]any{"MLModelId": "m", "MLModelType": "BINARY", "TrainingDataSourceId": "d", "Parameters": map[string]string{"algorithm": "forest"}}},
		{"CreateBatchPrediction", "OutputUri", map[string]any{"BatchPredictionId": "b", "MLModelId": "m", "BatchPredictionDataSourceId": "d", "OutputUri": "s3://b/a/../c"}},
		{"CreateBatchPrediction", "OutputUri", map[string]any{"BatchPredictionId": "b", "MLModelId": "m", "BatchPredictionDataSourceId": "d", "OutputUri": "s3://b/a:c"}},
		{"Predict", "PredictEndpoint", map[string]any{"MLModelId": "m", "Record": map[string]string{}, "PredictEndpoint": "ftp://x"}},
		{"AddTags", "ResourceType", map[string]any{"ResourceId": "m", "ResourceType": "Model", "Tags": []any{}}},
	}
	for _, c := range bad {
		s.wantError(t, "InvalidInputException", c.contains, c.op, c.in)
	}
	s.wantError(t, "InvalidTagException", "key", "AddTags", map[string]any{"ResourceId": "m", "ResourceType": "MLModel", "Tags": []any{map[string]string{"Key": "a*b"}}})
	s.wantError(t, "ResourceNotFoundException", "", "AddTags", map[string]any{"ResourceId": "m", "ResourceType": "MLModel", "Tags": []any{map[string]string{"Key": "a"}}})
	s.wantError(t, "ResourceNotFoundException", "", "DescribeTags", map[string]any{"ResourceId": "m", "ResourceType": "MLModel"})
	s.wantError(t, "InvalidInputException", "b/missing.csv not found", "CreateDataSourceFromS3", map[string]any{"DataSourceId": "d", "DataSpec": map[string]any{"DataLocationS3": "s3://b/missing.csv"}})
}

// TestFlow runs AML's whole flow on a small binary problem: data sources
// with a split and its complement, a model, an evaluation, an endpoint
// and predictions, a batch prediction, tags, listings and deletes.
func TestFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := newServer(t, dsn)
		s.put(t, "s3://bucket/small/data.csv", smallCSV(400))
		s.put(t, "s3://bucket/small/schema.json", []byte(smallSchema))
		split := `{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","randomSeed":"s"}}`
		comp := `{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","strategyParams":{"randomSeed":"s"},"complement":"true"}}`
		train := map[string]any{"DataSourceId": "ds-train", "DataSourceName": "train", "ComputeStatistics": true,
			"DataSpec": map[string]any{"DataLocationS3": "s3://bucket/small/data.csv", "DataSchema": smallSchema, "DataRearrangement": split}}
		s.must(t, "CreateDataSourceFromS3", train, nil)
		s.must(t, "CreateDataSourceFromS3", train, nil) // the same again: AML's idempotence
		other := map[string]any{"DataSourceId": "ds-train", "DataSpec": map[string]any{"DataLocationS3": "s3://bucket/small/data.csv", "DataSchema": smallSchema}}
		s.wantError(t, "IdempotentParameterMismatchException", "rearrangement", "CreateDataSourceFromS3", other)
		s.must(t, "CreateDataSourceFromS3", map[string]any{"DataSourceId": "ds-eval", "DataSourceName": "eval",
			"DataSpec": map[string]any{"DataLocationS3": "s3://bucket/small/data.csv", "DataSchemaLocationS3": "s3://bucket/small/schema.json", "DataRearrangement": comp}}, nil)
		s.wait(t, "DescribeDataSources", "Name", "train")
		s.wait(t, "DescribeDataSources", "Name", "eval")

		var ds struct {
			DataSourceID      string `json:"DataSourceId"`
			DataLocationS3    string
			DataRearrangement string
			DataSourceSchema  string
			Status            string
			ComputeStatistics bool
			ComputeTime       *int64
			CreatedAt         float64
		}
		s.must(t, "GetDataSource", map[string]any{"DataSourceId": "ds-train", "Verbose": true}, &ds)
		if ds.DataLocationS3 != "s3://bucket/small/data.csv" || ds.DataRearrangement != split || !ds.ComputeStatistics || ds.ComputeTime == nil || ds.CreatedAt < 1e9 {
			t.Errorf("GetDataSource: %+v", ds)
		}
		if !strings.Contains(ds.DataSourceSchema, `"targetAttributeName":"y"`) {
			t.Errorf("DataSourceSchema %s", ds.DataSourceSchema)
		}
		var byLoc struct {
			Results []struct {
				DataSourceID string `json:"DataSourceId"`
			}
		}
		s.must(t, "DescribeDataSources", map[string]any{"FilterVariable": "DataLocationS3", "Prefix": "s3://bucket/small/"}, &byLoc)
		if len(byLoc.Results) != 2 {
			t.Errorf("DataLocationS3 prefix: %+v", byLoc)
		}

		model := map[string]any{"MLModelId": "ml-small", "MLModelName": "small", "MLModelType": "BINARY", "TrainingDataSourceId": "ds-train",
			"Recipe":     `{"groups":{},"assignments":{},"outputs":["ALL_CATEGORICAL","quantile_bin(x,10)"]}`,
			"Parameters": map[string]string{"sgd.maxPasses": "5", "sgd.shuffleType": "auto", "sgd.l2RegularizationAmount": "1e-6"}}
		s.must(t, "CreateMLModel", model, nil)
		model["MLModelType"] = "REGRESSION"
		s.wantError(t, "IdempotentParameterMismatchException", "model type", "CreateMLModel", model)
		s.wait(t, "DescribeMLModels", "Name", "small")
		s.wantError(t, "PredictorNotMountedException", "endpoint", "Predict", map[string]any{"MLModelId": "ml-small", "Record": map[string]string{"x": "9"}, "PredictEndpoint": s.url})

		s.must(t, "CreateEvaluation", map[string]any{"EvaluationId": "ev-small", "MLModelId": "ml-small", "EvaluationDataSourceId": "ds-eval"}, nil)
		s.wait(t, "DescribeEvaluations", "MLModelId", "ml-small")
		var ev struct {
			PerformanceMetrics  struct{ Properties map[string]string }
			InputDataLocationS3 string
		}
		s.must(t, "GetEvaluation", map[string]any{"EvaluationId": "ev-small"}, &ev)
		if ev.PerformanceMetrics.Properties["BinaryAUC"] == "" || ev.InputDataLocationS3 != "s3://bucket/small/data.csv" {
			t.Errorf("GetEvaluation: %+v", ev)
		}

		s.must(t, "UpdateMLModel", map[string]any{"MLModelId": "ml-small", "ScoreThreshold": 0.25}, nil)
		var ep struct {
			MLModelID            string `json:"MLModelId"`
			RealtimeEndpointInfo struct {
				EndpointURL           string `json:"EndpointUrl"`
				EndpointStatus        string
				PeakRequestsPerSecond int
			}
		}
		s.must(t, "CreateRealtimeEndpoint", map[string]any{"MLModelId": "ml-small"}, &ep)
		if ep.RealtimeEndpointInfo.EndpointStatus != "READY" || ep.RealtimeEndpointInfo.EndpointURL != s.url || ep.RealtimeEndpointInfo.PeakRequestsPerSecond != 200 {
			t.Errorf("CreateRealtimeEndpoint: %+v", ep)
		}
		var pred struct {
			Prediction struct {
				PredictedLabel  string             `json:"predictedLabel"`
				PredictedValue  *float64           `json:"predictedValue"`
				PredictedScores map[string]float64 `json:"predictedScores"`
				Details         map[string]string  `json:"details"`
			}
		}
		s.must(t, "Predict", map[string]any{"MLModelId": "ml-small", "Record": map[string]string{"x": "9.5", "color": "red"}, "PredictEndpoint": ep.RealtimeEndpointInfo.EndpointURL}, &pred)
		p := pred.Prediction
		if p.PredictedLabel != "1" || len(p.PredictedScores) != 1 || p.PredictedScores["1"] < 0.25 || p.PredictedValue != nil ||
			p.Details["PredictiveModelType"] != "BINARY" || p.Details["Algorithm"] != "SGD" {
			t.Errorf("Predict: %+v", p)
		}

		// perch's trees, asked for by name, answer as trees.
		s.must(t, "CreateMLModel", map[string]any{"MLModelId": "ml-trees", "MLModelName": "trees", "MLModelType": "BINARY", "TrainingDataSourceId": "ds-train",
			"Parameters": map[string]string{"algorithm": "gbdt", "gbdt.numTrees": "5", "gbdt.minDataInLeaf": "1"}}, nil)
		s.wait(t, "DescribeMLModels", "Name", "trees")
		s.must(t, "CreateRealtimeEndpoint", map[string]any{"MLModelId": "ml-trees"}, nil)
		s.must(t, "Predict", map[string]any{"MLModelId": "ml-trees", "Record": map[string]string{"x": "9.5", "color": "red"}, "PredictEndpoint": s.url}, &pred)
		if p := pred.Prediction; p.Details["Algorithm"] != "GBDT" || len(p.PredictedScores) != 1 {
			t.Errorf("Predict with trees: %+v", p)
		}
		// Older SDKs send the endpoint as a bare host, or host:port.
		hostPort := strings.TrimPrefix(s.url, "http://")
		host, _, _ := strings.Cut(hostPort, ":")
		for _, ep := range []string{host, hostPort} {
			pred.Prediction.PredictedLabel = ""
			s.must(t, "Predict", map[string]any{"MLModelId": "ml-trees", "Record": map[string]string{"x": "9.5", "color": "red"}, "PredictEndpoint": ep}, &pred)
			if pred.Prediction.PredictedLabel == "" {
				t.Errorf("Predict with PredictEndpoint %q: %+v", ep, pred.Prediction)
			}
		}

		// The hand reader's fallback: escapes and non-ASCII values.
		var alt struct {
			Prediction struct {
				PredictedLabel string `json:"predictedLabel"`
			}
		}
		s.must(t, "Predict", json.RawMessage(`{"MLModelId":"ml-small","Record":{"x":"9.5","color":"r\u00e9d"},"PredictEndpoint":"`+s.url+`"}`), &alt)
		if alt.Prediction.PredictedLabel != "1" {
			t.Errorf("Predict with an escape: %+v", alt)
		}
		s.wantError(t, "SerializationException", "", "Predict", json.RawMessage(`{"MLModelId":"ml-small","Record":{"x":9.5},"PredictEndpoint":"`+s.url+`"}`))
		s.wantError(t, "LimitExceededException", "Record", "Predict", map[string]any{"MLModelId": "ml-small", "PredictEndpoint": s.url,
			"Record": map[string]string{"x": strings.Repeat("9", 101<<10)}})
		s.wantError(t, "InvalidInputException", "Record", "Predict", map[string]any{"MLModelId": "ml-small", "PredictEndpoint": s.url})
		s.wantError(t, "IdempotentParameterMismatchException", "data source", "CreateEvaluation",
			map[string]any{"EvaluationId": "ev-small", "MLModelId": "ml-small", "EvaluationDataSourceId": "ds-train"})
		s.must(t, "CreateEvaluation", map[string]any{"EvaluationId": "ev-small", "MLModelId": "ml-small", "EvaluationDataSourceId": "ds-eval"}, nil)
		s.wantError(t, "InvalidInputException", "ml-none", "CreateEvaluation",
			map[string]any{"EvaluationId": "ev-none", "MLModelId": "ml-none", "EvaluationDataSourceId": "ds-eval"})

		var m struct {
			MLModelID          string `json:"MLModelId"`
			ScoreThreshold     float64
			Recipe             string
			Schema             string
			Algorithm          string
			TrainingParameters map[string]string
			EndpointInfo       struct{ EndpointStatus string }
			SizeInBytes        int64
		}
		s.must(t, "GetMLModel", map[string]any{"MLModelId": "ml-small", "Verbose": true}, &m)
		if m.ScoreThreshold != 0.25 || m.Recipe != model["Recipe"] || m.Schema == "" || m.Algorithm != "" ||
			m.TrainingParameters["sgd.maxPasses"] != "5" || m.TrainingParameters["algorithm"] != "sgd" || m.EndpointInfo.EndpointStatus != "READY" || m.SizeInBytes == 0 {
			t.Errorf("GetMLModel: %+v", m)
		}

		s.must(t, "CreateBatchPrediction", map[string]any{"BatchPredictionId": "bp-small", "MLModelId": "ml-small",
			"BatchPredictionDataSourceId": "ds-eval", "OutputUri": "s3://bucket/out/"}, nil)
		s.wait(t, "DescribeBatchPredictions", "MLModelId", "ml-small")
		s.must(t, "CreateBatchPrediction", map[string]any{"BatchPredictionId": "bp-small", "MLModelId": "ml-small",
			"BatchPredictionDataSourceId": "ds-eval", "OutputUri": "s3://bucket/out/"}, nil)
		s.wantError(t, "IdempotentParameterMismatchException", "output", "CreateBatchPrediction", map[string]any{"BatchPredictionId": "bp-small", "MLModelId": "ml-small",
			"BatchPredictionDataSourceId": "ds-eval", "OutputUri": "s3://bucket/elsewhere/"})
		var bp struct {
			OutputURI        string `json:"OutputUri"`
			TotalRecordCount int64
		}
		s.must(t, "GetBatchPrediction", map[string]any{"BatchPredictionId": "bp-small"}, &bp)
		if bp.OutputURI != "s3://bucket/out/" || bp.TotalRecordCount == 0 {
			t.Errorf("GetBatchPrediction: %+v", bp)
		}
		// AML's layout: a manifest naming a gzipped result.
		manifest, err := os.ReadFile(filepath.Join(s.dir, "objects", "bucket", "out", "batch-prediction", "bp-small.manifest"))
		if err != nil {
			t.Fatal(err)
		}
		var entries map[string]string
		if err := json.Unmarshal(manifest, &entries); err != nil {
			t.Fatalf("manifest %s: %v", manifest, err)
		}
		result := entries["s3://bucket/small/data.csv"]
		if len(entries) != 1 || result != "s3://bucket/out/batch-prediction/result/bp-small-data.csv.gz" {
			t.Fatalf("manifest %s", manifest)
		}
		f, err := os.Open(filepath.Join(s.dir, "objects", filepath.FromSlash(strings.TrimPrefix(result, "s3://"))))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := io.ReadAll(z)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(rows)), "\n")
		if !strings.HasPrefix(lines[0], "bestAnswer,score") || int64(len(lines)-1) != bp.TotalRecordCount {
			t.Errorf("result: %d lines for %d records, header %q", len(lines), bp.TotalRecordCount, lines[0])
		}

		// Tags.
		s.must(t, "AddTags", map[string]any{"ResourceId": "ml-small", "ResourceType": "MLModel",
			"Tags": []any{map[string]string{"Key": "team", "Value": "risk"}, map[string]string{"Key": "nov"}}}, nil)
		var tags struct {
			Tags []struct {
				Key   string
				Value *string
			}
		}
		s.must(t, "DescribeTags", map[string]any{"ResourceId": "ml-small", "ResourceType": "MLModel"}, &tags)
		if len(tags.Tags) != 2 || tags.Tags[0].Key != "nov" || tags.Tags[0].Value != nil || *tags.Tags[1].Value != "risk" {
			t.Errorf("DescribeTags: %+v", tags)
		}
		s.must(t, "DeleteTags", map[string]any{"ResourceId": "ml-small", "ResourceType": "MLModel", "TagKeys": []string{"nov", "absent"}}, nil)
		s.must(t, "DescribeTags", map[string]any{"ResourceId": "ml-small", "ResourceType": "MLModel"}, &tags)
		if len(tags.Tags) != 1 {
			t.Errorf("after DeleteTags: %+v", tags)
		}
		many := []any{}
		for i := 0; i < 100; i++ {
			many = append(many, map[string]string{"Key": fmt.Sprintf("k%d", i)})
		}
		s.wantError(t, "TagLimitExceededException", "", "AddTags", map[string]any{"ResourceId": "ml-small", "ResourceType": "MLModel", "Tags": many})

		// Paging: three data sources one at a time, in both orders.
		s.must(t, "CreateDataSourceFromS3", map[string]any{"DataSourceId": "ds-all", "DataSourceName": "all",
			"DataSpec": map[string]any{"DataLocationS3": "s3://bucket/small/data.csv", "DataSchema": smallSchema}}, nil)
		for _, order := range []string{"asc", "dsc"} {
			var names []string
			token := ""
			for {
				in := map[string]any{"FilterVariable": "Name", "SortOrder": order, "Limit": 1}
				if token != "" {
					in["NextToken"] = token
				}
				var pg struct {
					Results   []struct{ Name string }
					NextToken string
				}
				s.must(t, "DescribeDataSources", in, &pg)
				for _, r := range pg.Results {
					names = append(names, r.Name)
				}
				if token = pg.NextToken; token == "" {
					break
				}
			}
			want := "all,eval,train"
			if order == "dsc" {
				want = "train,eval,all"
			}
			if got := strings.Join(names, ","); got != want {
				t.Errorf("%s pages: %s, want %s", order, got, want)
			}
		}

		// Deletes leave the entities readable, DELETED.
		s.must(t, "DeleteRealtimeEndpoint", map[string]any{"MLModelId": "ml-small"}, &ep)
		if ep.RealtimeEndpointInfo.EndpointStatus != "NONE" {
			t.Errorf("DeleteRealtimeEndpoint: %+v", ep)
		}
		s.must(t, "UpdateBatchPrediction", map[string]any{"BatchPredictionId": "bp-small", "BatchPredictionName": "renamed"}, nil)
		s.must(t, "UpdateEvaluation", map[string]any{"EvaluationId": "ev-small", "EvaluationName": "renamed"}, nil)
		s.must(t, "UpdateDataSource", map[string]any{"DataSourceId": "ds-all", "DataSourceName": "renamed"}, nil)
		for _, d := range []struct{ op, idName, id, get string }{
			{"DeleteBatchPrediction", "BatchPredictionId", "bp-small", "GetBatchPrediction"},
			{"DeleteEvaluation", "EvaluationId", "ev-small", "GetEvaluation"},
			{"DeleteMLModel", "MLModelId", "ml-small", "GetMLModel"},
			{"DeleteDataSource", "DataSourceId", "ds-all", "GetDataSource"},
		} {
			var out map[string]any
			s.must(t, d.op, map[string]any{d.idName: d.id}, &out)
			if out[d.idName] != d.id {
				t.Errorf("%s: %v", d.op, out)
			}
			s.must(t, d.get, map[string]any{d.idName: d.id}, &out)
			if out["Status"] != "DELETED" {
				t.Errorf("%s after %s: %v", d.get, d.op, out["Status"])
			}
		}
		s.wantError(t, "ResourceNotFoundException", "", "GetMLModel", map[string]any{"MLModelId": "ml-none"})
	})
}
