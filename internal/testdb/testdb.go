// Package testdb gives tests a database of their own: a fresh SQLite file
// or a fresh schema on the PostgreSQL test server.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// DefaultPostgres is the test server's URL unless PERCH_TEST_POSTGRES says
// otherwise.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var seq atomic.Int64

// Each runs test once with the URL of a fresh SQLite database and once
// with that of a fresh PostgreSQL schema, as subtests "sqlite" and
// "postgres".
func Each(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, Postgres(t)) })
}

// SQLite returns the URL of a new SQLite database in a temporary folder.
func SQLite(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "perch.db")
}

// Postgres returns the URL of a schema of its own on the test server,
// dropped when the test ends, so runs and tests do not see one another.
// Without a server the test is skipped, unless it runs in CI (CI=true),
// where the server must be there.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PERCH_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		msg := fmt.Sprintf("no PostgreSQL at %s (set PERCH_TEST_POSTGRES): %v", base, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	schema := fmt.Sprintf("perch_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), seq.Add(1))
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
