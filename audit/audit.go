// Package audit keeps the audit log: the changes keys were allowed to make
// and the requests they were refused. Events are collected in memory and
// written to the store in batches, so that a request never waits on the
// database for its audit entry.
package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perchml/perch"
)

// Options tunes a Log; the zero value is the defaults.
type Options struct {
	// Retention is how long an event is kept; older events are pruned at
	// start and every PruneEvery. 0 keeps every event.
	Retention time.Duration
	// FlushEvery is how long an event may wait in memory; 0 means 1s.
	FlushEvery time.Duration
	// BatchSize is how many waiting events make a write start at once;
	// 0 means 500.
	BatchSize int
	// Buffer bounds the events waiting in memory; beyond it, while the
	// store does not keep up, new events are dropped and counted. 0 means
	// 10,000.
	Buffer int
	// PruneEvery is how often old events are pruned; 0 means hourly.
	PruneEvery time.Duration
	// Logger receives failed writes and drops; nil discards.
	Logger *slog.Logger
}

// Log writes audit events to a store in the background. It is safe for
// concurrent use; Record never blocks on the store.
type Log struct {
	store perch.Store
	opt   Options
	log   *slog.Logger

	mu      sync.Mutex
	buf     []*perch.AuditEvent
	closed  bool
	dropped atomic.Int64
	kick    chan struct{} // a batch is waiting
	last    decision

	writeMu sync.Mutex // one write at a time, in order
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// New starts a Log writing to store. Close it to write what is waiting.
func New(store perch.Store, opt Options) *Log {
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = time.Second
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.Buffer <= 0 {
		opt.Buffer = 10_000
	}
	if opt.PruneEvery <= 0 {
		opt.PruneEvery = time.Hour
	}
	l := &Log{
		store:   store,
		opt:     opt,
		log:     opt.Logger,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	go l.run()
	return l
}

// decision is what makes an event: one request's outcome of one action on
// one resource.
type decision struct {
	requestID string
	action    perch.Action
	resource  string
	outcome   string
}

// Record queues e to be written; its Time is set to now when zero. An
// operation made of others may decide the same action twice for one
// request: an event equal in request id, action, resource and outcome to
// the one recorded just before is left out. When the buffer is full, or
// the Log closed, e is dropped and counted.
func (l *Log) Record(e *perch.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	if l.closed || len(l.buf) >= l.opt.Buffer {
		l.mu.Unlock()
		if l.dropped.Add(1) == 1 {
			l.log.Warn("audit: events dropped, the store does not keep up", "buffer", l.opt.Buffer)
		}
		return
	}
	if d := (decision{e.RequestID, e.Action, e.Resource, e.Outcome}); e.RequestID != "" {
		if d == l.last {
			l.mu.Unlock()
			return
		}
		l.last = d
	}
	l.buf = append(l.buf, e)
	n := len(l.buf)
	l.mu.Unlock()
	if n >= l.opt.BatchSize {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Dropped returns how many events were dropped.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Flush writes every event recorded before it was called.
func (l *Log) Flush(ctx context.Context) error {
	return l.write(ctx)
}

// Close stops the Log and writes what is waiting.
func (l *Log) Close() error {
	l.once.Do(func() { close(l.done) })
	<-l.stopped
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.write(ctx)
}

// Prune deletes the events older than the retention, if there is one.
func (l *Log) Prune(ctx context.Context) (int64, error) {
	if l.opt.Retention <= 0 {
		return 0, nil
	}
	return l.store.PruneAudit(ctx, time.Now().Add(-l.opt.Retention))
}

func (l *Log) run() {
	defer close(l.stopped)
	flush := time.NewTicker(l.opt.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(l.opt.PruneEvery)
	defer prune.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.done
		cancel()
	}()
	l.prune(ctx)
	for {
		select {
		case <-l.done:
			return
		case <-flush.C:
		case <-l.kick:
		case <-prune.C:
			l.prune(ctx)
			continue
		}
		if err := l.write(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("audit: write failed; retrying", "err", err)
		}
	}
}

func (l *Log) prune(ctx context.Context) {
	n, err := l.Prune(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		l.log.Warn("audit: prune failed", "err", err)
	case n > 0:
		l.log.Info("audit: pruned old events", "events", n, "retention", l.opt.Retention)
	}
}

// write stores the waiting events. Events a failed write did not store
// wait again, ahead of newer ones, as far as the buffer has room.
func (l *Log) write(ctx context.Context) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	batch := l.buf
	l.buf = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := l.store.AppendAudit(ctx, batch)
	if err == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.dropped.Add(int64(len(batch)))
		return err
	}
	room := l.opt.Buffer - len(l.buf)
	if room < len(batch) {
		l.dropped.Add(int64(len(batch) - max(room, 0)))
		batch = batch[:max(room, 0)]
	}
	l.buf = append(batch, l.buf...)
	return err
}
