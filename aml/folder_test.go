package aml_test

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/perchml/perch/internal/testdb"
)

// TestFolder reads a data location that names a folder of files, as
// AML's DataLocationS3 could: the files in key order (a gzipped one
// among them, hidden ones left out), each file's repeated header skipped.
func TestFolder(t *testing.T) {
	s := newServer(t, testdb.SQLite(t))
	all := smallCSV(300)
	lines := bytes.SplitAfter(all, []byte("\n"))
	header, rows := lines[0], lines[1:len(lines)-1]
	part := func(rs [][]byte) []byte { return append(append([]byte{}, header...), bytes.Join(rs, nil)...) }
	s.put(t, "s3://bucket/parts/a.csv", part(rows[:100]))
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(part(rows[100:200]))
	w.Close()
	s.put(t, "s3://bucket/parts/b.csv.gz", z.Bytes())
	last := part(rows[200:])
	s.put(t, "s3://bucket/parts/c.csv", last[:len(last)-1]) // no newline at the end
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
	if ds.DataLocationS3 != "s3://bucket/parts" || ds.NumberOfFiles != 3 || ds.DataSizeInBytes == 0 {
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
	}
	s.must(t, "GetBatchPrediction", map[string]any{"BatchPredictionId": "bp-parts"}, &bp)
	if bp.TotalRecordCount != 300 || bp.InvalidRecordCount != 0 {
		t.Errorf("batch over the folder: %+v; want 300 records", bp)
	}
}
