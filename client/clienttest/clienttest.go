// Package clienttest runs a real perch server in-process for tests of the
// client and of the commands that use it: the REST API over a service on
// a temporary SQLite database and object folder, with jobs run in
// goroutines rather than on a durable queue.
package clienttest

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/api"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// Server is a running server; everything it holds goes when the test
// ends.
type Server struct {
	URL     string
	Key     string // the root key
	DataDir string // holds the root key's file, as perch serve's data directory does
	Service *service.Service
}

// New starts a server for t.
func New(t testing.TB) *Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "perch.db"))
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	bucket, err := objects.Open(ctx, filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatalf("objects.Open: %v", err)
	}
	t.Cleanup(func() { bucket.Close() })
	key, _, err := access.EnsureRootKey(dir)
	if err != nil {
		t.Fatalf("root key: %v", err)
	}
	q := &queue{active: map[service.Job]bool{}}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	svc := service.New(service.Config{Store: store, Objects: bucket, Queue: q})
	q.svc = svc
	if err := svc.RegisterRootKey(ctx, key); err != nil {
		t.Fatalf("RegisterRootKey: %v", err)
	}
	srv := httptest.NewServer(api.New(svc, api.Options{}))
	t.Cleanup(srv.Close)
	svc.SetBaseURL(srv.URL)
	// Registered last, so it runs first: the jobs stop before the server,
	// the objects and the store they use go away.
	t.Cleanup(q.stop)
	return &Server{URL: srv.URL, Key: key, DataDir: dir, Service: svc}
}

// Client returns a client of the server with the root key.
func (s *Server) Client() *client.Client { return client.New(s.URL, s.Key) }

// queue runs each job in a goroutine at once, again after ErrNotReady,
// ignoring a job equal to one waiting or running, as the server's queue
// does.
type queue struct {
	svc    *service.Service
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[service.Job]bool
}

func (q *queue) Enqueue(_ context.Context, j service.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active[j] || q.ctx.Err() != nil {
		return nil
	}
	q.active[j] = true
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer func() {
			q.mu.Lock()
			delete(q.active, j)
			q.mu.Unlock()
		}()
		for {
			err := q.svc.Run(q.ctx, j)
			if !errors.Is(err, service.ErrNotReady) {
				return
			}
			select {
			case <-q.ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return nil
}

func (q *queue) stop() {
	q.mu.Lock()
	q.cancel()
	q.mu.Unlock()
	q.wg.Wait()
}
