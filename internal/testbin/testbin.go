// Package testbin builds the perch command for tests that run it as a
// child process (crash tests, the AML compatibility suite).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once   sync.Once
	binary string
	err    error
)

// Perch returns the path of a perch binary built from this checkout, once
// per test process; a build failure fails the test.
func Perch(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		pkg := filepath.Join(filepath.Dir(file), "..", "..", "cmd", "perch")
		dir, mkErr := os.MkdirTemp("", "perch-bin")
		if mkErr != nil {
			err = mkErr
			return
		}
		binary = filepath.Join(dir, "perch")
		cmd := exec.Command("go", "build", "-o", binary, ".")
		cmd.Dir = pkg
		if out, buildErr := cmd.CombinedOutput(); buildErr != nil {
			err = fmt.Errorf("go build ./cmd/perch: %v\n%s", buildErr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return binary
}
