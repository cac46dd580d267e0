package pipeline

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// DefaultPoll is how often a watcher lists its pipelines' sources.
const DefaultPoll = 250 * time.Millisecond

// Watcher finds new object versions in the sources of active pipelines
// and starts a run for each.
type Watcher struct {
	Engine *Engine
	// Enqueue hands a run to the durable queue; enqueueing a run that is
	// waiting or running already does nothing.
	Enqueue func(ctx context.Context, runID string) error
	Poll    time.Duration // 0 means DefaultPoll
	// Sweep is how often runs that are not done are enqueued again, in
	// case a server stopped between storing a run and enqueueing it; 0
	// means 30s.
	Sweep time.Duration

	sources map[string]*source // by pipeline id
}

// source is what a watcher knows of one pipeline's source.
type source struct {
	url    string
	bucket *objects.Bucket
	file   bool              // a local folder: objects appear while being written
	taken  map[string]string // key → the ETag last taken
	seen   map[string]string // key → an ETag seen once, not yet taken
}

// Run watches until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	sweep := w.Sweep
	if sweep <= 0 {
		sweep = 30 * time.Second
	}
	w.sources = map[string]*source{}
	defer func() {
		for _, s := range w.sources {
			s.bucket.Close()
		}
	}()
	log := w.Engine.log()
	lastSweep := time.Time{}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if time.Since(lastSweep) >= sweep {
			if err := w.sweep(ctx); err != nil && ctx.Err() == nil {
				log.Warn("pipeline sweep", "err", err)
			}
			lastSweep = time.Now()
		}
		if err := w.scan(ctx); err != nil && ctx.Err() == nil {
			log.Warn("pipeline watch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep enqueues every run not done: a server may have stopped between
// storing one and enqueueing it, and a paused pipeline's runs wait.
func (w *Watcher) sweep(ctx context.Context) error {
	for _, st := range []perch.Status{perch.StatusPending, perch.StatusInProgress} {
		f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(st), Limit: perch.MaxPageLimit}
		for {
			runs, next, err := w.Engine.Store.ListPipelineRuns(ctx, f)
			if err != nil {
				return err
			}
			for _, r := range runs {
				if err := w.Enqueue(ctx, r.ID); err != nil {
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

// scan lists every active pipeline's source once.
func (w *Watcher) scan(ctx context.Context) error {
	f := perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: string(perch.StatusCompleted), Limit: perch.MaxPageLimit}
	live := map[string]bool{}
	var firstErr error
	for {
		ps, next, err := w.Engine.Store.ListPipelines(ctx, f)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if p.State == perch.PipelinePaused {
				continue
			}
			live[p.ID] = true
			if err := w.scanOne(ctx, p); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		if next == "" {
			break
		}
		f.PageToken = next
	}
	for id, s := range w.sources {
		if !live[id] {
			s.bucket.Close()
			delete(w.sources, id)
		}
	}
	return firstErr
}

func (w *Watcher) scanOne(ctx context.Context, p *perch.Pipeline) error {
	s := w.sources[p.ID]
	if s != nil && s.url != p.Source.Objects {
		s.bucket.Close()
		s = nil
	}
	if s == nil {
		b, err := objects.Open(ctx, p.Source.Objects)
		if err != nil {
			return err
		}
		s = &source{url: p.Source.Objects, bucket: b, file: strings.HasPrefix(p.Source.Objects, "file:"),
			taken: map[string]string{}, seen: map[string]string{}}
		w.sources[p.ID] = s
	}
	list, err := s.bucket.List(ctx, p.Source.Prefix)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(list))
	for _, o := range list {
		present[o.Key] = true
		if strings.HasPrefix(path.Base(o.Key), ".") || o.ETag == "" || s.taken[o.Key] == o.ETag {
			continue // hidden files are other programs' work in progress
		}
		// A file in a folder is seen while it is being written: it is
		// taken once two listings in a row find it unchanged.
		if s.file && s.seen[o.Key] != o.ETag {
			s.seen[o.Key] = o.ETag
			continue
		}
		if err := w.take(ctx, p, o); err != nil {
			return err
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
	return nil
}

// take starts the run of one object version, once: a run stored already
// (by this server before it restarted, or by another) is only enqueued
// again if it is not done.
func (w *Watcher) take(ctx context.Context, p *perch.Pipeline, o objects.Attrs) error {
	id := RunID(p.ID, o.Key, o.ETag)
	err := w.Engine.Store.CreatePipelineRun(ctx, &perch.PipelineRun{
		Meta:     perch.Meta{ID: id, Name: o.Key},
		Pipeline: p.ID, Key: o.Key, Version: o.ETag, Size: o.Size,
	})
	if perch.Code(err) == perch.EConflict {
		r, err := w.Engine.Store.GetPipelineRun(ctx, id)
		if err != nil {
			return err
		}
		if r.Status.Done() {
			return nil
		}
	} else if err != nil {
		return err
	}
	return w.Enqueue(ctx, id)
}
