package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/perchml/perch"
)

// listAudit answers one page of the audit log, newest first, selected by
// keyId, action (ending in * for a prefix), resource (a prefix), outcome,
// since and until (RFC 3339).
func (a *api) listAudit(w http.ResponseWriter, r *http.Request) {
	f, err := parseAuditFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := a.svc.ListAudit(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if items == nil {
		items = []*perch.AuditEvent{}
	}
	writeJSON(w, r, http.StatusOK, page[*perch.AuditEvent]{Items: items, NextPageToken: next})
}

func parseAuditFilter(r *http.Request) (perch.AuditFilter, error) {
	var f perch.AuditFilter
	q, err := query(r, "keyId", "action", "resource", "outcome", "since", "until", "limit", "pageToken")
	if err != nil {
		return f, err
	}
	f.KeyID, f.Action, f.Resource, f.PageToken = q.Get("keyId"), q.Get("action"), q.Get("resource"), q.Get("pageToken")
	switch f.Outcome = q.Get("outcome"); f.Outcome {
	case "", perch.AuditAllowed, perch.AuditDenied:
	default:
		return f, invalidf("outcome %q: want allowed or denied", f.Outcome)
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			if *p.t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return f, invalidf("%s %q: want an RFC 3339 time", p.name, v)
			}
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > perch.MaxAuditLimit {
			return f, invalidf("limit %q: want a number from 1 to %d", l, perch.MaxAuditLimit)
		}
		f.Limit = n
	}
	return f, nil
}
