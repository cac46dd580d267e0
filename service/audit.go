package service

import (
	"context"

	"github.com/perchml/perch"
)

// record puts a decision in the audit log: every refusal, and every
// change allowed. The server's own calls (no caller) and the operations
// inside a call decided as a whole are not requests, and reads allowed
// are too many to keep.
func (s *Service) record(ctx context.Context, action perch.Action, resource string, err error) {
	if s.audit == nil {
		return
	}
	c := perch.CallerFrom(ctx)
	if c == nil || ctx.Value(decidedKey{}) != nil {
		return
	}
	var outcome, reason string
	switch code := perch.Code(err); {
	case err == nil:
		if !perch.Actions[action].Change {
			return
		}
		outcome = perch.AuditAllowed
	case code == perch.EAccessDenied, code == perch.EUnauthorized:
		outcome, reason = perch.AuditDenied, err.Error()
	default:
		return
	}
	e := &perch.AuditEvent{Door: c.Door, Action: action, Resource: resource, Outcome: outcome, RequestID: c.RequestID, Reason: reason}
	if c.SourceIP.IsValid() {
		e.SourceIP = c.SourceIP.String()
	}
	if c.Key != nil {
		e.KeyID, e.KeyName = c.Key.ID, c.Key.Name
	}
	s.audit.Record(e)
}

// ListAudit returns one page of the audit log, newest first.
func (s *Service) ListAudit(ctx context.Context, f perch.AuditFilter) ([]*perch.AuditEvent, string, error) {
	if err := s.authorize(ctx, "perch:ReadAudit", "*", nil); err != nil {
		return nil, "", err
	}
	return s.store.ListAudit(ctx, f)
}
