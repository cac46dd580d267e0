package aml_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch/internal/testdb"
)

// TestFolder reads a data location that names a folder of files, as
// AML's DataLocationS3 could: the files in key order (a gzipped one
// among them, one in a subfolder, hidden ones left out), each file's
// repeated header skipped. A batch prediction over it writes one result
// per file, as AML did, each listed in the manifest.
func TestFolder(t *testing.T) {
	s := newServer(t, testdb.SQLite(t))
	all := smallCSV(310)
	lines := bytes.SplitAfter(all, []byte("\n"))
	header, rows := lines[0], lines[1:len(lines)-1]
	part := func(rs [][]byte) []byte { return append(append([]byte{}, header...), bytes.Join(rs, nil)...) }
	s.put(t, "s3://bucket/parts/a.csv", part(rows[:100]))
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(part(rows[100:200]))
	w.Close()
	s.put(t, "s3://bucket/parts/b.csv.gz", z.Bytes())
	last := part(rows[200:300])
	s.put(t, "s3://bucket/parts/c.csv", last[:len(last)-1])              // no newline at the end
	s.put(t, "s3://bucket/parts/sub/d.csv", bytes.Join(rows[300:], nil)) // no header
	s.put(t, "s3://bucket/parts/.hidden", []byte("not,data\n"))

	s.must(t, "CreateDataSourceFromS3", map[string]any{"DataSourceId": "ds-parts", "DataSourceName": "parts", "ComputeStatistics": true,
		"DataSpec": map[string]any{"DataLocationS3": "s3://bucket/parts/", "DataSchema": smallSchema}}, nil)
	s.wait(t, "DescribeDataSources", "Name", "parts")
	var ds struct {
		DataLocationS3  string
		NumberOfFiles   int64
		DataSizeInBytes int64
	}
	s.must(t, "GetDataSource", map[string]any{"DataSourceId": "ds-parts"}, &ds)
	if ds.DataLocationS3 != "s3://bucket/parts" || ds.NumberOfFiles != 4 || ds.DataSizeInBytes == 0 {
		t.Errorf("GetDataSource: %+v", ds)
	}
	var byLoc struct{ Results []map[string]any }
	s.must(t, "DescribeDataSources", map[string]any{"FilterVariable": "DataLocationS3", "EQ": "s3://bucket/parts/"}, &byLoc)
	if len(byLoc.Results) != 1 {
		t.Errorf("DataLocationS3 EQ the folder: %v", byLoc.Results)
	}
	s.must(t, "CreateMLModel", map[string]any{"MLModelId": "ml-parts", "MLModelType": "BINARY", "TrainingDataSourceId": "ds-parts"}, nil)
	s.wait(t, "DescribeMLModels", "TrainingDataSourceId", "ds-parts")
	s.must(t, "CreateBatchPrediction", map[string]any{"BatchPredictionId": "bp-parts", "BatchPredictionName": "parts", "MLModelId": "ml-parts",
		"BatchPredictionDataSourceId": "ds-parts", "OutputUri": "s3://bucket/out/"}, nil)
	s.wait(t, "DescribeBatchPredictions", "Name", "parts")
	var bp struct {
		TotalRecordCount, InvalidRecordCount int64
		OutputURI                            string `json:"OutputUri"`
	}
	s.must(t, "GetBatchPrediction", map[string]any{"BatchPredictionId": "bp-parts"}, &bp)
	if bp.TotalRecordCount != 310 || bp.InvalidRecordCount != 0 || bp.OutputURI != "s3://bucket/out/" {
		t.Errorf("batch over the folder: %+v; want 310 records", bp)
	}
	manifest, err := os.ReadFile(filepath.Join(s.dir, "objects", "bucket", "out", "batch-prediction", "bp-parts.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	var entries map[string]string
	if err := json.Unmarshal(manifest, &entries); err != nil {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	want := map[string]string{
		"s3://bucket/parts/a.csv":     "s3://bucket/out/batch-prediction/result/bp-parts-a.csv.gz",
		"s3://bucket/parts/b.csv.gz":  "s3://bucket/out/batch-prediction/result/bp-parts-b.csv.gz",
		"s3://bucket/parts/c.csv":     "s3://bucket/out/batch-prediction/result/bp-parts-c.csv.gz",
		"s3://bucket/parts/sub/d.csv": "s3://bucket/out/batch-prediction/result/bp-parts-sub-d.csv.gz",
	}
	if !maps.Equal(entries, want) {
		t.Fatalf("manifest %s\nwant %v", manifest, want)
	}
	// Each result holds its file's records, in order, under the header.
	for in, span := range map[string][2]int{"a.csv": {0, 100}, "b.csv.gz": {100, 200}, "c.csv": {200, 300}, "sub/d.csv": {300, 310}} {
		result := entries["s3://bucket/parts/"+in]
		f, err := os.Open(filepath.Join(s.dir, "objects", filepath.FromSlash(strings.TrimPrefix(result, "s3://"))))
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(z)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		first, end := fmt.Sprintf(",r%d", span[0]), fmt.Sprintf(",r%d", span[1]-1)
		if lines[0] != "bestAnswer,score,trueLabel,tag" || len(lines) != span[1]-span[0]+1 ||
			!strings.HasSuffix(lines[1], first) || !strings.HasSuffix(lines[len(lines)-1], end) {
			t.Errorf("%s: %d lines, header %q, first %q, last %q; want records r%d to r%d", result, len(lines), lines[0], lines[1], lines[len(lines)-1], span[0], span[1]-1)
		}
	}
}
