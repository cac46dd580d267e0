package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/perchml/perch"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"           // driver "sqlite"
)

// sqlSink upserts results into a table keyed by (pipeline, source_key,
// source_version, source_row), so a batch written twice leaves one row
// per record.
type sqlSink struct {
	db       *sql.DB
	postgres bool
	table    string // quoted
	cols     []string
	perStmt  int // rows per INSERT
	stmt     *sql.Stmt
	layout   *Layout
	src      []any  // the source columns every row shares: pipeline, key, version
	wrote    bool   // a batch was written by this sink
	name     string // the table name unquoted
	args     []any
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// checkSQLSink checks a SQL sink's definition without connecting.
func checkSQLSink(s *perch.SQLSink) error {
	if _, _, err := sqlDSN(s.URL); err != nil {
		return err
	}
	if !tableName.MatchString(s.Table) {
		return perch.Errorf(perch.EInvalid, "sql sink table %q: want a name of letters, digits and '_' (schema.table on PostgreSQL)", s.Table)
	}
	return nil
}

// sqlDSN returns the database/sql driver and name of a sink URL:
// sqlite:///abs/path.db or postgres://….
func sqlDSN(u string) (driver, name string, err error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "pgx", u, nil
	case strings.HasPrefix(u, "sqlite://"):
		path := strings.TrimPrefix(u, "sqlite://")
		if !strings.HasPrefix(path, "/") {
			return "", "", perch.Errorf(perch.EInvalid, "sql sink url %q: want sqlite:///absolute/path.db", u)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return "sqlite", path + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate", nil
	}
	return "", "", perch.Errorf(perch.EInvalid, "sql sink url %q: want sqlite:///path or postgres://…", u)
}

// quoteLiteral quotes a string as an SQL literal; keys, versions and ids
// hold no control characters.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteTable(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// openSQLSink connects, creates the table if it is absent, and prepares
// the upsert.
func openSQLSink(ctx context.Context, def *perch.SQLSink, l *Layout, pipelineID, key, version string) (*sqlSink, error) {
	driver, name, err := sqlDSN(def.URL)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		return nil, fmt.Errorf("sql sink: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	s := &sqlSink{db: db, postgres: driver == "pgx", table: quoteTable(def.Table), name: def.Table, layout: l,
		src: []any{pipelineID, key, version}}
	s.cols = append(append(append([]string{}, sourceColumns...), l.Attributes...), l.Predicted...)
	seen := map[string]bool{}
	for _, c := range s.cols {
		if seen[c] {
			db.Close()
			return nil, perch.Errorf(perch.EInvalid, "sql sink: the model's attribute %q is also a column of the results", c)
		}
		seen[c] = true
	}
	if err := s.create(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// SQLite takes at most 32766 parameters a statement, PostgreSQL 65535.
	s.perStmt = max(1, min(1000, 30000/(len(s.cols)-len(s.src))))
	return s, nil
}

func (s *sqlSink) create(ctx context.Context) error {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS ")
	b.WriteString(s.table)
	b.WriteString(" (pipeline TEXT NOT NULL, source_key TEXT NOT NULL, source_version TEXT NOT NULL, source_row BIGINT NOT NULL, source_line BIGINT NOT NULL")
	for _, a := range s.layout.Attributes {
		b.WriteString(", ")
		b.WriteString(quoteIdent(a))
		b.WriteString(" TEXT")
	}
	for _, c := range s.layout.Predicted {
		b.WriteString(", ")
		b.WriteString(quoteIdent(c))
		if c == "score" || strings.HasPrefix(c, "score_") || c == "predicted_value" {
			b.WriteString(" DOUBLE PRECISION")
		} else {
			b.WriteString(" TEXT")
		}
	}
	b.WriteString(", PRIMARY KEY (pipeline, source_key, source_version, source_row))")
	if !s.postgres {
		// One b-tree keyed by the upsert's key, not a rowid table and an
		// index beside it.
		b.WriteString(" WITHOUT ROWID")
	}
	if _, err := s.db.ExecContext(ctx, b.String()); err != nil {
		return fmt.Errorf("sql sink: creating table %s: %w", s.table, err)
	}
	return nil
}

// insert returns the upsert of n rows.
func (s *sqlSink) insert(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(s.table)
	b.WriteString(" (")
	s.writeColumns(&b)
	b.WriteString(") VALUES ")
	p := 0
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range s.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			if i < len(s.src) {
				// The source columns are the run's own: literals, not
				// parameters bound again for every row.
				b.WriteString(quoteLiteral(s.src[i].(string)))
				continue
			}
			p++
			if s.postgres {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	s.writeOnConflict(&b)
	return b.String()
}

func (s *sqlSink) whole() bool { return false }

// write upserts rs in one transaction.
func (s *sqlSink) write(ctx context.Context, rs []Result) error {
	if len(rs) == 0 {
		return nil
	}
	if s.postgres {
		return s.copy(ctx, rs)
	}
	// The statement is prepared before the transaction takes the one
	// connection.
	if s.stmt == nil && len(rs) >= s.perStmt {
		var err error
		if s.stmt, err = s.db.PrepareContext(ctx, s.insert(s.perStmt)); err != nil {
			return fmt.Errorf("sql sink: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sql sink: %w", err)
	}
	defer tx.Rollback()
	for len(rs) > 0 {
		n := min(len(rs), s.perStmt)
		var stmt *sql.Stmt
		if n == s.perStmt {
			stmt = tx.StmtContext(ctx, s.stmt)
		} else if stmt, err = tx.PrepareContext(ctx, s.insert(n)); err != nil {
			return fmt.Errorf("sql sink: %w", err)
		}
		args := s.args[:0]
		for i := range rs[:n] {
			r := &rs[i]
			args = append(args, r.Row, int64(r.Line))
			for _, f := range r.Fields {
				if f == "" {
					args = append(args, nil)
				} else {
					args = append(args, f)
				}
			}
			args = s.layout.predicted(&r.Prediction, args)
		}
		s.args = args
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("sql sink: writing to %s: %w", s.table, err)
		}
		rs = rs[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sql sink: %w", err)
	}
	return nil
}

func (s *sqlSink) finish(context.Context) error { return nil }

// setKey makes the next writes' rows of another key; the statement,
// which holds the key, is prepared again.
func (s *sqlSink) setKey(key string) {
	if s.src[1] == key {
		return
	}
	s.src[1] = key
	if s.stmt != nil {
		s.stmt.Close()
		s.stmt = nil
	}
}

func (s *sqlSink) close() error {
	if s.stmt != nil {
		s.stmt.Close()
	}
	return s.db.Close()
}

// copy upserts rs on PostgreSQL: COPY into a temporary table, then one
// INSERT … ON CONFLICT from it, in one transaction; COPY is several times
// faster than INSERTs with as many parameters.
func (s *sqlSink) copy(ctx context.Context, rs []Result) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sql sink: %w", err)
	}
	defer conn.Close()
	rows := make([][]any, len(rs))
	vals := make([]any, 0, len(rs)*len(s.cols))
	for i := range rs {
		r := &rs[i]
		start := len(vals)
		vals = append(vals, s.src...)
		vals = append(vals, r.Row, int64(r.Line))
		for _, f := range r.Fields {
			if f == "" {
				vals = append(vals, nil)
			} else {
				vals = append(vals, f)
			}
		}
		vals = s.layout.predicted(&r.Prediction, vals)
		rows[i] = vals[start:len(vals):len(vals)]
	}
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		// Only the first batch a run writes after it starts can hold rows
		// written before (by an attempt that stopped before its
		// checkpoint): the rest are copied straight into the table, and
		// any that meets a row already there is upserted instead.
		if s.wrote {
			err := s.copyInto(ctx, pc, rows, s.name)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "23505" { // unique_violation
				return err
			}
		}
		return s.copyInto(ctx, pc, rows, "")
	})
	if err != nil {
		return fmt.Errorf("sql sink: writing to %s: %w", s.table, err)
	}
	s.wrote = true
	return nil
}

// copyInto copies rows into table in one transaction; with table "",
// it upserts them through a temporary table.
func (s *sqlSink) copyInto(ctx context.Context, pc *pgx.Conn, rows [][]any, table string) error {
	tx, err := pc.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if table != "" {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier(strings.Split(table, ".")), s.cols, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE IF NOT EXISTS perch_stage (LIKE "+s.table+") ON COMMIT DELETE ROWS"); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"perch_stage"}, s.cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, s.upsertFromStage()); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// upsertFromStage returns the upsert of the rows COPY put in perch_stage.
func (s *sqlSink) upsertFromStage() string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(s.table)
	b.WriteString(" (")
	s.writeColumns(&b)
	b.WriteString(") SELECT ")
	s.writeColumns(&b)
	b.WriteString(" FROM perch_stage")
	s.writeOnConflict(&b)
	return b.String()
}

// writeColumns writes the table's columns, quoted, separated by commas.
func (s *sqlSink) writeColumns(b *strings.Builder) {
	for i, c := range s.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c))
	}
}

// writeOnConflict writes the clause that makes an insert an upsert keyed
// by (pipeline, key, version, row): a record written again replaces its
// row, never doubles it.
func (s *sqlSink) writeOnConflict(b *strings.Builder) {
	b.WriteString(" ON CONFLICT (pipeline, source_key, source_version, source_row) DO UPDATE SET ")
	for i, c := range s.cols[len(sourceColumns)-1:] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c))
		b.WriteString(" = excluded.")
		b.WriteString(quoteIdent(c))
	}
}
