// Package sqlstore keeps perch's entities in SQL: SQLite for one machine
// with no setup, PostgreSQL when several servers share the metadata. Both
// go through database/sql with the same queries, which differ only in
// placeholders and row locks.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/perchml/perch"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	sqlitedriver "modernc.org/sqlite"  // driver "sqlite"
)

type dialect int

const (
	sqlite dialect = iota
	postgres
)

func (d dialect) String() string {
	if d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// Store is a perch.Store over a SQL database. It is safe for concurrent
// use, also by several processes sharing one database.
type Store struct {
	db      *sql.DB
	dialect dialect
	driver  string // the database/sql driver and name db was opened with,
	name    string // for Pool
}

var _ perch.Store = (*Store)(nil)

// Open connects to the database named by dsn and brings its schema up to
// date. A dsn starting with postgres:// or postgresql:// is a PostgreSQL
// URL (pgx's parameters apply, search_path among them); sqlite:///path or
// a plain file path is a SQLite database, created if missing, opened in
// WAL mode so readers do not wait for writers.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var s Store
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = postgres
		s.driver, s.name = "pgx", dsn
	default:
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return nil, perch.Errorf(perch.EInvalid, "sqlstore: no database path in %q", dsn)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		// Every transaction here writes, so it takes the write lock at
		// BEGIN (immediate) instead of failing to upgrade a read lock
		// later; busy_timeout makes a second writer wait, not fail.
		s.driver, s.name = "sqlite", path+sep+"_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	}
	s.db, err = sql.Open(s.driver, s.name)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", s.dialect, err)
	}
	// SQLite turning a new file to WAL fails the other connections that
	// open it at that moment, without waiting for busy_timeout; they try
	// again.
	err = s.migrate(ctx)
	giveUp := time.Now().Add(10 * time.Second)
	for delay := time.Millisecond; s.dialect == sqlite && busy(err) && ctx.Err() == nil && time.Now().Before(giveUp); delay = min(2*delay, 100*time.Millisecond) {
		time.Sleep(delay)
		err = s.migrate(ctx)
	}
	if err != nil {
		s.db.Close()
		return nil, err
	}
	return &s, nil
}

// busy reports whether err is SQLite's SQLITE_BUSY.
func busy(err error) bool {
	var e *sqlitedriver.Error
	return errors.As(err, &e) && e.Code()&0xff == 5 // SQLITE_BUSY and its extended codes
}

// DB returns the database, for parts that keep tables of their own in it
// (the job queue).
func (s *Store) DB() *sql.DB { return s.db }

// Pool opens another pool of at most conns connections to the same
// database, with the same settings, for a part that should not compete
// with the store for connections (the job queue). The caller closes it.
func (s *Store) Pool(conns int) (*sql.DB, error) {
	db, err := sql.Open(s.driver, s.name)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	return db, nil
}

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.String() }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

//go:embed migrations
var migrations embed.FS

// migrationLock is the PostgreSQL advisory lock that keeps servers starting
// together from migrating at once.
const migrationLock = 0x70657263 // "perc"

// migrate applies the embedded migrations that the database has not seen,
// in order, all in one transaction: a database is either fully migrated or
// left as it was.
func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/" + s.dialect.String()
	files, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", s.dialect, err)
	}
	defer tx.Rollback()
	if s.dialect == postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("sqlstore: migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlstore: schema_migrations: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("sqlstore: schema_migrations: %w", err)
	}
	var applied []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied = append(applied, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range files { // ReadDir sorts by name
		name := f.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("sqlstore: migration %s has no number", name)
		}
		if slices.Contains(applied, version) {
			continue
		}
		text, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return err
		}
		for _, stmt := range statements(string(text)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqlstore: migration %s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ("+
			s.placeholder(1)+", "+s.placeholder(2)+", "+s.placeholder(3)+")",
			version, name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// statements splits a migration into its statements, dropping comment
// lines. Migrations hold no semicolons inside literals.
func statements(text string) []string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
	}
	var out []string
	for stmt := range strings.SplitSeq(b.String(), ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// placeholder returns the n-th (1-based) bind parameter in the dialect's
// spelling.
func (s *Store) placeholder(n int) string {
	if s.dialect == postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// query builds a statement and its arguments together, so placeholders
// are numbered as the arguments are added.
type query struct {
	s    *Store
	b    strings.Builder
	args []any
}

func (q *query) sql(parts ...string) *query {
	for _, p := range parts {
		q.b.WriteString(p)
	}
	return q
}

// arg adds v as the next argument and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return q.s.placeholder(len(q.args))
}

func (q *query) String() string { return q.b.String() }
