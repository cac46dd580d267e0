package perch

import (
	"context"
	"net/netip"
)

// Caller is who makes a request, as the door it came through found: the
// key that signed or carried it, where it came from, and the request's
// id. Both doors put it in the request's context; the service decides
// from it what the request may do.
type Caller struct {
	Key       *Key
	Door      string // "rest" or "aml"
	SourceIP  netip.Addr
	RequestID string
}

type callerKey struct{}

// NewContext returns ctx carrying the caller c.
func NewContext(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// IsCallerKey reports whether k is the context key NewContext files the
// caller under, so that a door whose per-request state is itself a
// context can answer for the caller without allocating one more.
func IsCallerKey(k any) bool {
	_, ok := k.(callerKey)
	return ok
}

// CallerFrom returns the caller ctx carries, nil when there is none.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}
