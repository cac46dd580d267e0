package aml_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/aml"
	"github.com/perchml/perch/api"
	"github.com/perchml/perch/internal/testdb"
)

// benchServer is a server with a trained BINARY model behind a READY
// endpoint, served through the REST API's handler with AML mounted.
func benchServer(b *testing.B) (*server, http.Handler, string) {
	b.Helper()
	s := newServer(b, testdb.SQLite(b))
	s.put(b, "s3://bucket/small/data.csv", smallCSV(400))
	s.must(b, "CreateDataSourceFromS3", map[string]any{"DataSourceId": "ds", "ComputeStatistics": true,
		"DataSpec": map[string]any{"DataLocationS3": "s3://bucket/small/data.csv", "DataSchema": smallSchema}}, nil)
	s.must(b, "CreateMLModel", map[string]any{"MLModelId": "ml", "MLModelType": "BINARY", "TrainingDataSourceId": "ds"}, nil)
	ctx := context.Background()
	for {
		m, err := s.svc.GetMLModel(ctx, "ml")
		if err != nil {
			b.Fatal(err)
		}
		if m.Status == perch.StatusCompleted {
			break
		}
		if m.Status == perch.StatusFailed {
			b.Fatal(m.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.svc.CreateEndpoint(ctx, "ml", 0); err != nil {
		b.Fatal(err)
	}
	key, _, err := s.svc.CreateKey(ctx, "bench", adminPolicy())
	if err != nil {
		b.Fatal(err)
	}
	h := api.New(s.svc, api.Options{AML: aml.New(s.svc, aml.Options{})})
	return s, h, key
}

// BenchmarkPredict compares a prediction through AML's protocol (SigV4
// checked, JSON 1.1) with one through the REST API's predict route, both
// through the whole handler chain.
func BenchmarkPredict(b *testing.B) {
	s, h, key := benchServer(b)
	record := map[string]string{"x": "9.5", "color": "red", "id": "r1"}
	b.Run("rest", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"record": record})
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("POST", "/v1/models/ml/predict", bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
	b.Run("aml", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"MLModelId": "ml", "Record": record, "PredictEndpoint": "http://127.0.0.1"})
		// One signature serves the run, as a client's would for its
		// minutes of validity; checking it is the server's work measured.
		signed := httptest.NewRequest("POST", "/", nil)
		signed.Header.Set("Content-Type", aml.ContentType)
		signed.Header.Set("X-Amz-Target", aml.TargetPrefix+"Predict")
		access.SignV4(signed, body, s.id, s.secret, "us-east-1", "machinelearning", time.Now())
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header = signed.Header.Clone()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkPredictHTTP is BenchmarkPredict over loopback HTTP, with
// parallel clients: what a client sees of either route.
func BenchmarkPredictHTTP(b *testing.B) {
	s, h, key := benchServer(b)
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	record := map[string]string{"x": "9.5", "color": "red", "id": "r1"}
	run := func(b *testing.B, body []byte, prepare func(*http.Request)) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, _ := http.NewRequest("POST", ts.URL+"/", bytes.NewReader(body))
				prepare(r)
				resp, err := client.Do(r)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	b.Run("rest", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"record": record})
		run(b, body, func(r *http.Request) {
			r.URL.Path = "/v1/models/ml/predict"
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("Content-Type", "application/json")
		})
	})
	b.Run("aml", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"MLModelId": "ml", "Record": record, "PredictEndpoint": ts.URL})
		run(b, body, func(r *http.Request) {
			r.Header.Set("Content-Type", aml.ContentType)
			r.Header.Set("X-Amz-Target", aml.TargetPrefix+"Predict")
			// Signed per request, as an SDK signs: the client's cost is
			// part of what a caller of either route waits for.
			access.SignV4(r, body, s.id, s.secret, "us-east-1", "machinelearning", time.Now())
		})
	})
	b.Run("aml-presigned", func(b *testing.B) {
		// One signature for the run: the server's cost alone.
		body, _ := json.Marshal(map[string]any{"MLModelId": "ml", "Record": record, "PredictEndpoint": ts.URL})
		signed, _ := http.NewRequest("POST", ts.URL+"/", nil)
		signed.Header.Set("Content-Type", aml.ContentType)
		signed.Header.Set("X-Amz-Target", aml.TargetPrefix+"Predict")
		access.SignV4(signed, body, s.id, s.secret, "us-east-1", "machinelearning", time.Now())
		run(b, body, func(r *http.Request) { r.Header = signed.Header.Clone() })
	})
}
