package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/perchml/perch"
)

// ListAudit returns one page of the server's audit log, newest first, and
// the token of the next ("" after the last). The key needs
// perch:ReadAudit.
func (c *Client) ListAudit(ctx context.Context, f perch.AuditFilter) ([]*perch.AuditEvent, string, error) {
	q := url.Values{}
	set := func(name, v string) {
		if v != "" {
			q.Set(name, v)
		}
	}
	set("keyId", f.KeyID)
	set("action", f.Action)
	set("resource", f.Resource)
	set("outcome", f.Outcome)
	set("pageToken", f.PageToken)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p page[*perch.AuditEvent]
	if err := c.call(ctx, http.MethodGet, "/v1/audit", q, nil, &p); err != nil {
		return nil, "", err
	}
	return p.Items, p.NextPageToken, nil
}
