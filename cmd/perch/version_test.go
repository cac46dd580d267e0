package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := cli("", args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("perch %s: exit %d, stderr %q", args[0], r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "perch version ") || !strings.HasPrefix(lines[1], "commit ") ||
			lines[2] != runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
			t.Errorf("perch %s printed:\n%s", args[0], r.stdout)
		}
	}
	checkFailure(t, cli("", "version", "extra"), 2, `unexpected argument "extra" (usage: perch version (or perch --version))`)
	checkFailure(t, cli("", "--version", "extra"), 2, `unexpected argument "extra" (usage: perch version (or perch --version))`)
	if r := mustRun(t, "", "help"); !strings.Contains(r.stdout, "\n  perch version (or perch --version)\n") {
		t.Errorf("help does not list version:\n%s", r.stdout)
	}
}

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/perchml/perch", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{
			{Key: "GOOS", Value: "darwin"},
			{Key: "GOARCH", Value: "arm64"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "e93945917b9dbe7e7c41082b05384bf0da4d82cc"},
			{Key: "vcs.time", Value: "2026-11-26T15:32:44Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	want := "perch version v0.3.0\n" +
		"commit e93945917b9d+dirty (2026-11-26T15:32:44Z)\n" +
		"go1.26.8 darwin/arm64\n"
	if got := versionText(bi); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}

	bi.Settings[5].Value = "false"
	if got := versionText(bi); !strings.Contains(got, "\ncommit e93945917b9d (2026-11-26T15:32:44Z)\n") {
		t.Errorf("a clean build:\n%s", got)
	}

	// go build with -buildvcs=false, or outside a checkout: no commit.
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/perchml/perch", Version: "(devel)"}}
	want = "perch version (devel)\n" +
		"commit unknown (built without version control information)\n" +
		"go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if got := versionText(bi); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	if got := versionText(nil); !strings.HasPrefix(got, "perch version (devel)\ncommit unknown") {
		t.Errorf("no build information:\n%s", got)
	}
}
