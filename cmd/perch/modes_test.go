package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/service"
)

// TestModesOfDataDir: everything the server writes in a data directory it
// creates (database, lock, keys, objects and the folders holding them) is
// readable by its owner alone: files 0600, directories 0700.
func TestModesOfDataDir(t *testing.T) {
	t.Run("made by the server", func(t *testing.T) {
		testModes(t, filepath.Join(t.TempDir(), "data"), true)
	})
	// A data directory made beforehand keeps its mode; what the server
	// makes in it is still its own.
	t.Run("made 0755 beforehand", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		testModes(t, dir, false)
	})
}

func testModes(t *testing.T, dir string, ownDir bool) {
	s, _ := startLogged(t, "--data-dir", dir)
	stopped := false
	defer func() {
		if !stopped {
			s.shutdown(10 * time.Second)
		}
	}()
	ctx := context.Background()
	c := client.New(s.url, s.rootKey)
	var csv strings.Builder
	csv.WriteString("x,y\n")
	for i := range 50 {
		fmt.Fprintf(&csv, "%d,%d\n", i%7, i%2)
	}
	if _, err := c.PutObject(ctx, "in/nested/d.csv", strings.NewReader(csv.String())); err != nil {
		t.Fatal(err)
	}
	ds, err := c.CreateDataSource(ctx, service.DataSourceInput{DataURL: "in/nested/d.csv", TargetAttributeName: "y", ComputeStatistics: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitDone(ctx, "data source "+ds.ID, func() (*perch.DataSource, error) { return c.GetDataSource(ctx, ds.ID) }); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir, ownDir) // while serving: the database's -wal and -shm are there
	stopped = true
	if err := s.shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir, ownDir)
}

// checkModes walks dir (without following symlinks) and reports every
// entry that is not a 0700 directory or a 0600 regular file; dir itself
// too when ownDir.
func checkModes(t *testing.T, dir string, ownDir bool) {
	t.Helper()
	var files, dirs int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		t.Logf("%s %s", info.Mode(), rel)
		switch m := info.Mode(); {
		case path == dir && !ownDir:
		case m.IsDir():
			dirs++
			if m.Perm() != 0o700 {
				t.Errorf("directory %s has mode %#o, want 0700", rel, m.Perm())
			}
		case m.IsRegular():
			files++
			if m.Perm() != 0o600 {
				t.Errorf("file %s has mode %#o, want 0600", rel, m.Perm())
			}
		default:
			t.Errorf("%s is neither a file nor a directory (%s)", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The data directory, objects/, in/, in/nested/, .perch/ at least; the
	// database, the lock, the root key, the object.
	if dirs < 5 || files < 4 {
		t.Errorf("walked %d directories and %d files; the server wrote less than expected", dirs, files)
	}
}
