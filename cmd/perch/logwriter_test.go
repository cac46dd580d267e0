package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBufferedLog checks that lines logged to a file arrive within the
// flush period, all of them at the stop, and straight away after it.
func TestBufferedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, stop := newLogWriter(f)
	if w == f {
		t.Fatal("a file is logged to unbuffered")
	}
	read := func() string { b, _ := os.ReadFile(path); return string(b) }
	w.Write([]byte("one\n"))
	deadline := time.Now().Add(5 * time.Second)
	for read() != "one\n" {
		if time.Now().After(deadline) {
			t.Fatalf("a line still waits after 5 s: %q", read())
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Write([]byte("two\n"))
	stop()
	stop() // twice is harmless
	if got := read(); got != "one\ntwo\n" {
		t.Errorf("after the stop: %q", got)
	}
	w.Write([]byte("three\n"))
	if got := read(); !strings.HasSuffix(got, "three\n") {
		t.Errorf("a line after the stop waits: %q", got)
	}
	var b strings.Builder
	if w2, _ := newLogWriter(&b); w2 != &b {
		t.Error("a writer that is no file is wrapped")
	}
}
