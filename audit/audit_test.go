package audit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
)

// memStore keeps appended events; block, while set, holds writes back.
type memStore struct {
	perch.Store
	mu      sync.Mutex
	batches [][]*perch.AuditEvent
	fail    error
	block   chan struct{}
	pruned  []time.Time
}

func (m *memStore) AppendAudit(ctx context.Context, es []*perch.AuditEvent) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.batches = append(m.batches, append([]*perch.AuditEvent(nil), es...))
	return nil
}

func (m *memStore) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruned = append(m.pruned, before)
	return 0, nil
}

func (m *memStore) count() (batches, events int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.batches {
		events += len(b)
	}
	return len(m.batches), events
}

func event(i int) *perch.AuditEvent {
	return &perch.AuditEvent{Action: "perch:PutObject", Resource: "object/x", Outcome: perch.AuditAllowed, RequestID: string(rune('a' + i%26))}
}

func TestAuditBatchSize(t *testing.T) {
	m := &memStore{}
	l := New(m, Options{FlushEvery: time.Hour, BatchSize: 5})
	defer l.Close()
	for i := range 5 {
		l.Record(event(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, n := m.count(); b == 1 && n == 5 {
			break
		}
		if time.Now().After(deadline) {
			b, n := m.count()
			t.Fatalf("a full batch was not written: %d batches, %d events", b, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if e := m.batches[0][0]; e.Time.IsZero() {
		t.Errorf("Record left Time zero: %+v", e)
	}
}

func TestAuditFlushEvery(t *testing.T) {
	m := &memStore{}
	l := New(m, Options{FlushEvery: 20 * time.Millisecond})
	defer l.Close()
	l.Record(event(0))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, n := m.count(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a lone event was not written on the tick")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAuditFlushAndClose(t *testing.T) {
	m := &memStore{}
	l := New(m, Options{FlushEvery: time.Hour})
	l.Record(event(0))
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, n := m.count(); n != 1 {
		t.Fatalf("Flush wrote %d events, want 1", n)
	}
	for i := range 3 {
		l.Record(event(i + 1)) // event(0) again would be the repeat Record skips
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, n := m.count(); n != 4 {
		t.Fatalf("Close left events unwritten: %d of 4 written", n)
	}
	l.Record(event(9))
	if l.Dropped() != 1 {
		t.Errorf("an event recorded after Close: dropped %d, want 1", l.Dropped())
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestAuditBufferFull(t *testing.T) {
	m := &memStore{block: make(chan struct{})}
	l := New(m, Options{FlushEvery: time.Hour, BatchSize: 1000, Buffer: 10})
	for i := range 15 {
		l.Record(event(i))
	}
	if l.Dropped() != 5 {
		t.Errorf("dropped %d, want 5", l.Dropped())
	}
	close(m.block)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, n := m.count(); n != 10 {
		t.Errorf("wrote %d events, want the 10 that fitted", n)
	}
}

func TestAuditFailedWriteRetried(t *testing.T) {
	m := &memStore{fail: errors.New("database down")}
	l := New(m, Options{FlushEvery: time.Hour})
	l.Record(event(0))
	if err := l.Flush(context.Background()); err == nil {
		t.Fatal("Flush on a failing store: no error")
	}
	m.mu.Lock()
	m.fail = nil
	m.mu.Unlock()
	l.Record(event(1))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, n := m.count(); n != 2 || l.Dropped() != 0 {
		t.Errorf("after the store came back: %d events written, %d dropped; want 2, 0", n, l.Dropped())
	}
	if m.batches[0][0].RequestID != "a" {
		t.Errorf("the retried event is not first: %+v", m.batches[0][0])
	}
}

func TestAuditPrune(t *testing.T) {
	m := &memStore{}
	l := New(m, Options{Retention: 24 * time.Hour, PruneEvery: 10 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		n := len(m.pruned)
		m.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pruned %d times, want at start and on the tick", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.Close()
	if age := time.Since(m.pruned[0]); age < 24*time.Hour || age > 25*time.Hour {
		t.Errorf("pruned before %v, %v ago; want a day ago", m.pruned[0], age)
	}

	keep := &memStore{}
	l = New(keep, Options{PruneEvery: time.Millisecond})
	time.Sleep(20 * time.Millisecond)
	l.Close()
	if len(keep.pruned) != 0 {
		t.Errorf("no retention, yet pruned %d times", len(keep.pruned))
	}
}
