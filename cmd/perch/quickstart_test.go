package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// TestQuickstartPipeline is the founding scenario: with the quickstart
// running, a CSV of 1,000 Adult records and 3 malformed ones copied into
// the inbox yields 1,000 rows in results.db, one output object and 3 dead
// letters naming their lines, within 3 s. The printed cp line then works
// verbatim.
func TestQuickstartPipeline(t *testing.T) {
	dir := t.TempDir()
	out, stop := startQuickstart(t, dir)
	defer stop()
	m := regexp.MustCompile(`\n  (cp .*)\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "pipeline income-inbox") {
		t.Fatalf("no pipeline or cp line in:\n%s", out)
	}
	sample, err := os.ReadFile(filepath.Join(dir, "samples", "adult-1000.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(sample, []byte("\n")); n != 1001 {
		t.Fatalf("the sample has %d lines, want a header and 1,000 records", n)
	}
	bad := "1, 2, 3\n" +
		"25, Pri\"vate, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States\n" +
		"38, Private, 89814, HS-grad, 9, Married-civ-spouse, Farming-fishing, Husband, White, Male, 0, 0, 50, United-States, <=50K, extra\n"
	start := time.Now()
	// Written in place, as cp does.
	if err := os.WriteFile(filepath.Join(dir, "inbox", "founding.csv"), append(sample, bad...), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFounding(t, dir, start, "founding", 1000, []int{1002, 1003, 1004})

	start = time.Now()
	if got, err := exec.Command("sh", "-c", m[1]).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[1], err, got)
	}
	waitFounding(t, dir, start, "adult-1000", 2000, nil)

	// The printed runs command lists both objects.
	rm := regexp.MustCompile(`\n  perch (pipeline runs .*)\n`).FindStringSubmatch(out)
	if rm == nil {
		t.Fatalf("no runs command in:\n%s", out)
	}
	var runsOut, runsErr syncBuffer
	if code := run(strings.Fields(rm[1]), nil, &runsOut, &runsErr); code != 0 {
		t.Fatalf("perch %s: exit %d: %s", rm[1], code, runsErr.String())
	}
	for _, want := range []string{"founding.csv  COMPLETED  1003  1000  3", "adult-1000.csv  COMPLETED  1000  1000  0"} {
		if !strings.Contains(regexp.MustCompile(` {2,}`).ReplaceAllString(runsOut.String(), "  "), want) {
			t.Errorf("runs lack %q:\n%s", want, runsOut.String())
		}
	}

	// The runs show on /metrics.
	u := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(out)
	key, err := os.ReadFile(filepath.Join(dir, "root-key"))
	if u == nil || err != nil {
		t.Fatalf("no server URL or root key: %v", err)
	}
	req, _ := http.NewRequest("GET", u[1]+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`perch_pipeline_records_total{outcome="predicted",pipeline="income-inbox"} 2000`,
		`perch_pipeline_records_total{outcome="dead_letter",pipeline="income-inbox"} 3`,
		`perch_pipeline_objects_total{outcome="completed",pipeline="income-inbox"} 2`,
		`perch_pipeline_land_to_commit_seconds_count{pipeline="income-inbox"} 2`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// waitFounding waits up to 3 s for the results of the inbox object named
// key.csv: rows in all in the table, its output object, and dead letters
// on the lines given.
func waitFounding(t *testing.T, dir string, start time.Time, key string, rows int, dead []int) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "results.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var lines []int
	var outErr error
	for {
		n, lines, outErr = 0, nil, nil
		db.QueryRow("SELECT count(*) FROM predictions").Scan(&n)
		_, outErr = os.Stat(filepath.Join(dir, "outbox", key+".csv"))
		filepath.WalkDir(filepath.Join(dir, "dead-letter"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(p, key+".csv") {
				return err
			}
			b, _ := os.ReadFile(p)
			for l := range strings.Lines(string(b)) {
				var dl struct{ Line int }
				json.Unmarshal([]byte(l), &dl)
				lines = append(lines, dl.Line)
			}
			return nil
		})
		if n == rows && outErr == nil && slices.Equal(lines, dead) {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("after 3s: %d rows (want %d), output %v, dead letters on lines %v (want %v)", n, rows, outErr, lines, dead)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s.csv: %d rows in results.db, its output object and %d dead letters in %s", key, rows, len(dead), time.Since(start).Round(time.Millisecond))
	if entries, _ := os.ReadDir(filepath.Join(dir, "outbox")); len(entries) != rows/1000 {
		t.Errorf("%d objects in the outbox", len(entries))
	}
}
