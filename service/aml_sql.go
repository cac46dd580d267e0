package service

import (
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/perchml/perch"
)

// SQLSource is a query whose rows a data source is made of, as AML's
// CreateDataSourceFromRedshift and FromRDS make one: the rows are staged
// as CSV in the object store, and the data source reads them from there.
type SQLSource struct {
	// URL is the database's, credentials included:
	// postgres://user:password@host:5432/db (PostgreSQL, and Redshift,
	// which speaks its protocol) or mysql://user:password@host:3306/db
	// (MySQL and MariaDB, what AML's RDS data sources read).
	URL   string
	Query string
	// Staging is where the rows are written, an object key prefix; the
	// file is <Staging>/<data source id>.csv.
	Staging string
}

// CreateDataSourceFromSQL runs a query and makes a data source of its
// rows, staged as a CSV file with a header (unless in.Schema says the
// file has none). The query runs now, before this returns: the data source
// job then reads the staged file like any other. It is idempotent as
// AML's Create calls are: an existing id with the same parameters is
// answered without running the query again.
func (s *Service) CreateDataSourceFromSQL(ctx context.Context, in DataSourceInput, src SQLSource) (*perch.DataSource, error) {
	if in.ID == "" {
		return nil, perch.Errorf(perch.EInvalid, "DataSourceId: required")
	}
	action := perch.Action("machinelearning:CreateDataSourceFromRDS")
	if in.Database != nil && in.Database.Engine == "redshift" {
		action = "machinelearning:CreateDataSourceFromRedshift"
	}
	if err := s.authorize(ctx, action, perch.Resource(perch.KindDataSource, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	// The rows are staged as an object the data source then reads: the
	// action above is the whole of what the caller asked.
	ctx = decided(ctx)
	if strings.TrimSpace(src.Query) == "" {
		return nil, perch.Errorf(perch.EInvalid, "SelectSqlQuery: required")
	}
	in.DataURL = strings.TrimSuffix(src.Staging, "/") + "/" + in.ID + ".csv"
	// Staged rows must not land among perch's own files, which clients
	// cannot write otherwise.
	if ownKey(in.DataURL) {
		return nil, perch.Errorf(perch.EForbidden, "S3StagingLocation: .perch/ holds perch's own files")
	}
	if _, err := s.store.GetDataSource(ctx, in.ID); err == nil {
		return s.CreateDataSourceOnce(ctx, in) // compares, as the entity exists
	} else if perch.Code(err) != perch.ENotFound {
		return nil, err
	}
	driver, dsn, err := sqlDSN(src.URL)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "database: %v", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, src.Query)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "SelectSqlQuery: %v", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "SelectSqlQuery: %v", err)
	}
	header := in.Schema == nil || in.Schema.DataFileContainsHeader
	pr, pw := io.Pipe()
	go func() {
		w := csv.NewWriter(pw)
		if header {
			w.Write(cols)
		}
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		rec := make([]string, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				pw.CloseWithError(perch.Errorf(perch.EInvalid, "SelectSqlQuery: %v", err))
				return
			}
			for i, v := range vals {
				rec[i] = v.String // NULL is a missing value
			}
			w.Write(rec)
		}
		w.Flush()
		err := w.Error()
		if err == nil && rows.Err() != nil {
			err = perch.Errorf(perch.EInvalid, "SelectSqlQuery: %v", rows.Err())
		}
		pw.CloseWithError(err)
	}()
	if err := s.objects.Write(ctx, in.DataURL, pr, "text/csv"); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	return s.CreateDataSourceOnce(ctx, in)
}

// sqlDSN turns a database URL into a driver and its data source name.
func sqlDSN(raw string) (driver, dsn string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", perch.Errorf(perch.EInvalid, "database: the configured URL does not parse")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return "pgx", raw, nil
	case "mysql", "mariadb":
		c := mysql.NewConfig()
		c.Net, c.Addr, c.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		if u.Port() == "" {
			c.Addr = u.Hostname() + ":3306"
		}
		if u.User != nil {
			c.User = u.User.Username()
			c.Passwd, _ = u.User.Password()
		}
		for k, v := range u.Query() {
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			c.Params[k] = v[0]
		}
		return "mysql", c.FormatDSN(), nil
	}
	return "", "", perch.Errorf(perch.EInvalid, "database: perch reads PostgreSQL, Redshift, MySQL and MariaDB; the configured URL is %s://", u.Scheme)
}
