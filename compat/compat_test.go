// Package compat holds the compatibility suite: AML's own client (boto3's
// machinelearning client) driven through AML's whole flow against a perch
// server.
package compat

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"github.com/perchml/perch/internal/testbin"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/internal/testdb"
)

// python is Debian's interpreter, which has python3-boto3.
const python = "/usr/bin/python3"

// needBoto3 skips the test when boto3 is missing, unless in CI, where it
// must be there.
func needBoto3(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import boto3").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("no boto3 for %s (apt-get install python3-boto3): %v %s", python, err, out)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// process is a server running as a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	mu     sync.Mutex
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *process) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}
}

// config is what a server is started with.
type config struct {
	dataDir  string
	database string   // "" is SQLite in the data directory
	objects  string   // "" is the data directory's objects folder
	env      []string // added to the environment
}

// start runs a server binary and waits until it serves.
func start(t *testing.T, bin string, c config) *process {
	t.Helper()
	args := []string{"--data-dir", c.dataDir, "--listen", "127.0.0.1:0"}
	args = append([]string{"serve", "--log-level", "warn"}, args...)
	if c.database != "" {
		args = append(args, "--database", c.database)
	}
	if c.objects != "" {
		args = append(args, "--objects", c.objects)
	}
	p := &process{cmd: exec.Command(bin, args...), stderr: &bytes.Buffer{}}
	p.cmd.Env = append(os.Environ(), c.env...)
	p.cmd.Stderr = p
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "perch is serving on "); ok {
				urls <- strings.Fields(u)[0]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("%s exited: %s", bin, p.log())
		}
		p.url = u
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start: %s", bin, p.log())
	}
	return p
}

// server starts perch serve, which serves the AML protocol and keeps the
// root access key pair in its data directory.
func server(t *testing.T, c config) *process {
	t.Helper()
	p := start(t, testbin.Perch(t), c)
	if _, err := os.Stat(filepath.Join(c.dataDir, access.RootAWSCredentialsFile)); err != nil {
		t.Fatalf("perch serve made no root access key pair: %v", err)
	}
	return p
}

// flow runs aml_flow.py against a server, with env added to its
// environment.
func flow(t *testing.T, p *process, dataDir string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "aml_flow.py")
	cmd.Env = append(os.Environ(),
		"PERCH_URL="+p.url,
		"PERCH_MAX_PASSES=5",
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dataDir, access.RootAWSCredentialsFile),
		"PERCH_ROOT_KEY_FILE="+filepath.Join(dataDir, access.RootKeyFile),
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_PROFILE=default",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true",
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	t.Logf("aml_flow.py:\n%s", out)
	if err != nil {
		t.Fatalf("aml_flow.py: %v\nserver log:\n%s", err, p.log())
	}
}

// TestBoto3 runs aml_flow.py, boto3's machinelearning client through AML's
// whole flow on the Adult data (and MULTICLASS, REGRESSION and a 4-fold
// cross-validation on wine quality), against a server on SQLite and on
// PostgreSQL.
func TestBoto3(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and boto3; not in -short")
	}
	needBoto3(t)
	testdb.Each(t, func(t *testing.T, dsn string) {
		database := ""
		if strings.HasPrefix(dsn, "postgres") {
			database = dsn
		}
		dataDir := t.TempDir()
		for example, key := range examplesAt {
			put(t, example, filepath.Join(dataDir, "objects", "bucket", filepath.FromSlash(key)))
		}
		p := server(t, config{dataDir: dataDir, database: database})
		flow(t, p, dataDir, "PERCH_OBJECTS="+filepath.Join(dataDir, "objects"))
	})
}

// examplesAt are the example files the flow reads, by their keys in the
// bucket named "bucket".
var examplesAt = map[string]string{
	"adult/train.csv.gz":       "adult/train.csv",
	"wine-quality/wine.csv.gz": "wine/wine.csv",
}

// TestBoto3S3 runs the flow against a server whose objects are in an S3
// bucket (an in-process S3 server): s3://bucket/key is the bucket's
// object key, and the flow reads outputs back with boto3's S3 client.
func TestBoto3S3(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and boto3; not in -short")
	}
	needBoto3(t)
	backend := s3mem.New()
	if err := backend.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3.Close()
	for example, key := range examplesAt {
		b := unzipped(t, example)
		if _, err := backend.PutObject("bucket", key, nil, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	none := filepath.Join(dataDir, "none")
	p := server(t, config{
		dataDir: dataDir,
		objects: "s3://bucket?endpoint=" + s3.URL + "&use_path_style=true&region=us-east-1",
		env: []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
			"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true"},
	})
	flow(t, p, dataDir, "PERCH_S3_ENDPOINT="+s3.URL)
}

// unzipped is an example file's content.
func unzipped(t *testing.T, example string) []byte {
	t.Helper()
	gz, err := examples.FS.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// put writes an example file, unzipped, at path.
func put(t *testing.T, example, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, unzipped(t, example), 0o644); err != nil {
		t.Fatal(err)
	}
}
