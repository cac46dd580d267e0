package aml_test

import (
	"cmp"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch/internal/testdb"
)

// normalized is an answer with the members that vary between runs
// (times, sizes, metric values) replaced by placeholders, as canonical
// JSON, so that a test can hold the rest of a shape exactly.
func normalized(t *testing.T, v map[string]any) string {
	t.Helper()
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for k, x := range m {
			switch k {
			case "CreatedAt", "LastUpdatedAt", "StartedAt", "FinishedAt", "ScoreThresholdLastUpdatedAt":
				m[k] = "<time>"
			case "ComputeTime", "SizeInBytes", "DataSizeInBytes":
				m[k] = "<n>"
			case "BinaryAUC":
				m[k] = "<v>"
			}
			if sub, ok := x.(map[string]any); ok {
				walk(sub)
			}
		}
	}
	walk(v)
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

// TestShapes creates every kind as two callers (the root pair and a pair
// of a user "ann") over two data locations, then checks the members that
// record them (CreatedByIamUser, InputDataLocationS3), the Get* outputs'
// LogUri and ScoreThresholdLastUpdatedAt as exact shapes, and the
// Describe filters on IAMUser, TrainingDataURI and DataURI with every
// comparator and with several comparators at once.
func TestShapes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := newServer(t, dsn)
		id, secret, _, err := s.svc.CreateAWSKey(context.Background(), "ann", adminPolicy())
		if err != nil {
			t.Fatal(err)
		}
		ann := *s
		ann.id, ann.secret = id, secret
		const (
			root   = "arn:aws:iam::000000000000:root"
			annARN = "arn:aws:iam::000000000000:user/ann"
			locA   = "s3://bucket/a/data.csv"
			locB   = "s3://bucket/b/data.csv"
		)
		s.put(t, locA, smallCSV(200))
		s.put(t, locB, smallCSV(100))
		by := map[string]*server{"a": s, "b": &ann}
		for _, x := range []string{"a", "b"} {
			by[x].must(t, "CreateDataSourceFromS3", map[string]any{"DataSourceId": "ds-" + x, "DataSourceName": "data " + x,
				"DataSpec": map[string]any{"DataLocationS3": "s3://bucket/" + x + "/data.csv", "DataSchema": smallSchema}}, nil)
			time.Sleep(5 * time.Millisecond) // CreatedAt a millisecond apart at least
		}
		for _, x := range []string{"a", "b"} {
			by[x].must(t, "CreateMLModel", map[string]any{"MLModelId": "ml-" + x, "MLModelName": "model " + x, "MLModelType": "BINARY",
				"TrainingDataSourceId": "ds-" + x, "Parameters": map[string]string{"sgd.maxPasses": "1"}}, nil)
		}
		other := map[string]string{"a": "b", "b": "a"}
		for _, x := range []string{"a", "b"} {
			by[x].must(t, "CreateEvaluation", map[string]any{"EvaluationId": "ev-" + x, "EvaluationName": "evaluation " + x,
				"MLModelId": "ml-" + x, "EvaluationDataSourceId": "ds-" + other[x]}, nil)
			by[x].must(t, "CreateBatchPrediction", map[string]any{"BatchPredictionId": "bp-" + x, "BatchPredictionName": "batch " + x,
				"MLModelId": "ml-" + x, "BatchPredictionDataSourceId": "ds-" + other[x], "OutputUri": "s3://bucket/out/"}, nil)
		}
		s.wait(t, "DescribeEvaluations", "Name", "evaluation a")
		s.wait(t, "DescribeEvaluations", "Name", "evaluation b")
		s.wait(t, "DescribeBatchPredictions", "Name", "batch a")
		s.wait(t, "DescribeBatchPredictions", "Name", "batch b")
		before := float64(time.Now().UnixMilli()) / 1000
		s.must(t, "UpdateMLModel", map[string]any{"MLModelId": "ml-a", "ScoreThreshold": 0.3}, nil)
		after := float64(time.Now().UnixMilli()) / 1000

		get := func(op string, in map[string]any) map[string]any {
			var out map[string]any
			s.must(t, op, in, &out)
			return out
		}
		m := get("GetMLModel", map[string]any{"MLModelId": "ml-a"})
		if at, ok := m["ScoreThresholdLastUpdatedAt"].(float64); !ok || at < before-0.001 || at > after+0.001 {
			t.Errorf("ScoreThresholdLastUpdatedAt %v, want within [%v, %v]", m["ScoreThresholdLastUpdatedAt"], before, after)
		}
		dsA := get("GetDataSource", map[string]any{"DataSourceId": "ds-a"})

		for _, c := range []struct {
			name string
			got  map[string]any
			want string
		}{
			{"GetDataSource ds-b", get("GetDataSource", map[string]any{"DataSourceId": "ds-b"}),
				`{"ComputeStatistics":false,"ComputeTime":"<n>","CreatedAt":"<time>","CreatedByIamUser":"` + annARN + `","DataLocationS3":"` + locB +
					`","DataSizeInBytes":"<n>","DataSourceId":"ds-b","FinishedAt":"<time>","LastUpdatedAt":"<time>","LogUri":"` + s.url + `/v1/datasources/ds-b",` +
					`"Name":"data b","NumberOfFiles":1,"StartedAt":"<time>","Status":"COMPLETED"}`},
			{"GetMLModel ml-a", m,
				`{"ComputeTime":"<n>","CreatedAt":"<time>","CreatedByIamUser":"` + root + `","EndpointInfo":{"EndpointStatus":"NONE","PeakRequestsPerSecond":0},` +
					`"FinishedAt":"<time>","InputDataLocationS3":"` + locA + `","LastUpdatedAt":"<time>","LogUri":"` + s.url + `/v1/models/ml-a",` +
					`"MLModelId":"ml-a","MLModelType":"BINARY","Name":"model a","ScoreThreshold":0.3,"ScoreThresholdLastUpdatedAt":"<time>","SizeInBytes":"<n>",` +
					`"StartedAt":"<time>","Status":"COMPLETED","TrainingDataSourceId":"ds-a","TrainingParameters":{"algorithm":"sgd","sgd.maxPasses":"1"}}`},
			{"GetMLModel ml-b, threshold never set", get("GetMLModel", map[string]any{"MLModelId": "ml-b"}),
				`{"ComputeTime":"<n>","CreatedAt":"<time>","CreatedByIamUser":"` + annARN + `","EndpointInfo":{"EndpointStatus":"NONE","PeakRequestsPerSecond":0},` +
					`"FinishedAt":"<time>","InputDataLocationS3":"` + locB + `","LastUpdatedAt":"<time>","LogUri":"` + s.url + `/v1/models/ml-b",` +
					`"MLModelId":"ml-b","MLModelType":"BINARY","Name":"model b","ScoreThreshold":0.5,"SizeInBytes":"<n>",` +
					`"StartedAt":"<time>","Status":"COMPLETED","TrainingDataSourceId":"ds-b","TrainingParameters":{"algorithm":"sgd","sgd.maxPasses":"1"}}`},
			{"GetEvaluation ev-a", get("GetEvaluation", map[string]any{"EvaluationId": "ev-a"}),
				`{"ComputeTime":"<n>","CreatedAt":"<time>","CreatedByIamUser":"` + root + `","EvaluationDataSourceId":"ds-b","EvaluationId":"ev-a",` +
					`"FinishedAt":"<time>","InputDataLocationS3":"` + locB + `","LastUpdatedAt":"<time>","LogUri":"` + s.url + `/v1/evaluations/ev-a",` +
					`"MLModelId":"ml-a","Name":"evaluation a","PerformanceMetrics":{"Properties":{"BinaryAUC":"<v>"}},"StartedAt":"<time>","Status":"COMPLETED"}`},
			{"GetBatchPrediction bp-b", get("GetBatchPrediction", map[string]any{"BatchPredictionId": "bp-b"}),
				`{"BatchPredictionDataSourceId":"ds-a","BatchPredictionId":"bp-b","ComputeTime":"<n>","CreatedAt":"<time>","CreatedByIamUser":"` + annARN + `",` +
					`"FinishedAt":"<time>","InputDataLocationS3":"` + locA + `","InvalidRecordCount":0,"LastUpdatedAt":"<time>","LogUri":"` + s.url + `/v1/batchpredictions/bp-b",` +
					`"MLModelId":"ml-b","Name":"batch b","OutputUri":"s3://bucket/out/","StartedAt":"<time>","Status":"COMPLETED","TotalRecordCount":200}`},
			{"DescribeMLModels: Algorithm, no LogUri", func() map[string]any {
				var out struct{ Results []map[string]any }
				s.must(t, "DescribeMLModels", map[string]any{"FilterVariable": "IAMUser", "EQ": annARN}, &out)
				if len(out.Results) != 1 {
					t.Fatalf("DescribeMLModels IAMUser %s: %v", annARN, out.Results)
				}
				return out.Results[0]
			}(),
				`{"Algorithm":"sgd","ComputeTime":"<n>","CreatedAt":"<time>","CreatedByIamUser":"` + annARN + `","EndpointInfo":{"EndpointStatus":"NONE","PeakRequestsPerSecond":0},` +
					`"FinishedAt":"<time>","InputDataLocationS3":"` + locB + `","LastUpdatedAt":"<time>",` +
					`"MLModelId":"ml-b","MLModelType":"BINARY","Name":"model b","ScoreThreshold":0.5,"SizeInBytes":"<n>",` +
					`"StartedAt":"<time>","Status":"COMPLETED","TrainingDataSourceId":"ds-b","TrainingParameters":{"algorithm":"sgd","sgd.maxPasses":"1"}}`},
		} {
			if got := normalized(t, c.got); got != c.want {
				t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
			}
		}

		createdA := dsA["CreatedAt"].(float64)
		epoch := func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
		for _, c := range []struct {
			op   string
			in   map[string]any
			want string // ids in order, or an error type
		}{
			{"DescribeDataSources", map[string]any{"FilterVariable": "IAMUser", "EQ": root}, "ds-a"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "IAMUser", "NE": root}, "ds-b"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "IAMUser", "Prefix": "arn:aws:iam::000000000000:user/"}, "ds-b"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "IAMUser", "GT": root}, "ds-b"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "IAMUser", "LE": root, "SortOrder": "dsc"}, "ds-a"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "IAMUser", "EQ": ""}, ""},
			{"DescribeMLModels", map[string]any{"FilterVariable": "IAMUser", "GE": root, "SortOrder": "dsc"}, "ml-b,ml-a"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "IAMUser", "LT": annARN}, "ml-a"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "EQ": locA}, "ml-a"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "NE": locA}, "ml-b"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "GT": locA}, "ml-b"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "GE": locA, "SortOrder": "dsc"}, "ml-b,ml-a"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "LT": locB}, "ml-a"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "LE": locB}, "ml-a,ml-b"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "TrainingDataURI", "Prefix": "s3://bucket/b/"}, "ml-b"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "DataURI", "EQ": locB}, "ev-a"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "DataURI", "LT": "s3://bucket/b"}, "ev-b"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "DataURI", "Prefix": "s3://bucket/"}, "ev-b,ev-a"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "IAMUser", "GE": annARN}, "ev-b"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "IAMUser", "NE": annARN}, "ev-a"},
			{"DescribeBatchPredictions", map[string]any{"FilterVariable": "DataURI", "LE": locA}, "bp-b"},
			{"DescribeBatchPredictions", map[string]any{"FilterVariable": "DataURI", "GE": locA, "SortOrder": "dsc"}, "bp-a,bp-b"},
			{"DescribeBatchPredictions", map[string]any{"FilterVariable": "DataURI", "NE": locA}, "bp-a"},
			{"DescribeBatchPredictions", map[string]any{"FilterVariable": "IAMUser", "LT": annARN}, "bp-a"},
			{"DescribeBatchPredictions", map[string]any{"FilterVariable": "IAMUser", "Prefix": "arn:aws:iam::000000000000:"}, "bp-a,bp-b"},
			// Several comparators: all of them apply.
			{"DescribeDataSources", map[string]any{"FilterVariable": "CreatedAt", "GE": epoch(createdA), "LT": epoch(createdA + 0.001)}, "ds-a"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "CreatedAt", "GE": epoch(createdA + 0.001), "LE": epoch(createdA + 3600)}, "ds-b"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "Name", "GE": "model a", "LT": "model b"}, "ml-a"},
			{"DescribeMLModels", map[string]any{"FilterVariable": "Name", "Prefix": "model", "NE": "model a", "GT": "a"}, "ml-b"},
			{"DescribeBatchPredictions", map[string]any{"FilterVariable": "DataURI", "Prefix": "s3://bucket/", "NE": locA}, "bp-a"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "Status", "EQ": "COMPLETED", "NE": "COMPLETED"}, ""},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "CreatedAt", "GT": "0", "LT": "tomorrow"}, "InvalidInputException"},
			{"DescribeEvaluations", map[string]any{"GT": "0", "LT": "1"}, "InvalidInputException"},
			{"DescribeDataSources", map[string]any{"FilterVariable": "DataURI", "EQ": locA}, "InvalidInputException"},
			{"DescribeEvaluations", map[string]any{"FilterVariable": "TrainingDataURI", "EQ": locA}, "InvalidInputException"},
		} {
			var out struct {
				Results []struct {
					DataSourceID      string `json:"DataSourceId"`
					MLModelID         string `json:"MLModelId"`
					EvaluationID      string `json:"EvaluationId"`
					BatchPredictionID string `json:"BatchPredictionId"`
				}
			}
			typ, msg := s.call(t, c.op, c.in, &out)
			got := typ
			if typ == "" {
				var ids []string
				for _, r := range out.Results {
					ids = append(ids, cmp.Or(r.BatchPredictionID, r.EvaluationID, r.MLModelID, r.DataSourceID))
				}
				got = strings.Join(ids, ",")
			}
			if got != c.want {
				t.Errorf("%s %v: %s %s; want %s", c.op, c.in, got, msg, c.want)
			}
		}
	})
}
