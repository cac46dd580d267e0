package service

import (
	"context"
	"sync"
	"time"

	"github.com/perchml/perch"
)

// progress is what a running job tells of how far it has come; the
// job's heartbeat stores it on the entity every Config.ProgressEvery, when
// it changed, so that clients waiting on the entity can show it.
type progress struct {
	mu         sync.Mutex
	start      time.Time // the job's
	phaseStart time.Time
	p          perch.Progress
	changed    bool
}

type progressKey struct{}

func withProgress(ctx context.Context, p *progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// progressFrom returns the progress of the job ctx runs, nil outside a
// job; a nil *progress takes reports and drops them.
func progressFrom(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}

func newProgress() *progress {
	now := time.Now()
	return &progress{start: now, phaseStart: now}
}

// set reports done of total unit in phase; a new phase restarts the
// estimate's clock.
func (p *progress) set(phase, unit string, done, total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if phase != p.p.Phase || unit != p.p.Unit {
		p.phaseStart = time.Now()
	}
	p.p.Phase, p.p.Unit, p.p.Done, p.p.Total = phase, unit, done, total
	p.changed = true
}

// snapshot returns the progress to store, and whether it changed since
// the last one; the times are always fresh.
func (p *progress) snapshot() (*perch.Progress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.p
	now := time.Now()
	c.Elapsed = roundSeconds(now.Sub(p.start))
	if c.Total > 0 && c.Done > 0 && c.Done < c.Total {
		phase := now.Sub(p.phaseStart)
		c.Remaining = roundSeconds(time.Duration(float64(phase) * float64(c.Total-c.Done) / float64(c.Done)))
	}
	changed := p.changed
	p.changed = false
	return &c, changed
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(100*time.Millisecond)) / float64(time.Second)
}
