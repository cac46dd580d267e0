// Package service holds perch's operations on its entities. Every adapter
// (the REST API, the AML protocol, the CLI, the console) calls these, so a
// rule (validation, a state change, a default) is written once, here.
//
// Long operations are jobs: creating a data source, model, evaluation or
// batch prediction stores it PENDING and hands a Job to the Queue; Run does
// the work, moving the entity to INPROGRESS and then COMPLETED or FAILED.
package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/audit"
	"github.com/perchml/perch/objects"
)

// Queue runs jobs in the background, durably: a job enqueued is run (by
// calling Service.Run) even if the server restarts first. Enqueueing a job
// equal to one that is waiting or running does nothing.
type Queue interface {
	Enqueue(ctx context.Context, j Job) error
}

// JobKind names what a job does.
type JobKind string

// The job kinds: one per entity kind with work to do.
const (
	JobDataSource JobKind = "datasource" // read and check the data, infer the schema, statistics
	JobTrain      JobKind = "train"
	JobEvaluate   JobKind = "evaluate"
	JobBatch      JobKind = "batch"
)

// Job is the work an entity waits for. Attempt is the entity's attempt it
// belongs to, so a job superseded by a restart does nothing.
type Job struct {
	Kind    JobKind `json:"kind"`
	ID      string  `json:"id"`
	Attempt int     `json:"attempt"`
}

// ErrNotReady is returned by Run when the job waits on another entity
// (a model on its data source, say); the queue runs it again later.
var ErrNotReady = errors.New("service: waiting for another entity")

// Config holds what a Service is built on.
type Config struct {
	Store   perch.Store
	Objects *objects.Bucket
	Queue   Queue
	Logger  *slog.Logger // nil discards
	// BaseURL is where clients reach the server, for endpoint URLs
	// (http://127.0.0.1:8080).
	BaseURL string
	// Lease is how long a running job may go without showing it is alive
	// before the job counts as abandoned and is started again; 0 means 30s.
	Lease time.Duration
	// ProgressEvery is how often a running job's progress is stored on its
	// entity; 0 means every second.
	ProgressEvery time.Duration
	// CacheBytes bounds the compiled models kept in memory, by model file
	// size; 0 means 1 GiB.
	CacheBytes int64
	// MaxAttempts is how many times a job is started before its entity
	// fails; 0 means 3.
	MaxAttempts int
	// Audit receives the changes callers make and the requests they are
	// refused; nil keeps no audit log.
	Audit *audit.Log
}

// Service performs perch's operations. It is safe for concurrent use.
type Service struct {
	store   perch.Store
	objects *objects.Bucket
	queue   Queue
	log     *slog.Logger
	baseURL string
	lease   time.Duration
	// progressEvery is Config.ProgressEvery.
	progressEvery time.Duration
	tries         int
	models        *cache
	keys          *keyCache
	aws           awsKeys // AWS-style access key pairs (awskeys.go)
	audit         *audit.Log
}

// New returns a Service on cfg.
func New(cfg Config) *Service {
	s := &Service{
		store:   cfg.Store,
		objects: cfg.Objects,
		queue:   cfg.Queue,
		log:     cfg.Logger,
		baseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		lease:   cfg.Lease,

		progressEvery: cmp.Or(cfg.ProgressEvery, time.Second),
		tries:         cfg.MaxAttempts,
		audit:         cfg.Audit,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.lease <= 0 {
		s.lease = 30 * time.Second
	}
	if s.tries <= 0 {
		s.tries = 3
	}
	size := cfg.CacheBytes
	if size <= 0 {
		size = 1 << 30
	}
	s.models = newCache(s, size)
	s.keys = newKeyCache()
	return s
}

// SetQueue sets the queue, for the wiring where the queue is built after
// the service it calls back.
func (s *Service) SetQueue(q Queue) { s.queue = q }

// SetBaseURL sets where clients reach the server, once its listener is
// bound.
func (s *Service) SetBaseURL(u string) { s.baseURL = strings.TrimSuffix(u, "/") }

// Store returns the store the service keeps its entities in.
func (s *Service) Store() perch.Store { return s.store }

// Objects returns the object store.
func (s *Service) Objects() *objects.Bucket { return s.objects }

// idPrefixes start generated ids, so an id says what it names.
const (
	dataSourcePrefix = "ds-"
	modelPrefix      = "ml-"
	evaluationPrefix = "ev-"
	batchPrefix      = "bp-"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newID returns prefix and 13 random characters: 64 bits, so ids made on
// several servers at once do not collide.
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + idEncoding.EncodeToString(b)
}

// checkName bounds a display name.
func checkName(noun, name string) error {
	if len(name) > 1024 {
		return perch.Errorf(perch.EInvalid, "%s name: %d bytes, more than 1024", noun, len(name))
	}
	return nil
}

// Tag limits, as AML had them.
const (
	maxTags        = 100
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return perch.Errorf(perch.EInvalid, "%d tags, more than %d", len(tags), maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > maxTagKeyLen {
			return perch.Errorf(perch.EInvalid, "tag key %q: want 1 to %d bytes", k, maxTagKeyLen)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") || strings.HasPrefix(strings.ToLower(k), "perch:") {
			return perch.Errorf(perch.EInvalid, "tag key %q: the aws: and perch: prefixes are reserved", k)
		}
		if len(v) > maxTagValueLen {
			return perch.Errorf(perch.EInvalid, "tag %q: value of %d bytes, more than %d", k, len(v), maxTagValueLen)
		}
	}
	return nil
}

func cloneTags(tags map[string]string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	c := make(map[string]string, len(tags))
	for k, v := range tags {
		c[k] = v
	}
	return c
}

// deleted is the error for using an entity that was deleted.
func deleted(noun, id string) error {
	return perch.Errorf(perch.EInvalid, "%s %s is deleted", noun, id)
}

func nowUTC() time.Time { return time.Now().UTC() }
