// Package pipeline runs perch's pipelines: it watches a pipeline's source
// for objects, reads each new object version's records, predicts them
// with the pipeline's model and writes the results to its sinks, keeping
// records it cannot read as dead letters.
//
// Each object version is one run, a stored entity whose id follows from
// (pipeline, key, version): creating it is the durable record that the
// version was taken, and its counts are the checkpoint a run resumes from
// after a crash. Sinks are idempotent (an upsert keyed by pipeline, key,
// version and row; objects written whole and atomically), so a batch
// written again after a crash changes nothing.
package pipeline

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/objects"
)

// ErrPaused is returned by Run for a run whose pipeline is paused; it
// runs when the pipeline resumes.
var ErrPaused = errors.New("pipeline: paused")

// Engine runs pipelines on a store; it holds no state of its own.
type Engine struct {
	Store perch.Store
	// Predictor returns the compiled model for an id: the service's, so
	// that pipelines predict through the one predict path.
	Predictor func(ctx context.Context, modelID string) (*model.Predictor, error)
	Logger    *slog.Logger
	// BatchRows is how many records are written and checkpointed at a
	// time; 0 means 10,000.
	BatchRows int
	// Lease is how long a run may go without showing it is alive before a
	// watcher takes it for abandoned; 0 means DefaultLease.
	Lease time.Duration
	// AckWait is how long a stream message taken by a consumer that
	// stopped waits before it is delivered again; 0 means 30s.
	AckWait time.Duration
}

// DefaultLease is how long a run may go without a sign of life.
const DefaultLease = 30 * time.Second

func (e *Engine) log() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// RunID is the id of the run of one object version.
func RunID(pipelineID, key, version string) string {
	h := sha256.Sum256([]byte(pipelineID + "\x00" + key + "\x00" + version))
	return "pr-" + hex.EncodeToString(h[:16])
}

// versionTag is a short, key-safe name of a version.
func versionTag(version string) string {
	h := sha256.Sum256([]byte(version))
	return hex.EncodeToString(h[:6])
}

// Check validates a pipeline's definition without connecting anywhere.
func Check(p *perch.Pipeline) error {
	if p.Model == "" {
		return perch.Errorf(perch.EInvalid, "model is required")
	}
	switch {
	case p.Source.Stream != nil && p.Source.Objects != "":
		return perch.Errorf(perch.EInvalid, "source: want objects or stream, not both")
	case p.Source.Stream != nil:
		if err := checkStreamSource("source.stream", p.Source.Stream); err != nil {
			return err
		}
		if p.Source.Events != nil {
			return perch.Errorf(perch.EInvalid, "source.events: only a source of objects has events")
		}
	case p.Source.Objects == "":
		return perch.Errorf(perch.EInvalid, "source.objects is required: the bucket URL to watch (or source.stream)")
	default:
		if err := checkBucketURL("source.objects", p.Source.Objects); err != nil {
			return err
		}
		if ev := p.Source.Events; ev != nil {
			if err := checkStream("source.events", ev.URL, ev.Subject); err != nil {
				return err
			}
		}
	}
	if p.Source.Poll != "" {
		d, err := time.ParseDuration(p.Source.Poll)
		if err != nil || d < DefaultPoll || d > time.Hour {
			return perch.Errorf(perch.EInvalid, "source.poll %q: want a duration from 250ms to 1h", p.Source.Poll)
		}
	}
	if p.Source.Prefix != "" {
		if err := objects.ValidKey(strings.TrimSuffix(p.Source.Prefix, "/") + "/x"); err != nil {
			return perch.Errorf(perch.EInvalid, "source.prefix %q: %v", p.Source.Prefix, err)
		}
	}
	switch strings.ToLower(p.Source.Format) {
	case "", "csv", "jsonl":
	default:
		return perch.Errorf(perch.EInvalid, "source.format %q: want csv or jsonl", p.Source.Format)
	}
	if len(p.Sinks) == 0 {
		return perch.Errorf(perch.EInvalid, "sinks: at least one is required")
	}
	for i, s := range p.Sinks {
		n := 0
		if s.SQL != nil {
			n++
			if err := checkSQLSink(s.SQL); err != nil {
				return perch.Errorf(perch.EInvalid, "sinks[%d]: %s", i, err.Error())
			}
		}
		if s.Objects != nil {
			n++
			if err := checkObjectSink(s.Objects); err != nil {
				return perch.Errorf(perch.EInvalid, "sinks[%d]: %s", i, err.Error())
			}
			if err := checkBucketURL(fmt.Sprintf("sinks[%d].objects.url", i), s.Objects.URL); err != nil {
				return err
			}
			if sameBucket(s.Objects.URL, p.Source.Objects) {
				return perch.Errorf(perch.EInvalid, "sinks[%d]: the output would land in the source and be read again", i)
			}
		}
		if s.HTTP != nil {
			n++
			if err := checkHTTPSink(s.HTTP); err != nil {
				return perch.Errorf(perch.EInvalid, "sinks[%d]: %s", i, err.Error())
			}
		}
		if s.Stream != nil {
			n++
			if err := checkStreamSink(fmt.Sprintf("sinks[%d].stream", i), s.Stream); err != nil {
				return err
			}
		}
		if n != 1 {
			return perch.Errorf(perch.EInvalid, "sinks[%d]: want exactly one of sql, objects, http, stream", i)
		}
	}
	if p.DeadLetter == "" {
		return perch.Errorf(perch.EInvalid, "dead_letter is required: the bucket URL for records that cannot be read")
	}
	if err := checkBucketURL("dead_letter", p.DeadLetter); err != nil {
		return err
	}
	if sameBucket(p.DeadLetter, p.Source.Objects) && p.Source.Prefix == "" {
		return perch.Errorf(perch.EInvalid, "dead_letter: the dead letters would land in the source and be read again")
	}
	return nil
}

func checkBucketURL(field, u string) error {
	switch {
	case strings.HasPrefix(u, "file:///"), strings.HasPrefix(u, "s3://"):
		return nil
	}
	return perch.Errorf(perch.EInvalid, "%s %q: want file:///absolute/dir or s3://bucket?…", field, u)
}

func sameBucket(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

// sink is one place results go.
type sink interface {
	// write commits rs; writing a result again changes nothing.
	write(ctx context.Context, rs []Result) error
	// whole reports whether the sink needs every record of the object,
	// also those a resumed run has written already.
	whole() bool
	// finish completes the sink's output after the last record.
	finish(ctx context.Context) error
	// close releases the sink, abandoning output not finished.
	close() error
}

// Run takes one run to its end: reads the object, predicts each record,
// writes the results and dead letters batch by batch, checkpointing after
// each, and records the run COMPLETED. A run that was interrupted resumes
// after its checkpoint. An error leaves the run to be tried again.
//
// attempt is the run's attempt the caller was given: a run found
// abandoned (its server stopped) moves on to its next attempt, and a
// caller holding an older one does nothing, so that one worker at a time
// has the run.
func (e *Engine) Run(ctx context.Context, runID string, attempt int) error {
	r, err := e.Store.GetPipelineRun(ctx, runID)
	if perch.Code(err) == perch.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Status.Done() || max(r.Attempt, 1) != max(attempt, 1) {
		return nil
	}
	p, err := e.Store.GetPipeline(ctx, r.Pipeline)
	if perch.Code(err) == perch.ENotFound || (err == nil && p.Status == perch.StatusDeleted) {
		return e.finish(ctx, runID, fmt.Errorf("pipeline %s is deleted", r.Pipeline))
	}
	if err != nil {
		return err
	}
	if p.State == perch.PipelinePaused {
		return ErrPaused
	}
	start := time.Now()
	if r, err = e.Store.UpdatePipelineRun(ctx, runID, func(r *perch.PipelineRun) error {
		if r.StartedAt == nil {
			t := time.Now().UTC()
			r.StartedAt = &t
			if s, ok := since(r.Landed); ok {
				mLag.WithLabelValues(r.Pipeline).Observe(s)
			}
		}
		if max(r.Attempt, 1) != max(attempt, 1) {
			return errSuperseded
		}
		r.Status = perch.StatusInProgress
		return nil
	}); errors.Is(err, errSuperseded) {
		return nil
	} else if err != nil {
		return err
	}
	stop := e.heartbeat(ctx, runID)
	defer stop()
	outputs, err := e.process(ctx, p, r)
	var g gone
	if errors.As(err, &g) {
		return e.finish(ctx, runID, g.err)
	}
	if errors.Is(err, errSuperseded) {
		return nil
	}
	if err != nil {
		msg := err.Error()
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		e.Store.UpdatePipelineRun(bg, runID, func(r *perch.PipelineRun) error {
			if max(r.Attempt, 1) != max(attempt, 1) {
				return errSuperseded
			}
			r.Status, r.Message = perch.StatusPending, msg
			r.DurationMS += time.Since(start).Milliseconds()
			return nil
		})
		if ctx.Err() == nil {
			mErrors.WithLabelValues(r.Pipeline).Inc()
		}
		return err
	}
	_, err = e.Store.UpdatePipelineRun(context.WithoutCancel(ctx), runID, func(r *perch.PipelineRun) error {
		if max(r.Attempt, 1) != max(attempt, 1) {
			return errSuperseded
		}
		t := time.Now().UTC()
		r.Status, r.FinishedAt, r.Message = perch.StatusCompleted, &t, ""
		r.DurationMS += time.Since(start).Milliseconds()
		r.Output = outputs
		return nil
	})
	if errors.Is(err, errSuperseded) {
		return nil
	}
	if err == nil {
		mObjects.WithLabelValues(r.Pipeline, "completed").Inc()
		if s, ok := since(r.Landed); ok {
			mLatency.WithLabelValues(r.Pipeline).Observe(s)
		}
	}
	return err
}

// gone is a run's failure that no retry can mend: its object version is
// no longer there.
type gone struct{ err error }

func (g gone) Error() string { return g.err.Error() }

// errSuperseded says a run moved on to a newer attempt.
var errSuperseded = errors.New("pipeline: run superseded")

// heartbeat touches the run now and then while it is worked, so that a
// watcher does not take it for abandoned between checkpoints.
func (e *Engine) heartbeat(ctx context.Context, runID string) (stop func()) {
	every := cmp.Or(e.Lease, DefaultLease) / 3
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				e.Store.UpdatePipelineRun(ctx, runID, func(*perch.PipelineRun) error { return nil })
			}
		}
	}()
	return func() { close(done) }
}

// Fail records a run that will not be tried again, with the reason.
func (e *Engine) Fail(ctx context.Context, runID string, reason error) error {
	return e.finish(ctx, runID, reason)
}

func (e *Engine) finish(ctx context.Context, runID string, reason error) error {
	_, err := e.Store.UpdatePipelineRun(context.WithoutCancel(ctx), runID, func(r *perch.PipelineRun) error {
		if r.Status.Done() {
			return nil
		}
		t := time.Now().UTC()
		r.Status, r.FinishedAt, r.Message = perch.StatusFailed, &t, reason.Error()
		mObjects.WithLabelValues(r.Pipeline, "quarantined").Inc()
		return nil
	})
	if perch.Code(err) == perch.ENotFound {
		return nil
	}
	return err
}

// maxErrors bounds the dead letters' errors a run keeps in its record.
const maxErrors = 10

// process reads, predicts and writes one run's object, returning the
// URLs of the objects it wrote.
func (e *Engine) process(ctx context.Context, p *perch.Pipeline, r *perch.PipelineRun) ([]string, error) {
	pred, err := e.Predictor(ctx, p.Model)
	if err != nil {
		return nil, err
	}
	src, err := objects.Open(ctx, p.Source.Objects)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dlb, err := objects.Open(ctx, p.DeadLetter)
	if err != nil {
		return nil, err
	}
	defer dlb.Close()
	// The run is of one version: if the object is gone, or is another
	// version now (which has a run of its own), there is nothing to read.
	a, err := src.Attributes(ctx, r.Key)
	if perch.Code(err) == perch.ENotFound {
		return nil, gone{fmt.Errorf("object %s was deleted before it was read", r.Key)}
	}
	if err != nil {
		return nil, err
	}
	if a.ETag != r.Version {
		return nil, gone{fmt.Errorf("object %s changed (to version %s) before this version was read; the new version has a run of its own", r.Key, a.ETag)}
	}
	in, err := src.NewReader(ctx, r.Key)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	rd, err := NewReader(in, r.Key, Format(p.Source.Format, r.Key), pred.Model().Schema)
	if err != nil {
		return nil, err
	}
	defer rd.Close()

	layout := NewLayout(pred.Model())
	sinks, kinds, outputs, err := openSinks(ctx, p, layout, r.Key, r.Version, "")
	if err != nil {
		return nil, err
	}
	defer closeSinks(sinks)

	size := e.BatchRows
	if size <= 0 {
		size = 10000
	}
	// Records are read and predicted a batch ahead of the writes, so
	// parsing and the sinks' work overlap.
	rctx, cancel := context.WithCancel(ctx)
	free := make(chan *batch, 5)
	batches, readErr := readBatches(rctx, rd, pred, size, free, func(rec *Record) DeadLetter {
		return DeadLetter{Pipeline: p.ID, Object: r.Key, Version: r.Version, Row: rec.Row, Line: rec.Line, Raw: rec.Raw, Error: rec.Err.Error(), Header: rd.Header()}
	})
	defer func() {
		cancel()
		for range batches { // the reader is done with rd once this ends
		}
	}()
	done := r.Rows // the checkpoint: records already written everywhere
	for b := range batches {
		fresh := b.last > done
		for i, s := range sinks {
			if !fresh && !s.whole() {
				continue
			}
			t := time.Now()
			if err := s.write(ctx, b.results); err != nil {
				return nil, err
			}
			mBatch.WithLabelValues(kinds[i]).Observe(time.Since(t).Seconds())
		}
		if !fresh {
			select {
			case free <- b:
			default:
			}
			continue
		}
		if len(b.dead) > 0 {
			if err := writeDeadLetters(ctx, dlb, deadLetterKey(p.ID, r.Key, r.Version, b.first), b.dead); err != nil {
				return nil, err
			}
		}
		nres, ndead := int64(len(b.results)), int64(len(b.dead))
		var errs []string
		for _, d := range b.dead {
			errs = append(errs, d.Error)
		}
		attempt := max(r.Attempt, 1)
		if _, err := e.Store.UpdatePipelineRun(ctx, r.ID, func(r *perch.PipelineRun) error {
			if max(r.Attempt, 1) != attempt {
				return errSuperseded // counted by the attempt that has it now
			}
			r.Rows = b.last
			r.Predicted += nres
			r.DeadLetters += ndead
			for _, m := range errs {
				if len(r.Errors) < maxErrors {
					r.Errors = append(r.Errors, m)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		mRecords.WithLabelValues(p.ID, "predicted").Add(float64(nres))
		mRecords.WithLabelValues(p.ID, "dead_letter").Add(float64(ndead))
		done = b.last
		select {
		case free <- b:
		default:
		}
	}
	if err := <-readErr; err != nil {
		return nil, fmt.Errorf("reading %s: %w", r.Key, err)
	}
	for _, s := range sinks {
		if err := s.finish(ctx); err != nil {
			return nil, err
		}
	}
	return outputs, nil
}

// batch is a run of consecutive records, read and predicted. Batches hold
// a fixed number of records (the last one fewer), so a run that starts
// again cuts the object at the same rows.
type batch struct {
	results     []Result
	dead        []DeadLetter
	first, last int64 // rows
}

// readBatches reads rd in batches of size records, predicting each
// readable one, until the input or ctx ends; batches done with may be
// handed back on free. The error channel gets the
// read error, or nil, once the batch channel is closed.
func readBatches(ctx context.Context, rd *Reader, pred *model.Predictor, size int, free <-chan *batch, dead func(*Record) DeadLetter) (<-chan *batch, <-chan error) {
	read := make(chan *batch, 2)
	out := make(chan *batch, 2)
	errc := make(chan error, 1)
	// Reading and predicting are stages of their own, one batch apart.
	go func() {
		defer close(out)
		for b := range read {
			predictAll(pred, b.results)
			select {
			case out <- b:
			case <-ctx.Done():
				for range read {
				}
				return
			}
		}
	}()
	go func() {
		defer close(read)
		for {
			var b *batch
			select {
			case b = <-free: // its predictions' storage is used again
				b.results, b.dead, b.first, b.last = b.results[:0], b.dead[:0], -1, 0
			default:
				b = &batch{results: make([]Result, 0, size), first: -1}
			}
			eof := false
			for len(b.results)+len(b.dead) < size {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					eof = true
					break
				}
				if err != nil {
					errc <- err
					return
				}
				if b.first < 0 {
					b.first = rec.Row
				}
				b.last = rec.Row
				if rec.Err != nil {
					b.dead = append(b.dead, dead(&rec))
					continue
				}
				b.results = b.results[:len(b.results)+1]
				b.results[len(b.results)-1].Record = rec
			}
			if b.first >= 0 {
				select {
				case read <- b:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			}
			if eof {
				errc <- nil
				return
			}
		}
	}()
	return out, errc
}

// predictAll predicts a batch's records in place, on every core when the
// batch is large enough to share: a tree model's prediction costs more
// than reading and writing a record, and would hold the pipeline to one
// core.
func predictAll(pred *model.Predictor, rs []Result) {
	const least = 512 // records a goroutine is worth
	n := min(runtime.GOMAXPROCS(0), len(rs)/least)
	if n <= 1 {
		for i := range rs {
			pred.Predict(rs[i].Fields, &rs[i].Prediction)
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(rs) + n - 1) / n
	for lo := 0; lo < len(rs); lo += per {
		part := rs[lo:min(len(rs), lo+per)]
		wg.Go(func() {
			for i := range part {
				pred.Predict(part[i].Fields, &part[i].Prediction)
			}
		})
	}
	wg.Wait()
}

// sinkKind names a sink's kind, as metrics label it.
func sinkKind(s perch.PipelineSink) string {
	switch {
	case s.SQL != nil && strings.HasPrefix(s.SQL.URL, "sqlite:"):
		return "sqlite"
	case s.SQL != nil:
		return "postgres"
	case s.Objects != nil:
		return "objects"
	case s.HTTP != nil:
		return "http"
	case s.Stream != nil:
		return "stream"
	}
	return "unknown"
}

// openSinks opens a pipeline's sinks for the results of one object
// version; an objects sink's output key gets suffix before its
// extension (a replay's own output). It returns the sinks, their kinds
// and the URLs of the objects they will write.
func openSinks(ctx context.Context, p *perch.Pipeline, layout *Layout, key, version, suffix string) (sinks []sink, kinds, outputs []string, err error) {
	defer func() {
		if err != nil {
			closeSinks(sinks)
		}
	}()
	for _, def := range p.Sinks {
		var s sink
		switch {
		case def.SQL != nil:
			s, err = openSQLSink(ctx, def.SQL, layout, p.ID, key, version)
		case def.Objects != nil:
			format := strings.ToLower(def.Objects.Format)
			if format == "" {
				format = "csv"
			}
			out := OutputKey(key, p.Source.Prefix, format)
			out = strings.TrimSuffix(out, "."+format) + suffix + "." + format
			var obs *objectSink
			if obs, err = openObjectSink(ctx, def.Objects, layout, out); err == nil {
				outputs = append(outputs, obs.bucket.URL(out))
				s = obs
			}
		case def.HTTP != nil:
			s, err = openHTTPSink(def.HTTP, layout, p.ID, key, version)
		case def.Stream != nil:
			s, err = openStreamSink(ctx, def.Stream, layout, p.ID, key, version)
		}
		if err != nil {
			return sinks, nil, nil, err
		}
		sinks = append(sinks, s)
		kinds = append(kinds, sinkKind(def))
	}
	return sinks, kinds, outputs, nil
}

// rekeyer is a sink a stream consumer can move to another key between
// writes, rather than open one for each: a Kafka topic's partitions are
// keys of their own.
type rekeyer interface {
	setKey(key string)
}

func closeSinks(sinks []sink) {
	for _, s := range sinks {
		s.close()
	}
}
