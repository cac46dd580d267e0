package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch"
)

// fileSum returns the sha256 of a file's bytes in hex.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestUploadsKeepTheirBytes checks that two data sources made from files
// of the same name in two folders each keep their own bytes, and that a
// create the server refuses leaves the object store as it was.
func TestUploadsKeepTheirBytes(t *testing.T) {
	e := newRemote(t)
	dir := t.TempDir()
	header := "x,y,label\n"
	a := write(t, filepath.Join(mkdir(t, dir, "a"), "train.csv"), header+strings.Repeat("1,2,yes\n3,4,no\n", 20))
	b := write(t, filepath.Join(mkdir(t, dir, "b"), "train.csv"), header+strings.Repeat("5,6,no\n7,8,yes\n9,9,no\n", 20))
	c := write(t, filepath.Join(mkdir(t, dir, "c"), "train.csv"), header+"0,0,yes\n1,1,no\n")

	var sources []perch.DataSource
	for _, f := range []string{a, b} {
		r := e.must(t, "", "datasources", "create", "--file", f, "--target", "label", "--wait")
		sources = append(sources, decodeOut[perch.DataSource](t, r))
	}
	for i, f := range []string{a, b} {
		d, sum := sources[i], fileSum(t, f)
		if d.Status != perch.StatusCompleted || d.DataSHA256 != sum {
			t.Errorf("%s: data source %s %s, dataSha256 %q; want COMPLETED, %s", f, d.ID, d.Status, d.DataSHA256, sum)
		}
		key := "uploads/" + sum + "/train.csv"
		if !strings.HasSuffix(d.DataURL, "/"+key) {
			t.Errorf("%s: dataUrl %s, want the key %s", f, d.DataURL, key)
		}
		got := filepath.Join(dir, "got.csv")
		e.must(t, "", "objects", "get", key, "--out", got)
		if s := fileSum(t, got); s != sum {
			t.Errorf("%s: the object under %s has sha256 %s, want %s", f, key, s, sum)
		}
	}

	// The same file again lands where it is; nothing is uploaded twice.
	r := e.must(t, "", "datasources", "create", "--file", a, "--target", "label")
	if !strings.Contains(r.stderr, "already on the server") {
		t.Errorf("second upload of the same bytes: stderr %q", r.stderr)
	}
	before := e.must(t, "", "objects", "list", "--json").stdout

	// Refused creates: a taken id (found before any upload), and a name
	// the server refuses (the upload is taken back).
	failsWith(t, e.run("", "datasources", "create", "--file", c, "--target", "label", "--id", sources[0].ID), 1, "already exists")
	failsWith(t, e.run("", "datasources", "create", "--file", c, "--target", "label", "--name", strings.Repeat("n", 1025)), 1, "more than 1024")
	failsWith(t, e.run("", "datasources", "create", "--file", a, "--target", "label", "--name", strings.Repeat("n", 1025)), 1, "more than 1024")
	if after := e.must(t, "", "objects", "list", "--json").stdout; after != before {
		t.Errorf("refused creates changed the object store:\nbefore %s\nafter  %s", before, after)
	}
}

func mkdir(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
