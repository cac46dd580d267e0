package main

import (
	"strings"
	"testing"

	"github.com/perchml/perch"
)

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		p    perch.Progress
		want string
	}{
		{perch.Progress{Phase: "training", Done: 45, Total: 100, Unit: "trees", Elapsed: 3.2, Remaining: 4}, "training: 45 of 100 trees (45%), 3.2s, about 4s left"},
		{perch.Progress{Phase: "reading", Done: 3 << 20, Total: 12 << 20, Unit: "bytes", Elapsed: 0.5}, "reading: 3.0 MB of 12.0 MB (25%), 500ms"},
		{perch.Progress{Phase: "evaluating", Elapsed: 1}, "evaluating, 1s"},
	} {
		if got := progressLine(&c.p); got != c.want {
			t.Errorf("progressLine(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
}

// TestProgressViewLines checks what --wait writes when stderr is not a
// terminal: a line a phase, and one every tenth of it.
func TestProgressViewLines(t *testing.T) {
	var b strings.Builder
	v := newProgressView(&b)
	running := func(p *perch.Progress) *perch.Meta { return &perch.Meta{Status: perch.StatusInProgress, Progress: p} }
	v.show(&perch.Meta{Status: perch.StatusPending})
	v.show(running(&perch.Progress{Phase: "reading", Done: 10, Total: 100, Unit: "bytes"}))
	v.show(running(&perch.Progress{Phase: "reading", Done: 100, Total: 100, Unit: "bytes"}))
	for done := int64(1); done <= 100; done++ {
		v.show(running(&perch.Progress{Phase: "training", Done: done, Total: 100, Unit: "trees"}))
	}
	v.show(&perch.Meta{Status: perch.StatusCompleted})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2+11 || !strings.HasPrefix(lines[0], "reading: 10 bytes of 100 bytes") || !strings.HasPrefix(lines[2], "training: 1 of 100 trees") ||
		!strings.HasPrefix(lines[12], "training: 100 of 100 trees (100%)") || strings.Contains(b.String(), "\r") {
		t.Errorf("%d lines:\n%s", len(lines), b.String())
	}
}
