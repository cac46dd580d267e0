package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/perchml/perch"
)

// progressView shows a waited-for entity's progress on stderr: a bar
// redrawn in place on a terminal, plain lines otherwise (a log, a CI
// job), one when the phase changes and one every tenth of the phase.
type progressView struct {
	w        io.Writer
	terminal bool
	drawn    bool   // a bar is on the line, to be cleared
	phase    string // the last phase written as a line
	tenth    int64  // the last tenth written as a line
}

func newProgressView(w io.Writer) *progressView {
	return &progressView{w: w, terminal: isTerminal(w)}
}

// show takes one poll's view of the entity.
func (v *progressView) show(m *perch.Meta) {
	p := m.Progress
	if p == nil {
		if m.Status != perch.StatusInProgress {
			v.clear()
		}
		return
	}
	line := progressLine(p)
	if v.terminal {
		const width = 24
		bar := strings.Repeat(" ", width)
		if p.Total > 0 {
			n := int(min(p.Done, p.Total) * width / p.Total)
			bar = strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		}
		fmt.Fprintf(v.w, "\r\033[K[%s] %s", bar, line)
		v.drawn = true
		return
	}
	tenth := int64(-1)
	if p.Total > 0 {
		tenth = min(p.Done, p.Total) * 10 / p.Total
	}
	if p.Phase != v.phase || tenth > v.tenth {
		fmt.Fprintln(v.w, line)
		v.phase, v.tenth = p.Phase, tenth
	}
}

// clear removes a bar from the line, before the command's answer.
func (v *progressView) clear() {
	if v.drawn {
		fmt.Fprint(v.w, "\r\033[K")
		v.drawn = false
	}
}

// progressLine says where a job is: "training: 45 of 100 trees (45%),
// 3.2s, about 4s left".
func progressLine(p *perch.Progress) string {
	var b strings.Builder
	b.WriteString(p.Phase)
	switch {
	case p.Total > 0:
		done := fmt.Sprint(p.Done)
		if p.Unit == "bytes" {
			done = amount(p.Done, p.Unit)
		}
		fmt.Fprintf(&b, ": %s of %s (%d%%)", done, amount(p.Total, p.Unit), min(p.Done, p.Total)*100/p.Total)
	case p.Done > 0:
		fmt.Fprintf(&b, ": %s", amount(p.Done, p.Unit))
	}
	fmt.Fprintf(&b, ", %s", seconds(p.Elapsed))
	if p.Remaining > 0 {
		fmt.Fprintf(&b, ", about %s left", seconds(p.Remaining))
	}
	return b.String()
}

// amount writes n of a unit for a person: bytes in KB or MB, others as
// counts with their unit on the total.
func amount(n int64, unit string) string {
	switch unit {
	case "bytes":
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d bytes", n)
	case "":
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d %s", n, unit)
}

func seconds(s float64) string {
	return (time.Duration(s*10) * time.Second / 10).String()
}
