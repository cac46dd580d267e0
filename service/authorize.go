package service

import (
	"context"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/policy"
)

// Who may do what is decided here, once, for both doors: every exported
// operation asks authorize first, naming its action (perch.Actions) and
// the resource it is on.
//
// A call with no caller in its context is the server's own (a job, the
// quickstart, the pipeline watcher): both doors always put a caller there,
// so no request reaches the service without one. A caller without a key
// may do nothing. The root key may do everything. Any other key may read
// itself, and do what its policy allows, and nothing else.

// authorize decides whether the caller in ctx may do action on resource
// (perch.Resource(kind, id)). tags gives the resource's tags, for
// policies with tag conditions; it is called only for those, and may be
// nil for resources that have none.
func (s *Service) authorize(ctx context.Context, action perch.Action, resource string, tags func() map[string]string) error {
	err := s.decide(ctx, action, resource, tags)
	s.record(ctx, action, resource, err)
	return err
}

// decide is authorize without the audit log, for lists that leave out
// what their caller may not read: that is no refused request.
func (s *Service) decide(ctx context.Context, action perch.Action, resource string, tags func() map[string]string) error {
	if _, ok := perch.Actions[action]; !ok {
		return perch.Errorf(perch.EInternal, "authorize: unknown action %s", action)
	}
	c := perch.CallerFrom(ctx)
	if c == nil || ctx.Value(decidedKey{}) != nil {
		return nil
	}
	k := c.Key
	switch {
	case k == nil:
		return perch.Errorf(perch.EUnauthorized, "%s needs a key", action)
	case k.Root:
		return nil
	case action == "perch:GetKey" && resource == perch.Resource(perch.KindKey, k.ID):
		return nil // a key may always read itself
	case k.Policy == nil:
		return denied(k, action, resource)
	}
	req := policy.Request{Action: action, Resource: resource, SourceIP: c.SourceIP, Time: time.Now()}
	if tags != nil && policy.UsesTags(k.Policy) {
		req.Tags = tags()
	}
	if d := policy.Evaluate(k.Policy, req); !d.Allowed {
		return denied(k, action, resource)
	}
	return nil
}

type decidedKey struct{}

// decided marks ctx as one whose call was authorized as a whole, so that
// the operations it is made of are not asked again under other actions.
func decided(ctx context.Context) context.Context {
	return context.WithValue(ctx, decidedKey{}, true)
}

// may reports whether the caller may do action on resource, for lists
// that show only what their caller may read.
func (s *Service) may(ctx context.Context, action perch.Action, resource string, tags map[string]string) bool {
	return s.decide(ctx, action, resource, func() map[string]string { return tags }) == nil
}

func denied(k *perch.Key, action perch.Action, resource string) error {
	name := k.Name
	if name == "" {
		name = k.Hint
	}
	return perch.Errorf(perch.EAccessDenied, "key %s may not %s on %s", perch.Clip(name), action, perch.Clip(resource))
}

// metaTags returns a func giving the tags of the entity get reads, nil
// when it cannot be read (a decision then sees no tags).
func metaTags[T any](ctx context.Context, get func(context.Context, string) (*T, error), meta func(*T) *perch.Meta, id string) func() map[string]string {
	return func() map[string]string {
		v, err := get(ctx, id)
		if err != nil {
			return nil
		}
		return meta(v).Tags
	}
}

func dsTags(s *Service, ctx context.Context, id string) func() map[string]string {
	return metaTags(ctx, s.store.GetDataSource, func(d *perch.DataSource) *perch.Meta { return &d.Meta }, id)
}

func modelTags(s *Service, ctx context.Context, id string) func() map[string]string {
	return metaTags(ctx, s.store.GetMLModel, func(m *perch.MLModel) *perch.Meta { return &m.Meta }, id)
}

func evalTags(s *Service, ctx context.Context, id string) func() map[string]string {
	return metaTags(ctx, s.store.GetEvaluation, func(e *perch.Evaluation) *perch.Meta { return &e.Meta }, id)
}

func batchTags(s *Service, ctx context.Context, id string) func() map[string]string {
	return metaTags(ctx, s.store.GetBatchPrediction, func(b *perch.BatchPrediction) *perch.Meta { return &b.Meta }, id)
}

func pipelineTags(s *Service, ctx context.Context, id string) func() map[string]string {
	return metaTags(ctx, s.store.GetPipeline, func(p *perch.Pipeline) *perch.Meta { return &p.Meta }, id)
}

// filterList keeps the items of a list the caller may read with action.
func filterList[T any](s *Service, ctx context.Context, items []*T, action perch.Action, kind perch.ResourceKind, meta func(*T) *perch.Meta) []*T {
	c := perch.CallerFrom(ctx)
	if c == nil || (c.Key != nil && c.Key.Root) {
		return items
	}
	out := items[:0]
	for _, it := range items {
		m := meta(it)
		if s.may(ctx, action, perch.Resource(kind, m.ID), m.Tags) {
			out = append(out, it)
		}
	}
	return out
}

// ReadMetrics decides whether the caller may read the server's metrics,
// which the HTTP layer serves itself.
func (s *Service) ReadMetrics(ctx context.Context) error {
	return s.authorize(ctx, "perch:ReadMetrics", "*", nil)
}
