package service

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

// MaxBatchRecords bounds the records of one batch predict request.
const MaxBatchRecords = 1000

// refreshEvery is how often a cached model is checked against the store,
// so that a change made through another server (a new threshold, a closed
// endpoint) reaches this one within that time.
const refreshEvery = time.Second

// Predict predicts one record with a model that has a READY endpoint; the
// prediction is written to out, whose storage is reused. It answers from
// memory: the compiled model is loaded once and checked against the store
// in the background.
func (s *Service) Predict(ctx context.Context, id string, r perch.Record, out *perch.Prediction) error {
	start := time.Now()
	if err := s.authorize(ctx, "machinelearning:Predict", perch.Resource(perch.KindMLModel, id), s.cachedTags(ctx, id)); err != nil {
		return err
	}
	p, e, err := s.endpoint(ctx, id)
	if err != nil {
		return err
	}
	p.PredictRecord(r, out)
	e.metrics.observe(1, start)
	return nil
}

// PredictBatch predicts up to MaxBatchRecords records, in order.
func (s *Service) PredictBatch(ctx context.Context, id string, rs []perch.Record) ([]perch.Prediction, error) {
	if len(rs) > MaxBatchRecords {
		return nil, perch.Errorf(perch.ELimitExceeded, "%d records, more than the limit of %d per request", len(rs), MaxBatchRecords)
	}
	start := time.Now()
	if err := s.authorize(ctx, "machinelearning:Predict", perch.Resource(perch.KindMLModel, id), s.cachedTags(ctx, id)); err != nil {
		return nil, err
	}
	p, e, err := s.endpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]perch.Prediction, len(rs))
	for i, r := range rs {
		p.PredictRecord(r, &out[i])
	}
	e.metrics.observe(len(rs), start)
	return out, nil
}

// cachedTags gives a model's tags from the model cache, for policies with
// tag conditions on predictions.
func (s *Service) cachedTags(ctx context.Context, id string) func() map[string]string {
	return func() map[string]string {
		e, err := s.models.entry(ctx, id)
		if err != nil {
			return nil
		}
		return e.state.Load().model.Tags
	}
}

// endpoint returns the compiled model behind a READY endpoint, and its
// cache entry.
func (s *Service) endpoint(ctx context.Context, id string) (*model.Predictor, *cacheEntry, error) {
	e, err := s.models.entry(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	st := e.state.Load()
	if st.model.Endpoint.Status != perch.EndpointReady {
		if st.model.Status == perch.StatusDeleted {
			return nil, nil, perch.Errorf(perch.ENotFound, "model %s is deleted", id)
		}
		return nil, nil, perch.Errorf(perch.EConflict, "model %s has no real-time endpoint (endpoint status %s); create one first", id, st.model.Endpoint.Status)
	}
	p, err := s.models.predictor(ctx, st)
	return p, e, err
}

// predictor returns the compiled model of a cache state, compiling it when
// the state has none that fits.
func (c *cache) predictor(ctx context.Context, st *cached) (*model.Predictor, error) {
	if st.compiled != nil && st.compiled.matches(st.model) {
		return st.compiled.predictor, nil
	}
	cm, err := c.load(ctx, st.model)
	if err != nil {
		return nil, err
	}
	return cm.predictor, nil
}

// compiled is a model file compiled for prediction.
type compiled struct {
	predictor *model.Predictor
	artifact  string
	threshold float64
	size      int64
}

func (c *compiled) matches(m *perch.MLModel) bool {
	return c.artifact == m.ArtifactURL && c.threshold == m.ScoreThreshold
}

// cached is what the cache knows of one model at one moment; it is
// replaced whole, never changed, so readers need no lock.
type cached struct {
	model    *perch.MLModel
	compiled *compiled // nil until a prediction or job needs it
}

type cacheEntry struct {
	id         string
	state      atomic.Pointer[cached]
	checked    atomic.Int64 // UnixNano of the last look at the store
	used       atomic.Int64 // UnixNano of the last use, for eviction
	refreshing atomic.Bool
	load       sync.Mutex // one compilation at a time
	metrics    modelMetrics
}

// cache keeps compiled models, bounded by the size of their files.
type cache struct {
	s       *Service
	max     int64
	mu      sync.RWMutex
	entries map[string]*cacheEntry
	size    int64 // bytes of compiled models held
	// missing remembers, for refreshEvery, ids the store did not have,
	// so requests for a model that does not exist do not each query it.
	missing      sync.Map // id → UnixNano when found missing
	missingCount atomic.Int64
}

func newCache(s *Service, max int64) *cache {
	return &cache{s: s, max: max, entries: make(map[string]*cacheEntry)}
}

// maxMissing bounds the ids remembered as missing.
const maxMissing = 10000

// entry returns the cache entry of a model, reading the model from the
// store on a miss and starting a background check when the entry is old.
func (c *cache) entry(ctx context.Context, id string) (*cacheEntry, error) {
	now := time.Now().UnixNano()
	c.mu.RLock()
	e := c.entries[id]
	c.mu.RUnlock()
	if e == nil {
		if t, ok := c.missing.Load(id); ok && now-t.(int64) < int64(refreshEvery) {
			return nil, perch.Errorf(perch.ENotFound, "model %s not found", perch.Clip(id))
		}
		m, err := c.s.store.GetMLModel(ctx, id)
		if perch.Code(err) == perch.ENotFound {
			if c.missingCount.Add(1) > maxMissing {
				c.missing.Clear()
				c.missingCount.Store(0)
			}
			c.missing.Store(id, now)
		}
		if err != nil {
			return nil, err
		}
		c.missing.Delete(id)
		e = c.put(m)
	} else if now-e.checked.Load() > int64(refreshEvery) && e.refreshing.CompareAndSwap(false, true) {
		go c.refresh(e)
	}
	e.used.Store(now)
	return e, nil
}

// put returns the entry of m, adding it if missing.
func (c *cache) put(m *perch.MLModel) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[m.ID]
	if e == nil {
		e = &cacheEntry{id: m.ID, metrics: newModelMetrics(m.ID)}
		e.state.Store(&cached{model: m})
		e.checked.Store(time.Now().UnixNano())
		c.entries[m.ID] = e
	}
	return e
}

// refresh reads a model from the store again.
func (c *cache) refresh(e *cacheEntry) {
	defer e.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.s.store.GetMLModel(ctx, e.id)
	if perch.Code(err) == perch.ENotFound {
		c.drop(e.id)
		return
	}
	if err != nil {
		c.s.log.Warn("model cache refresh", "model", e.id, "err", err)
		return
	}
	c.changed(m)
}

// changed records a model's new state, unless the cache holds a newer
// one: a check that read the store before a change made here may finish
// after it. A compiled model of the same file is kept, as a new threshold
// is compiled from it in memory on the next prediction; one of another
// file is dropped.
func (c *cache) changed(m *perch.MLModel) {
	c.mu.RLock()
	e := c.entries[m.ID]
	c.mu.RUnlock()
	if e == nil {
		return
	}
	e.checked.Store(time.Now().UnixNano())
	for {
		old := e.state.Load()
		if m.UpdatedAt.Before(old.model.UpdatedAt) {
			return
		}
		next := &cached{model: m, compiled: old.compiled}
		if old.compiled != nil && old.compiled.artifact != m.ArtifactURL {
			next.compiled = nil
		}
		if e.state.CompareAndSwap(old, next) {
			if old.compiled != nil && next.compiled == nil {
				c.mu.Lock()
				c.size -= old.compiled.size
				c.mu.Unlock()
			}
			return
		}
	}
}

func (c *cache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil {
		if st := e.state.Load(); st.compiled != nil {
			c.size -= st.compiled.size
		}
		delete(c.entries, id)
	}
}

// load returns m compiled, reading its model file if no compiled model
// fits it. A model whose file is already loaded and only has a new
// threshold is compiled again from memory.
func (c *cache) load(ctx context.Context, m *perch.MLModel) (*compiled, error) {
	if m.Status != perch.StatusCompleted || m.ArtifactURL == "" {
		return nil, perch.Errorf(perch.EConflict, "model %s is %s; it has no trained model yet", m.ID, m.Status)
	}
	e := c.put(m)
	e.used.Store(time.Now().UnixNano())
	e.load.Lock()
	defer e.load.Unlock()
	st := e.state.Load()
	if st.compiled != nil && st.compiled.matches(m) {
		return st.compiled, nil
	}
	var file *model.Model
	if st.compiled != nil && st.compiled.artifact == m.ArtifactURL {
		f := *st.compiled.predictor.Model()
		file = &f
	} else {
		key, err := c.s.objects.Key(m.ArtifactURL)
		if err != nil {
			return nil, err
		}
		b, err := c.s.objects.ReadAll(ctx, key)
		if err != nil {
			return nil, err
		}
		if file, err = model.Decode(b); err != nil {
			return nil, perch.Errorf(perch.EInternal, "model %s: its file %s does not load: %v", m.ID, key, err)
		}
	}
	file.ScoreThreshold = m.ScoreThreshold
	p, err := model.Compile(file)
	if err != nil {
		return nil, perch.Errorf(perch.EInternal, "model %s: %v", m.ID, err)
	}
	cm := &compiled{predictor: p, artifact: m.ArtifactURL, threshold: m.ScoreThreshold, size: max(m.SizeBytes, 1)}
	// Keep the newest model state alongside: m may be older than what a
	// refresh stored meanwhile; a compiled model that does not fit the
	// newest state is compiled again on its next use.
	for {
		old := e.state.Load()
		next := &cached{model: old.model, compiled: cm}
		if m.UpdatedAt.After(old.model.UpdatedAt) {
			next.model = m
		}
		if e.state.CompareAndSwap(old, next) {
			c.mu.Lock()
			if old.compiled != nil {
				c.size -= old.compiled.size
			}
			c.size += cm.size
			c.evict(e)
			c.mu.Unlock()
			break
		}
	}
	return cm, nil
}

// evict drops the least recently used compiled models until the cache
// fits, keeping keep. c.mu is held.
func (c *cache) evict(keep *cacheEntry) {
	for c.size > c.max {
		var victim *cacheEntry
		for _, e := range c.entries {
			if e == keep || e.state.Load().compiled == nil {
				continue
			}
			if victim == nil || e.used.Load() < victim.used.Load() {
				victim = e
			}
		}
		if victim == nil {
			return
		}
		// Entries change without c.mu (changed, another load): a state
		// read here may be gone, and storing over a newer one would bring
		// back an older model state.
		st := victim.state.Load()
		if st.compiled == nil || !victim.state.CompareAndSwap(st, &cached{model: st.model}) {
			continue
		}
		c.size -= st.compiled.size
	}
}

// Explain predicts a record with a model that has a READY endpoint, as
// Predict does, and explains the prediction in out.Contributions; only
// tree models (gbdt) explain.
func (s *Service) Explain(ctx context.Context, id string, r perch.Record, out *perch.Prediction) error {
	start := time.Now()
	if err := s.authorize(ctx, "machinelearning:Predict", perch.Resource(perch.KindMLModel, id), s.cachedTags(ctx, id)); err != nil {
		return err
	}
	p, e, err := s.endpoint(ctx, id)
	if err != nil {
		return err
	}
	fields := make([]string, p.Width())
	p.Fields(r, fields)
	err = p.Explain(fields, out)
	e.metrics.observe(1, start)
	return err
}
