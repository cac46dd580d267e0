// Package docs holds perch's documents and the test that runs their
// examples, so that what README.md and docs/*.md show keeps working.
package docs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/internal/testbin"
)

// A fenced block runs by its language: sh (bash, with -euo pipefail),
// python (python3), yaml (a pipeline definition, given to "perch pipeline
// create"). A block without a language is output, not run. A block meant
// only to be read says why on the line before its fence:
//
//	<!-- docs-test: skip (why) -->
//
// Blocks run in order, in one folder, against one fresh server started
// the way the README's first command starts it (perch quickstart). What
// a person types differently from the test is rewritten, and only that:
// the server's address (127.0.0.1:8080), "go run ./cmd/perch" and
// "go build -o perch ./cmd/perch" for the binary built from this
// checkout, and /tmp/perch-example for a folder of the test's.

// block is one fenced code block of a document.
type block struct {
	file string
	line int // of the opening fence
	lang string
	text string
	skip string // why it is not run, "" to run it
}

var skipComment = regexp.MustCompile(`^<!-- docs-test: skip \((.+)\) -->$`)

// blocks returns the fenced code blocks of a Markdown document.
func blocks(file string, src []byte) []block {
	var out []block
	var cur *block
	var body strings.Builder
	prev := "" // the last line that was not blank
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &block{file: file, line: n, lang: strings.Fields(strings.TrimPrefix(trimmed, "```") + " x")[0]}
			if cur.lang == "x" {
				cur.lang = ""
			}
			if m := skipComment.FindStringSubmatch(prev); m != nil {
				cur.skip = m[1]
			}
			body.Reset()
		case cur != nil && trimmed == "```":
			cur.text = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line)
			body.WriteByte('\n')
		}
		if trimmed != "" {
			prev = trimmed
		}
	}
	return out
}

// documents returns README.md and docs/*.md, in that order.
func documents(t *testing.T) []string {
	files := []string{filepath.Join("..", "README.md")}
	more, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append(files, more...)
}

// server is the quickstart the examples run against.
type server struct {
	cmd    *exec.Cmd
	url    string
	stdout bytes.Buffer
	mu     sync.Mutex
}

// startQuickstart runs "perch quickstart" in dir until the test ends.
func startQuickstart(t *testing.T, bin, dir string, env []string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(bin, "quickstart", "--listen", "127.0.0.1:0")}
	s.cmd.Dir, s.cmd.Env = dir, env
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		url := ""
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			s.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "perch is serving on "); ok {
				url = strings.Fields(u)[0]
			}
			if strings.Contains(line, "perch keeps serving") {
				ready <- url
			}
		}
		close(ready)
	}()
	select {
	case u, ok := <-ready:
		if !ok || u == "" {
			t.Fatalf("perch quickstart exited or named no address:\n%s\n%s", s.output(), stderr.String())
		}
		s.url = u
	case <-time.After(3 * time.Minute):
		t.Fatalf("perch quickstart did not finish setting up:\n%s\n%s", s.output(), stderr.String())
	}
	return s
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

// rewrite turns what a person types into what the test runs.
func rewrite(text, url, example string) string {
	r := strings.NewReplacer(
		"http://127.0.0.1:8080", url,
		"127.0.0.1:8080", strings.TrimPrefix(url, "http://"),
		"go run ./cmd/perch", "perch",
		"go build -o perch ./cmd/perch", ": the binary is built", // ./perch is the test's
		"/tmp/perch-example", example,
	)
	return r.Replace(text)
}

// TestDocs runs every example of README.md and docs/*.md.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server; not in -short")
	}
	var all []block
	for _, f := range documents(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, blocks(filepath.Base(f), src)...)
	}
	if len(all) < 10 {
		t.Fatalf("found %d code blocks; the documents hold more", len(all))
	}
	needPython(t, all)
	needCurl(t)

	bin := testbin.Perch(t)
	work := t.TempDir()
	example := filepath.Join(work, "perch-example")
	binDir := filepath.Join(work, ".bin")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{
		{bin, filepath.Join(binDir, "perch")},
		{bin, filepath.Join(work, "perch")}, // ./perch, as go build -o perch leaves it
		{filepath.Join(repo, "examples"), filepath.Join(work, "examples")},
	} {
		os.MkdirAll(filepath.Dir(l[1]), 0o755)
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + work, "LANG=C.UTF-8",
		"AWS_EC2_METADATA_DISABLED=true"}
	srv := startQuickstart(t, bin, work, env)
	env = append(env, "PERCH_SERVER="+srv.url)

	ran := 0
	for i, b := range all {
		if b.skip != "" || b.lang == "" || b.lang == "json" || b.lang == "text" {
			continue
		}
		text := rewrite(b.text, srv.url, example)
		var cmd *exec.Cmd
		switch b.lang {
		case "sh", "bash", "shell":
			cmd = exec.Command("bash", "-euo", "pipefail", "-c", text)
		case "python":
			cmd = exec.Command("/usr/bin/python3", "-c", text)
		case "yaml":
			def := filepath.Join(work, fmt.Sprintf(".block-%d.yaml", i))
			if err := os.WriteFile(def, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd = exec.Command(bin, "pipeline", "create", "--file", def)
		default:
			t.Errorf("%s:%d: a %q block: give it a language the test runs (sh, python, yaml), none for output, or a skip comment", b.file, b.line, b.lang)
			continue
		}
		cmd.Dir, cmd.Env = work, env
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		out, err := runCtx(ctx, cmd)
		cancel()
		if err != nil {
			t.Fatalf("%s:%d: the %s block failed: %v\n--- block ---\n%s--- output ---\n%s", b.file, b.line, b.lang, err, text, out)
		}
		ran++
	}
	t.Logf("ran %d of %d code blocks", ran, len(all))
	checkRunsDone(t, srv.url, work)
}

// runCtx runs cmd, killing it when ctx is done, and returns its output.
func runCtx(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("still running after %v", 3*time.Minute)
	}
}

// checkRunsDone fails if a pipeline run the examples started is left
// unfinished: every example must come to an end by itself.
func checkRunsDone(t *testing.T, url, work string) {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(work, "perch-data", "root-key"))
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(url, strings.TrimSpace(string(key)))
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ps, _, err := c.ListPipelines(ctx, perch.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var open []string
		for _, p := range ps {
			runs, _, err := c.ListPipelineRuns(ctx, p.ID, perch.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if !r.Status.Done() {
					open = append(open, fmt.Sprintf("%s %s (%s)", r.ID, r.Status, r.Message))
				}
			}
		}
		if len(open) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline runs left unfinished by the examples: %v", open)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// needPython skips when the documents' Python examples cannot run here,
// unless in CI, where .ci/run installs boto3.
func needPython(t *testing.T, all []block) {
	for _, b := range all {
		if b.lang != "python" || b.skip != "" {
			continue
		}
		if out, err := exec.Command("/usr/bin/python3", "-c", "import boto3").CombinedOutput(); err != nil {
			msg := fmt.Sprintf("the Python examples need boto3 (apt-get install python3-boto3): %v %s", err, out)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		return
	}
}

// needCurl skips when curl is missing, unless in CI.
func needCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the examples need curl")
		}
		t.Skip("the examples need curl (apt-get install curl)")
	}
}
