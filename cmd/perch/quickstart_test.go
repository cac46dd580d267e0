package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that a server goroutine writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startQuickstart runs "perch quickstart" until stop is called, and
// returns what it printed once it says it keeps serving.
func startQuickstart(t *testing.T, dir string) (out string, stop func()) {
	t.Helper()
	stopRequested = make(chan struct{})
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"quickstart", "--data-dir", dir, "--listen", "127.0.0.1:0"}, nil, &stdout, &stderr)
	}()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(stdout.String(), "perch keeps serving") {
		select {
		case code := <-done:
			t.Fatalf("quickstart exited %d early:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("quickstart did not finish setting up:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return stdout.String(), func() {
		close(stopRequested)
		if code := <-done; code != 0 {
			t.Errorf("quickstart exited %d: %s", code, stderr.String())
		}
	}
}

func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	out, stop := startQuickstart(t, dir)
	for _, want := range []string{"root API key (shown once", "trained model adult-income", "BinaryAUC 0.9", `"predictedLabel":"0"`, "curl -s"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
	// The printed command works verbatim in a shell.
	m := regexp.MustCompile(`(?s)\n  (curl .*?/predict)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no curl command in:\n%s", out)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed")
		}
		t.Log("no curl here: the printed command is not run")
	} else {
		got, err := exec.Command("sh", "-c", m[1]).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", m[1], err, got)
		}
		if !strings.HasPrefix(string(got), `{"prediction":{"predictedLabel":"0",`) || !strings.Contains(string(got), `"predictedOriginalLabel":"<=50K"`) {
			t.Errorf("the printed curl answered %s", got)
		}
	}
	stop()

	// Run again: the model is reused and the key is not printed again.
	out, stop = startQuickstart(t, dir)
	defer stop()
	if !strings.Contains(out, "reusing model adult-income") || strings.Contains(out, "shown once") {
		t.Errorf("second quickstart printed:\n%s", out)
	}
}
