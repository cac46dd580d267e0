package pipeline

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// DefaultPoll is how often a watcher looks at its pipelines: it lists a
// folder this often when it gets no file events, and every DefaultS3Poll
// when it does (an event starts a listing at once), and an S3 bucket
// every DefaultS3Poll (listings are billed there), unless the pipeline
// says otherwise.
const (
	DefaultPoll   = 250 * time.Millisecond
	DefaultS3Poll = time.Second
)

// poll is how often a pipeline's source is listed.
func (w *Watcher) poll(p *perch.Pipeline, folder bool) time.Duration {
	if d, err := time.ParseDuration(p.Source.Poll); err == nil && d > 0 {
		return d
	}
	if folder && (w.events == nil || w.Poll != 0) {
		return cmp.Or(w.Poll, DefaultPoll)
	}
	return max(cmp.Or(w.Poll, DefaultPoll), DefaultS3Poll)
}

// Watcher finds new object versions in the sources of active pipelines
// and starts a run for each. It lists each source every Poll; a folder
// (file://) is also watched for file events, which start a listing at
// once.
type Watcher struct {
	Engine *Engine
	// Enqueue hands a run at one of its attempts to the durable queue;
	// enqueueing one that is waiting or running already does nothing.
	Enqueue func(ctx context.Context, runID string, attempt int) error
	Poll    time.Duration // 0 means DefaultPoll
	// Settle is how long a file in a folder must stay unchanged before it
	// is taken, so that a file being copied in is not read half written:
	// it must be settle old by its modification time when first seen so,
	// and the same (size and modification time) when listed again settle
	// later. 0 means DefaultSettle.
	Settle time.Duration
	// Sweep is how often runs that are not done are enqueued again, in
	// case a server stopped between storing a run and enqueueing it, or
	// while working it; 0 means half the engine's lease.
	Sweep time.Duration

	sources   map[string]*source            // by pipeline id
	consumers map[string]context.CancelFunc // stream pipelines' consumers, by pipeline id
	running   sync.WaitGroup                // the consumers
	events    *fsnotify.Watcher             // nil when the system offers none
	wake      chan struct{}
	woken     bool // this scan follows a file event
}

// DefaultSettle is how long a file must stay unchanged before it is
// taken, twice over: a copy that stalls for up to twice this is not read
// half written. Writers that may stall longer write to a hidden name
// (.name) or outside the prefix, and rename the file into place.
const DefaultSettle = 150 * time.Millisecond

// source is what a watcher knows of one pipeline's source.
type source struct {
	url     string
	bucket  *objects.Bucket
	dir     string            // the folder watched for events, for a file:// source
	poll    time.Duration     // how often it is listed
	watched bool              // its folder gets file events
	next    time.Time         // when it is listed next
	taken   map[string]string // key → the ETag last taken
	seen    map[string]seen   // key → an ETag seen, not yet taken
}

// seen is a file not taken yet: its ETag, and when it was first listed
// settle old with that ETag (zero while it is younger).
type seen struct {
	etag string
	at   time.Time
}

// earlier is the earlier of two times, zero being none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// Run watches until ctx is done and its consumers have stopped.
func (w *Watcher) Run(ctx context.Context) {
	poll := cmp.Or(w.Poll, DefaultPoll)
	settle := cmp.Or(w.Settle, DefaultSettle)
	lease := cmp.Or(w.Engine.Lease, DefaultLease)
	sweep := cmp.Or(w.Sweep, lease/2)
	w.sources = map[string]*source{}
	w.consumers = map[string]context.CancelFunc{}
	w.wake = make(chan struct{}, 1)
	if ev, err := fsnotify.NewWatcher(); err == nil {
		w.events = ev
		go w.forward(ctx, ev)
	}
	defer w.running.Wait() // after the cancel below, deferred later
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if w.events != nil {
			w.events.Close()
		}
		for _, s := range w.sources {
			s.bucket.Close()
		}
	}()
	log := w.Engine.log()
	lastSweep, lastClean := time.Time{}, time.Time{}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		w.woken = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
			w.woken = true
		}
		if time.Since(lastSweep) >= sweep {
			if err := w.sweep(ctx, lease); err != nil && ctx.Err() == nil {
				log.Warn("pipeline sweep", "err", err)
			}
			lastSweep = time.Now()
		}
		if time.Since(lastClean) >= cleanEvery {
			w.removeTemp(ctx)
			lastClean = time.Now()
		}
		due, err := w.scan(ctx, settle)
		if err != nil && ctx.Err() == nil {
			log.Warn("pipeline watch", "err", err)
		}
		next := poll
		if !due.IsZero() {
			next = min(poll, max(time.Until(due)+time.Millisecond, time.Millisecond))
		}
		t.Reset(next)
	}
}

// cleanEvery is how often the folders pipelines write to are rid of the
// temporary files of writes a crash cut short, from the watcher's start
// on; tempAge is how long such a file must have been left untouched,
// since another server may be writing it.
const (
	cleanEvery = 10 * time.Minute
	tempAge    = time.Minute
)

// removeTemp removes, from the folders that pipelines' object sinks and
// dead letters write to, the temporary files of writes cut short.
func (w *Watcher) removeTemp(ctx context.Context) {
	done := map[string]bool{}
	f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(perch.StatusCompleted), Limit: perch.MaxPageLimit}
	for {
		ps, next, err := w.Engine.Store.ListPipelines(ctx, f)
		if err != nil {
			return
		}
		for _, p := range ps {
			urls := []string{p.DeadLetter}
			for _, s := range p.Sinks {
				if s.Objects != nil {
					urls = append(urls, s.Objects.URL)
				}
			}
			for _, u := range urls {
				if !strings.HasPrefix(u, "file://") || done[u] {
					continue
				}
				done[u] = true
				b, err := objects.Open(ctx, u)
				if err != nil {
					continue
				}
				if n, err := b.RemoveTemp(ctx, tempAge); err != nil {
					w.Engine.log().Warn("pipeline temporary files", "pipeline", p.ID, "err", err)
				} else if n > 0 {
					w.Engine.log().Info("removed the temporary files of writes a stop cut short", "pipeline", p.ID, "files", n)
				}
				b.Close()
			}
		}
		if next == "" {
			return
		}
		f.PageToken = next
	}
}

// forward turns file events into wake-ups, a few at most.
func (w *Watcher) forward(ctx context.Context, ev *fsnotify.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ev.Events:
			if !ok {
				return
			}
			select {
			case w.wake <- struct{}{}:
			default:
			}
		case _, ok := <-ev.Errors:
			if !ok {
				return
			}
		}
	}
}

// sweep enqueues every run not done: a server may have stopped between
// storing one and enqueueing it, and a paused pipeline's runs wait. A run
// INPROGRESS that has shown no sign of life for lease was abandoned by a
// server that stopped: it moves on to its next attempt, which a new job
// takes (the old job, if it ever runs, finds itself superseded).
func (w *Watcher) sweep(ctx context.Context, lease time.Duration) error {
	for _, st := range []perch.Status{perch.StatusPending, perch.StatusInProgress} {
		f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(st), Limit: perch.MaxPageLimit}
		for {
			runs, next, err := w.Engine.Store.ListPipelineRuns(ctx, f)
			if err != nil {
				return err
			}
			for _, r := range runs {
				if r.Status == perch.StatusInProgress && time.Since(r.UpdatedAt) > lease {
					nr, err := w.Engine.Store.UpdatePipelineRun(ctx, r.ID, func(r *perch.PipelineRun) error {
						if r.Status != perch.StatusInProgress || time.Since(r.UpdatedAt) <= lease {
							return errSuperseded
						}
						r.Attempt = max(r.Attempt, 1) + 1
						r.Status, r.Message = perch.StatusPending, "started again: the server working it stopped"
						return nil
					})
					if errors.Is(err, errSuperseded) {
						continue
					}
					if err != nil {
						return err
					}
					w.Engine.log().Warn("abandoned pipeline run", "run", r.ID, "attempt", nr.Attempt)
					r = nr
				}
				if err := w.Enqueue(ctx, r.ID, max(r.Attempt, 1)); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			f.PageToken = next
		}
	}
	return nil
}

// scan lists every active pipeline's source once. It returns when a file
// seen waiting to settle may be taken, or zero if none waits.
func (w *Watcher) scan(ctx context.Context, settle time.Duration) (time.Time, error) {
	f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(perch.StatusCompleted), Limit: perch.MaxPageLimit}
	live := map[string]bool{}
	var firstErr error
	var due time.Time
	for {
		ps, next, err := w.Engine.Store.ListPipelines(ctx, f)
		if err != nil {
			return time.Time{}, err
		}
		for _, p := range ps {
			if p.State == perch.PipelinePaused {
				continue
			}
			live[p.ID] = true
			if p.Source.Stream != nil || p.Source.Events != nil {
				w.consume(ctx, p)
			}
			if p.Source.Stream != nil {
				continue
			}
			d, err := w.scanOne(ctx, p, settle)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			w.setFailed(ctx, p, err)
			if !d.IsZero() {
				due = earlier(due, d)
			}
		}
		if next == "" {
			break
		}
		f.PageToken = next
	}
	for id, s := range w.sources {
		if !live[id] {
			w.drop(id, s)
		}
	}
	for id, stop := range w.consumers {
		if !live[id] {
			stop()
			delete(w.consumers, id)
		}
	}
	return due, firstErr
}

// setFailed records that a pipeline's source could not be read (err),
// as its state FAILED with the reason, or that it could again. The store
// is written only when that changes.
func (w *Watcher) setFailed(ctx context.Context, p *perch.Pipeline, err error) {
	if (err != nil) == (p.State == perch.PipelineFailed) || ctx.Err() != nil {
		return
	}
	_, uerr := w.Engine.Store.UpdatePipeline(ctx, p.ID, func(q *perch.Pipeline) error {
		switch {
		case q.State == perch.PipelinePaused || q.Status == perch.StatusDeleted:
		case err != nil:
			q.State, q.Message = perch.PipelineFailed, err.Error()
		default:
			q.State, q.Message = perch.PipelineRunning, ""
		}
		return nil
	})
	if uerr != nil && ctx.Err() == nil {
		w.Engine.log().Warn("pipeline state", "pipeline", p.ID, "err", uerr)
	}
}

// consume keeps a consumer running for a stream pipeline, or for the
// events subject of a pipeline of objects, starting it again a second
// after it fails.
func (w *Watcher) consume(ctx context.Context, p *perch.Pipeline) {
	if w.consumers[p.ID] != nil {
		return
	}
	cctx, cancel := context.WithCancel(ctx)
	w.consumers[p.ID] = cancel
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		for cctx.Err() == nil {
			var err error
			if p.Source.Stream != nil {
				err = w.Engine.Consume(cctx, p)
			} else {
				err = w.Engine.Events(cctx, p, w.Enqueue)
			}
			if err != nil && cctx.Err() == nil {
				mErrors.WithLabelValues(p.ID).Inc()
				w.Engine.log().Warn("pipeline stream", "pipeline", p.ID, "err", err)
			}
			select {
			case <-cctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

func (w *Watcher) drop(id string, s *source) {
	if s.dir != "" && w.events != nil {
		w.events.Remove(s.dir)
	}
	s.bucket.Close()
	delete(w.sources, id)
}

func (w *Watcher) scanOne(ctx context.Context, p *perch.Pipeline, settle time.Duration) (due time.Time, err error) {
	s := w.sources[p.ID]
	if s != nil && s.url != p.Source.Objects {
		w.drop(p.ID, s)
		s = nil
	}
	if s == nil {
		b, err := objects.Open(ctx, p.Source.Objects)
		if err != nil {
			return time.Time{}, err
		}
		s = &source{url: p.Source.Objects, bucket: b, taken: map[string]string{}, seen: map[string]seen{}}
		if u, err := url.Parse(p.Source.Objects); err == nil && u.Scheme == "file" {
			s.dir = filepath.Join(filepath.FromSlash(u.Path), filepath.FromSlash(path.Dir("/"+p.Source.Prefix+"x")))
		}
		s.poll = w.poll(p, s.dir != "")
		w.sources[p.ID] = s
	}
	if s.dir != "" && !s.watched && w.events != nil {
		// A folder not there yet is watched once it is.
		s.watched = w.events.Add(s.dir) == nil
	}
	now := time.Now()
	if now.Before(s.next) && len(s.seen) == 0 && !(w.woken && s.dir != "") {
		return time.Time{}, nil
	}
	s.next = now.Add(s.poll)
	list, err := s.bucket.List(ctx, p.Source.Prefix)
	if err != nil {
		return time.Time{}, err
	}
	present := make(map[string]bool, len(list))
	for _, o := range list {
		present[o.Key] = true
		if strings.HasPrefix(path.Base(o.Key), ".") || o.ETag == "" || s.taken[o.Key] == o.ETag {
			continue // hidden files are other programs' work in progress
		}
		// A file in a folder is seen while it is being written, and a
		// copy that stalls leaves its modification time still for as
		// long: a file is taken once it was settle old when seen and is
		// the same (its ETag is its size and modification time) a
		// listing at least settle later.
		if s.dir != "" {
			sn, ok := s.seen[o.Key]
			if !ok || sn.etag != o.ETag || sn.at.IsZero() {
				sn = seen{etag: o.ETag}
				// A time ahead of the clock (another machine's, or one a
				// copy kept) says nothing: the listings alone decide.
				if age := now.Sub(o.ModTime); age >= settle || age < 0 {
					sn.at = now
					due = earlier(due, now.Add(settle))
				} else {
					due = earlier(due, o.ModTime.Add(settle))
				}
				s.seen[o.Key] = sn
				continue
			}
			if now.Sub(sn.at) < settle {
				due = earlier(due, sn.at.Add(settle))
				continue
			}
		}
		if err := w.Engine.take(ctx, p, o, w.Enqueue); err != nil {
			return due, err
		}
		s.taken[o.Key] = o.ETag
		delete(s.seen, o.Key)
	}
	for k := range s.taken {
		if !present[k] {
			delete(s.taken, k)
		}
	}
	for k := range s.seen {
		if !present[k] {
			delete(s.seen, k)
		}
	}
	return due, nil
}

// take starts the run of one object version, once: a run stored already
// (by this server before it restarted, or by another) is only enqueued
// again if it is not done.
func (e *Engine) take(ctx context.Context, p *perch.Pipeline, o objects.Attrs, enqueue func(ctx context.Context, runID string, attempt int) error) error {
	id := RunID(p.ID, o.Key, o.ETag)
	err := e.Store.CreatePipelineRun(ctx, &perch.PipelineRun{
		Meta:     perch.Meta{ID: id, Name: o.Key},
		Pipeline: p.ID, Key: o.Key, Version: o.ETag, Size: o.Size, Landed: o.ModTime.UTC(),
	})
	attempt := 1
	if perch.Code(err) == perch.EConflict {
		r, err := e.Store.GetPipelineRun(ctx, id)
		if err != nil {
			return err
		}
		if r.Status.Done() {
			return nil
		}
		attempt = max(r.Attempt, 1)
	} else if err != nil {
		return err
	}
	return enqueue(ctx, id, attempt)
}
