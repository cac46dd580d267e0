package service_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/perchml/perch/internal/testdb"
)

// TestNoSecretStored reads every column of every table after keys are
// made: neither an API key nor an access key pair's secret is there in
// plain text.
func TestNoSecretStored(t *testing.T) {
	dsn := testdb.SQLite(t)
	e := newEnv(t, dsn, envOptions{manual: true})
	ctx := context.Background()
	ok(t, e.svc.SetMasterKey(make([]byte, 32)))
	key, _, err := e.svc.CreateKey(ctx, "app", adminPolicy())
	ok(t, err)
	_, secret, _, err := e.svc.CreateAWSKey(ctx, "aws", nil)
	ok(t, err)
	db, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite://"))
	ok(t, err)
	defer db.Close()
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	ok(t, err)
	var names []string
	for tables.Next() {
		var n string
		ok(t, tables.Scan(&n))
		names = append(names, n)
	}
	tables.Close()
	cells := 0
	for _, n := range names {
		rows, err := db.Query(fmt.Sprintf("SELECT * FROM %q", n))
		ok(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			ok(t, rows.Scan(ptrs...))
			for i, v := range vals {
				cell := fmt.Sprint(v)
				if b, isBytes := v.([]byte); isBytes {
					cell = string(b)
				}
				cells++
				for what, s := range map[string]string{"API key": key, "API key without its prefix": strings.TrimPrefix(key, "perch_"), "access key secret": secret} {
					if strings.Contains(cell, s) {
						t.Errorf("table %s, column %s holds the %s", n, cols[i], what)
					}
				}
			}
		}
		rows.Close()
	}
	if cells < 10 {
		t.Fatalf("read %d cells; the keys were not stored where this test looks", cells)
	}
}
