package aml_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch/aml"
	"github.com/perchml/perch/internal/testdb"
)

func redshiftInput(id, query string) map[string]any {
	return map[string]any{
		"DataSourceId": id, "DataSourceName": id, "RoleARN": "arn:aws:iam::123456789012:role/ml", "ComputeStatistics": true,
		"DataSpec": map[string]any{
			"DatabaseInformation": map[string]string{"ClusterIdentifier": "cluster", "DatabaseName": "test"},
			"SelectSqlQuery":      query,
			"DatabaseCredentials": map[string]string{"Username": "postgres", "Password": "password1"},
			"S3StagingLocation":   "s3://bucket/staging/",
		},
	}
}

// TestRedshift makes data sources of a query's rows on PostgreSQL, which
// speaks Redshift's protocol: the rows are staged as CSV at
// S3StagingLocation and the data source reads them, through Redshift's
// and RDS's calls alike.
func TestRedshift(t *testing.T) {
	dsn := testdb.Postgres(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE points (x double precision, color text, y int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO points SELECT (i % 100) / 10.0, (ARRAY['red','green','blue'])[i % 3 + 1], CASE WHEN i % 100 > 50 THEN 1 ELSE 0 END FROM generate_series(1, 300) i`); err != nil {
		t.Fatal(err)
	}
	// The configured URL has no credentials: the request brings them.
	s := newServer(t, testdb.SQLite(t), aml.Options{Databases: map[string]string{"cluster/test": dsn, "instance": dsn}})

	in := redshiftInput("ds-redshift", "SELECT x, color, y FROM points ORDER BY x")
	s.must(t, "CreateDataSourceFromRedshift", in, nil)
	s.must(t, "CreateDataSourceFromRedshift", in, nil) // idempotent, without querying again
	s.wait(t, "DescribeDataSources", "Name", "ds-redshift")
	var ds struct {
		DataLocationS3   string
		DataSourceSchema string
	}
	s.must(t, "GetDataSource", map[string]any{"DataSourceId": "ds-redshift", "Verbose": true}, &ds)
	if ds.DataLocationS3 != "s3://bucket/staging/ds-redshift.csv" || !strings.Contains(ds.DataSourceSchema, `"attributeName":"color"`) {
		t.Errorf("GetDataSource: %+v", ds)
	}
	staged, err := os.ReadFile(filepath.Join(s.dir, "objects", "bucket", "staging", "ds-redshift.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(staged)), "\n"); len(lines) != 301 || lines[0] != "x,color,y" {
		t.Errorf("staged %d lines, header %q", len(lines), lines[0])
	}

	rds := map[string]any{
		"DataSourceId": "ds-rds", "DataSourceName": "ds-rds", "RoleARN": "arn:aws:iam::123456789012:role/ml",
		"RDSData": map[string]any{
			"DatabaseInformation": map[string]string{"InstanceIdentifier": "instance", "DatabaseName": "test"},
			"SelectSqlQuery":      "SELECT x, y FROM points WHERE color = 'red'",
			"DatabaseCredentials": map[string]string{"Username": "postgres", "Password": "password1"},
			"S3StagingLocation":   "s3://bucket/staging",
			"ResourceRole":        "DataPipelineDefaultResourceRole", "ServiceRole": "DataPipelineDefaultRole",
			"SubnetId": "subnet-1", "SecurityGroupIds": []string{"sg-1"},
			"DataSchema": `{"version":"1.0","targetAttributeName":"y","dataFormat":"CSV","dataFileContainsHeader":true,
				"attributes":[{"attributeName":"x","attributeType":"NUMERIC"},{"attributeName":"y","attributeType":"BINARY"}]}`,
		},
	}
	s.must(t, "CreateDataSourceFromRDS", rds, nil)
	s.wait(t, "DescribeDataSources", "Name", "ds-rds")

	s.wantError(t, "InvalidInputException", "SelectSqlQuery", "CreateDataSourceFromRedshift", redshiftInput("ds-bad", "SELECT nope FROM points"))
	other := redshiftInput("ds-other", "select 1")
	other["DataSpec"].(map[string]any)["DatabaseInformation"] = map[string]string{"ClusterIdentifier": "elsewhere", "DatabaseName": "test"}
	s.wantError(t, "InvalidInputException", "no database is configured", "CreateDataSourceFromRedshift", other)
	s.wantError(t, "IdempotentParameterMismatchException", "", "CreateDataSourceFromRedshift", func() map[string]any {
		in := redshiftInput("ds-redshift", "SELECT x, color, y FROM points ORDER BY x")
		in["ComputeStatistics"] = false
		return in
	}())
}
