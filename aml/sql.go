package aml

import (
	"context"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/service"
)

// CreateDataSourceFromRedshift and FromRDS read a query's rows from a
// database the server's configuration names (Options.Databases), with
// the request's credentials, and stage them at S3StagingLocation as AML
// did; the data source then reads the staged CSV. perch reads PostgreSQL
// and Redshift (which speaks PostgreSQL's protocol).

var (
	clusterPattern = regexp.MustCompile(`^[a-z0-9-]+$`)
	redshiftDB     = regexp.MustCompile(`^[a-z0-9]+$`)
)

type credentials struct {
	Username string
	Password string
}

type sqlSpec struct {
	SelectSqlQuery      string
	DatabaseCredentials *credentials
	S3StagingLocation   string
	DataRearrangement   string
	DataSchema          string
	DataSchemaURI       string `json:"DataSchemaUri"`
}

type createDataSourceFromRedshiftInput struct {
	DataSourceID   string `json:"DataSourceId"`
	DataSourceName string
	DataSpec       *struct {
		DatabaseInformation *struct{ DatabaseName, ClusterIdentifier string }
		sqlSpec
	}
	RoleARN           string
	ComputeStatistics bool
}

type createDataSourceFromRDSInput struct {
	DataSourceID   string `json:"DataSourceId"`
	DataSourceName string
	RDSData        *struct {
		DatabaseInformation *struct{ InstanceIdentifier, DatabaseName string }
		sqlSpec
		ResourceRole, ServiceRole, SubnetId string
		SecurityGroupIds                    []string
	}
	RoleARN           string
	ComputeStatistics bool
}

func createDataSourceFromRedshift(ctx context.Context, h *handler, in *createDataSourceFromRedshiftInput) (any, error) {
	var c checks
	c.id("DataSourceId", in.DataSourceID)
	c.name("DataSourceName", in.DataSourceName)
	if c.required("RoleARN", in.RoleARN) {
		c.length("RoleARN", in.RoleARN, 1, 110)
	}
	if in.DataSpec == nil || in.DataSpec.DatabaseInformation == nil {
		c.fail("DataSpec.DatabaseInformation: required")
		return nil, c.err
	}
	info := in.DataSpec.DatabaseInformation
	if c.required("DataSpec.DatabaseInformation.ClusterIdentifier", info.ClusterIdentifier) {
		c.length("DataSpec.DatabaseInformation.ClusterIdentifier", info.ClusterIdentifier, 1, 63)
		if !clusterPattern.MatchString(info.ClusterIdentifier) {
			c.fail("DataSpec.DatabaseInformation.ClusterIdentifier %q: want lower-case letters, digits and '-'", info.ClusterIdentifier)
		}
	}
	if c.required("DataSpec.DatabaseInformation.DatabaseName", info.DatabaseName) {
		c.length("DataSpec.DatabaseInformation.DatabaseName", info.DatabaseName, 1, 64)
		if !redshiftDB.MatchString(info.DatabaseName) {
			c.fail("DataSpec.DatabaseInformation.DatabaseName %q: want lower-case letters and digits", info.DatabaseName)
		}
	}
	c.sqlSpec("DataSpec", &in.DataSpec.sqlSpec, 64)
	if c.err != nil {
		return nil, c.err
	}
	return h.createFromSQL(ctx, "Redshift cluster", in.DataSourceID, in.DataSourceName, in.ComputeStatistics, &in.DataSpec.sqlSpec, &perch.DatabaseSource{
		Engine: "redshift", Identifier: info.ClusterIdentifier, DatabaseName: info.DatabaseName, RoleARN: in.RoleARN,
	})
}

func createDataSourceFromRDS(ctx context.Context, h *handler, in *createDataSourceFromRDSInput) (any, error) {
	var c checks
	c.id("DataSourceId", in.DataSourceID)
	c.name("DataSourceName", in.DataSourceName)
	if c.required("RoleARN", in.RoleARN) {
		c.length("RoleARN", in.RoleARN, 1, 110)
	}
	if in.RDSData == nil || in.RDSData.DatabaseInformation == nil {
		c.fail("RDSData.DatabaseInformation: required")
		return nil, c.err
	}
	d := in.RDSData
	info := d.DatabaseInformation
	if c.required("RDSData.DatabaseInformation.InstanceIdentifier", info.InstanceIdentifier) {
		c.length("RDSData.DatabaseInformation.InstanceIdentifier", info.InstanceIdentifier, 1, 63)
		if !clusterPattern.MatchString(info.InstanceIdentifier) {
			c.fail("RDSData.DatabaseInformation.InstanceIdentifier %q: want lower-case letters, digits and '-'", info.InstanceIdentifier)
		}
	}
	if c.required("RDSData.DatabaseInformation.DatabaseName", info.DatabaseName) {
		c.length("RDSData.DatabaseInformation.DatabaseName", info.DatabaseName, 1, 64)
	}
	for _, f := range []struct{ name, v string }{{"ResourceRole", d.ResourceRole}, {"ServiceRole", d.ServiceRole}} {
		if c.required("RDSData."+f.name, f.v) {
			c.length("RDSData."+f.name, f.v, 1, 64)
		}
	}
	if c.required("RDSData.SubnetId", d.SubnetId) {
		c.length("RDSData.SubnetId", d.SubnetId, 1, 255)
	}
	if d.SecurityGroupIds == nil {
		c.fail("RDSData.SecurityGroupIds: required")
	}
	for _, g := range d.SecurityGroupIds {
		c.length("RDSData.SecurityGroupIds", g, 1, 255)
	}
	c.sqlSpec("RDSData", &d.sqlSpec, 128)
	if c.err != nil {
		return nil, c.err
	}
	return h.createFromSQL(ctx, "RDS instance", in.DataSourceID, in.DataSourceName, in.ComputeStatistics, &d.sqlSpec, &perch.DatabaseSource{
		Engine: "rds", Identifier: info.InstanceIdentifier, DatabaseName: info.DatabaseName, RoleARN: in.RoleARN,
		ResourceRole: d.ResourceRole, ServiceRole: d.ServiceRole,
	})
}

// sqlSpec checks what the two database specs share.
func (c *checks) sqlSpec(member string, s *sqlSpec, maxPassword int) {
	if c.required(member+".SelectSqlQuery", s.SelectSqlQuery) {
		c.length(member+".SelectSqlQuery", s.SelectSqlQuery, 1, 16777216)
	}
	if s.DatabaseCredentials == nil {
		c.fail("%s.DatabaseCredentials: required", member)
	} else {
		if c.required(member+".DatabaseCredentials.Username", s.DatabaseCredentials.Username) {
			c.length(member+".DatabaseCredentials.Username", s.DatabaseCredentials.Username, 1, 128)
		}
		if c.required(member+".DatabaseCredentials.Password", s.DatabaseCredentials.Password) {
			c.length(member+".DatabaseCredentials.Password", s.DatabaseCredentials.Password, 8, maxPassword)
		}
	}
	if c.required(member+".S3StagingLocation", s.S3StagingLocation) {
		c.s3(member+".S3StagingLocation", s.S3StagingLocation)
	}
	c.document(member+".DataSchema", s.DataSchema)
	if s.DataSchemaURI != "" {
		c.s3(member+".DataSchemaUri", s.DataSchemaURI)
		if s.DataSchema != "" {
			c.fail("%s: give DataSchema or DataSchemaUri, not both", member)
		}
	}
}

// createFromSQL stages a query's rows and makes a data source of them; db
// names the database, and is recorded with the user name and query (never
// the password) for RDSMetadata and RedshiftMetadata.
func (h *handler) createFromSQL(ctx context.Context, what, id, name string, stats bool, spec *sqlSpec, db *perch.DatabaseSource) (any, error) {
	ident, database := db.Identifier, db.DatabaseName
	db.UserName, db.Query = spec.DatabaseCredentials.Username, spec.SelectSqlQuery
	base, ok := h.dbs[ident+"/"+database]
	if !ok {
		base, ok = h.dbs[ident]
	}
	if !ok {
		return nil, invalid("no database is configured for %s %q (database %q): the server maps DatabaseInformation to connection URLs in its configuration. "+
			"Otherwise export the query's rows as CSV to s3://bucket/key (the server's object store) and call CreateDataSourceFromS3", what, ident, database)
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, invalid("the database configured for %s %q is not a URL", what, ident)
	}
	u.User = url.UserPassword(spec.DatabaseCredentials.Username, spec.DatabaseCredentials.Password)
	if u.Path == "" || u.Path == "/" {
		u.Path = "/" + database
	}
	staged, err := h.svc.S3Key(strings.TrimSuffix(spec.S3StagingLocation, "/") + "/" + id + ".csv")
	if err != nil {
		return nil, invalid("S3StagingLocation: %v", err)
	}
	schema, err := h.schema(ctx, spec.DataSchema, spec.DataSchemaURI, "DataSchemaUri")
	if err != nil {
		return nil, err
	}
	d, err := h.svc.CreateDataSourceFromSQL(ctx, service.DataSourceInput{
		ID:                id,
		Name:              name,
		Schema:            schema,
		Rearrangement:     spec.DataRearrangement,
		ComputeStatistics: stats,
		Database:          db,
	}, service.SQLSource{URL: u.String(), Query: spec.SelectSqlQuery, Staging: path.Dir(staged)})
	if err != nil {
		return nil, err
	}
	return map[string]string{"DataSourceId": d.ID}, nil
}

// schema reads a DataSchema given inline or at an s3:// location; nil
// when neither is given (the schema is then inferred).
func (h *handler) schema(ctx context.Context, inline, at, atMember string) (*perch.Schema, error) {
	text := []byte(inline)
	if at != "" {
		var err error
		if text, err = h.svc.ReadS3(ctx, at); err != nil {
			return nil, invalid("%s: %v", atMember, err)
		}
	}
	if len(text) == 0 {
		return nil, nil
	}
	s, err := data.ParseSchema(text)
	if err != nil {
		return nil, invalid("DataSchema: %v", trimPrefix(err))
	}
	return s, nil
}
