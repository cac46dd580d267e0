package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// runVersion: perch version (also perch --version)
func runVersion(args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], commands["version"].synopsis)
	}
	bi, _ := debug.ReadBuildInfo() // nil when the binary carries none
	_, err = io.WriteString(stdout, versionText(bi))
	return err
}

// versionText describes a build in three lines: the module version, the
// commit it was built from, and the Go toolchain and platform. All of it
// comes from what the go command stamps into the binary, so a binary
// answers for itself without a version kept by hand. bi may be nil.
func versionText(bi *debug.BuildInfo) string {
	version := "(devel)"
	goVersion := runtime.Version()
	settings := map[string]string{}
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	commit := "unknown (built without version control information)"
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if settings["vcs.modified"] == "true" {
			rev += "+dirty"
		}
		if t := settings["vcs.time"]; t != "" {
			rev += " (" + t + ")"
		}
		commit = rev
	}
	goos, goarch := settings["GOOS"], settings["GOARCH"]
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	var b strings.Builder
	fmt.Fprintf(&b, "perch version %s\n", version)
	fmt.Fprintf(&b, "commit %s\n", commit)
	fmt.Fprintf(&b, "%s %s/%s\n", goVersion, goos, goarch)
	return b.String()
}
