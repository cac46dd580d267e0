package aml_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		"DataSourceId": "ds-rds", "DataSourceName": "ds-rds", "RoleARN": "arn:aws:iam::123456789012:role/ml2",
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

	// What the data sources were queried from, as AML showed it: the
	// Redshift query only with Verbose, never a password.
	meta := func(op string, in map[string]any, member string) string {
		var out map[string]any
		s.must(t, op, in, &out)
		if op == "DescribeDataSources" {
			out = out["Results"].([]any)[0].(map[string]any)
		}
		b, _ := json.Marshal(map[string]any{"RoleARN": out["RoleARN"], member: out[member], "other": out["RDSMetadata"] != nil && out["RedshiftMetadata"] != nil})
		return string(b)
	}
	for _, c := range []struct {
		op     string
		in     map[string]any
		member string
		want   string
	}{
		{"GetDataSource", map[string]any{"DataSourceId": "ds-redshift", "Verbose": true}, "RedshiftMetadata",
			`{"RedshiftMetadata":{"DatabaseUserName":"postgres","RedshiftDatabase":{"ClusterIdentifier":"cluster","DatabaseName":"test"},"SelectSqlQuery":"SELECT x, color, y FROM points ORDER BY x"},"RoleARN":"arn:aws:iam::123456789012:role/ml","other":false}`},
		{"GetDataSource", map[string]any{"DataSourceId": "ds-redshift"}, "RedshiftMetadata",
			`{"RedshiftMetadata":{"DatabaseUserName":"postgres","RedshiftDatabase":{"ClusterIdentifier":"cluster","DatabaseName":"test"}},"RoleARN":"arn:aws:iam::123456789012:role/ml","other":false}`},
		{"DescribeDataSources", map[string]any{"FilterVariable": "Name", "EQ": "ds-redshift"}, "RedshiftMetadata",
			`{"RedshiftMetadata":{"DatabaseUserName":"postgres","RedshiftDatabase":{"ClusterIdentifier":"cluster","DatabaseName":"test"}},"RoleARN":"arn:aws:iam::123456789012:role/ml","other":false}`},
		{"GetDataSource", map[string]any{"DataSourceId": "ds-rds"}, "RDSMetadata",
			`{"RDSMetadata":{"Database":{"DatabaseName":"test","InstanceIdentifier":"instance"},"DatabaseUserName":"postgres","ResourceRole":"DataPipelineDefaultResourceRole","SelectSqlQuery":"SELECT x, y FROM points WHERE color = 'red'","ServiceRole":"DataPipelineDefaultRole"},"RoleARN":"arn:aws:iam::123456789012:role/ml2","other":false}`},
		{"DescribeDataSources", map[string]any{"FilterVariable": "Name", "EQ": "ds-rds"}, "RDSMetadata",
			`{"RDSMetadata":{"Database":{"DatabaseName":"test","InstanceIdentifier":"instance"},"DatabaseUserName":"postgres","ResourceRole":"DataPipelineDefaultResourceRole","SelectSqlQuery":"SELECT x, y FROM points WHERE color = 'red'","ServiceRole":"DataPipelineDefaultRole"},"RoleARN":"arn:aws:iam::123456789012:role/ml2","other":false}`},
		{"GetDataSource", map[string]any{"DataSourceId": "ds-redshift", "Verbose": true}, "RDSMetadata",
			`{"RDSMetadata":null,"RoleARN":"arn:aws:iam::123456789012:role/ml","other":false}`},
	} {
		if got := meta(c.op, c.in, c.member); got != c.want {
			t.Errorf("%s %v:\n got %s\nwant %s", c.op, c.in, got, c.want)
		}
	}
	for _, id := range []string{"ds-redshift", "ds-rds"} {
		d, err := s.svc.GetDataSource(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(d); strings.Contains(string(b), "password1") {
			t.Errorf("%s keeps the password: %s", id, b)
		}
	}
	s.wantError(t, "IdempotentParameterMismatchException", "query", "CreateDataSourceFromRedshift", redshiftInput("ds-redshift", "SELECT x, color, y FROM points"))

	s.wantError(t, "InvalidInputException", "SelectSqlQuery", "CreateDataSourceFromRedshift", redshiftInput("ds-bad", "SELECT nope FROM points"))
	perchOwn := redshiftInput("ds-own", "select 1")
	perchOwn["DataSpec"].(map[string]any)["S3StagingLocation"] = "s3://.perch/models/"
	s.wantError(t, "InvalidInputException", ".perch", "CreateDataSourceFromRedshift", perchOwn)
	other := redshiftInput("ds-other", "select 1")
	other["DataSpec"].(map[string]any)["DatabaseInformation"] = map[string]string{"ClusterIdentifier": "elsewhere", "DatabaseName": "test"}
	s.wantError(t, "InvalidInputException", "no database is configured", "CreateDataSourceFromRedshift", other)
	s.wantError(t, "IdempotentParameterMismatchException", "", "CreateDataSourceFromRedshift", func() map[string]any {
		in := redshiftInput("ds-redshift", "SELECT x, color, y FROM points ORDER BY x")
		in["ComputeStatistics"] = false
		return in
	}())
}

// mariaDB gives the test a database of its own on the local MySQL or
// MariaDB server, through the mysql client as the operating system's
// user, and a user with a password to reach it over TCP; it returns the
// database's URL without credentials, the user and the password. Without
// a server the test is skipped, unless in CI, where one must be there.
func mariaDB(t *testing.T) (base, user, password string) {
	t.Helper()
	name := fmt.Sprintf("perch_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	user, password = "perch_test", "perch-test-password"
	setup := fmt.Sprintf("CREATE DATABASE %[1]s; CREATE USER IF NOT EXISTS '%[2]s'@'127.0.0.1' IDENTIFIED BY '%[3]s'; "+
		"GRANT ALL ON %[1]s.* TO '%[2]s'@'127.0.0.1'; "+
		"CREATE TABLE %[1]s.points (x DOUBLE, color VARCHAR(10), y INT); "+
		"INSERT INTO %[1]s.points WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "+
		"SELECT (i %% 100) / 10, ELT(i %% 3 + 1, 'red', 'green', 'blue'), IF(i %% 100 > 50, 1, 0) FROM n;", name, user, password)
	if out, err := exec.Command("mysql", "-e", setup).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("no MySQL or MariaDB server to use through the mysql client: %v %s", err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg) // CI starts one
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("mysql", "-e", "DROP DATABASE "+name).Run() })
	return "mysql://127.0.0.1:3306/" + name, user, password
}

// TestRDSMySQL makes a data source of a query's rows on MySQL (MariaDB),
// what AML's RDS data sources read.
func TestRDSMySQL(t *testing.T) {
	base, user, password := mariaDB(t)
	s := newServer(t, testdb.SQLite(t), aml.Options{Databases: map[string]string{"mysql-instance": base}})
	in := map[string]any{
		"DataSourceId": "ds-mysql", "DataSourceName": "ds-mysql", "RoleARN": "arn:aws:iam::123456789012:role/ml", "ComputeStatistics": true,
		"RDSData": map[string]any{
			"DatabaseInformation": map[string]string{"InstanceIdentifier": "mysql-instance", "DatabaseName": "points"},
			"SelectSqlQuery":      "SELECT x, color, y FROM points ORDER BY x",
			"DatabaseCredentials": map[string]string{"Username": user, "Password": password},
			"S3StagingLocation":   "s3://bucket/staging/",
			"ResourceRole":        "DataPipelineDefaultResourceRole", "ServiceRole": "DataPipelineDefaultRole",
			"SubnetId": "subnet-1", "SecurityGroupIds": []string{"sg-1"},
		},
	}
	s.must(t, "CreateDataSourceFromRDS", in, nil)
	s.wait(t, "DescribeDataSources", "Name", "ds-mysql")
	staged, err := os.ReadFile(filepath.Join(s.dir, "objects", "bucket", "staging", "ds-mysql.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(staged)), "\n"); len(lines) != 301 || lines[0] != "x,color,y" {
		t.Errorf("staged %d lines, header %q", len(lines), lines[0])
	}
	in["RDSData"].(map[string]any)["DatabaseCredentials"] = map[string]string{"Username": user, "Password": "wrong-password"}
	in["DataSourceId"] = "ds-mysql-denied"
	s.wantError(t, "InvalidInputException", "SelectSqlQuery", "CreateDataSourceFromRDS", in)
}
