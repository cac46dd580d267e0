package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/perchml/perch"
)

const auditColumns = "occurred_at, key_id, key_name, source_ip, door, action, resource, outcome, request_id, reason"

// auditChunk is how many events one INSERT carries: 11 arguments each
// stays well under both dialects' limits on bind parameters.
const auditChunk = 500

// AppendAudit adds events to the audit log in one transaction.
func (s *Store) AppendAudit(ctx context.Context, events []*perch.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: append audit: %w", err)
	}
	defer tx.Rollback()
	for len(events) > 0 {
		n := min(len(events), auditChunk)
		q := &query{s: s}
		q.sql("INSERT INTO audit (", auditColumns, ") VALUES ")
		for i, e := range events[:n] {
			if i > 0 {
				q.sql(", ")
			}
			q.sql("(", q.arg(e.Time.UnixNano()), ", ", q.arg(e.KeyID), ", ", q.arg(e.KeyName), ", ",
				q.arg(e.SourceIP), ", ", q.arg(e.Door), ", ", q.arg(string(e.Action)), ", ", q.arg(e.Resource), ", ",
				q.arg(e.Outcome), ", ", q.arg(e.RequestID), ", ", q.arg(e.Reason), ")")
		}
		if _, err := tx.ExecContext(ctx, q.String(), q.args...); err != nil {
			return fmt.Errorf("sqlstore: append audit: %w", err)
		}
		events = events[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: append audit: %w", err)
	}
	return nil
}

// auditToken is where a page of the audit log ended.
type auditToken struct {
	Time int64 `json:"t"`
	ID   int64 `json:"id"`
}

// ListAudit answers one page of the audit log, newest first. Pages are
// keyed on (time, id), so events written between requests do not shift
// them.
func (s *Store) ListAudit(ctx context.Context, f perch.AuditFilter) ([]*perch.AuditEvent, string, error) {
	limit := f.Limit
	if limit == 0 {
		limit = perch.DefaultAuditLimit
	}
	if limit < 1 || limit > perch.MaxAuditLimit {
		return nil, "", perch.Errorf(perch.EInvalid, "limit %d: want 1 to %d", f.Limit, perch.MaxAuditLimit)
	}
	q := &query{s: s}
	q.sql("SELECT id, ", auditColumns, " FROM audit WHERE 1 = 1")
	eq := func(col, v string) {
		if v != "" {
			q.sql(" AND ", col, " = ", q.arg(v))
		}
	}
	// substr counts characters in both dialects; LIKE would need escaping
	// and is case-insensitive in SQLite.
	prefix := func(col, v string) {
		q.sql(" AND substr(", col, ", 1, ", strconv.Itoa(utf8.RuneCountInString(v)), ") = ", q.arg(v))
	}
	eq("key_id", f.KeyID)
	eq("outcome", f.Outcome)
	if p, ok := strings.CutSuffix(f.Action, "*"); ok {
		if p != "" {
			prefix("action", p)
		}
	} else {
		eq("action", f.Action)
	}
	if f.Resource != "" {
		prefix("resource", f.Resource)
	}
	if !f.Since.IsZero() {
		q.sql(" AND occurred_at >= ", q.arg(f.Since.UnixNano()))
	}
	if !f.Until.IsZero() {
		q.sql(" AND occurred_at < ", q.arg(f.Until.UnixNano()))
	}
	if f.PageToken != "" {
		var t auditToken
		b, err := base64.RawURLEncoding.DecodeString(f.PageToken)
		if err == nil {
			err = json.Unmarshal(b, &t)
		}
		if err != nil || t.ID <= 0 {
			return nil, "", perch.Errorf(perch.EInvalid, "bad page token")
		}
		q.sql(" AND (occurred_at < ", q.arg(t.Time), " OR (occurred_at = ", q.arg(t.Time), " AND id < ", q.arg(t.ID), "))")
	}
	q.sql(" ORDER BY occurred_at DESC, id DESC LIMIT ", strconv.Itoa(limit+1))

	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: list audit: %w", err)
	}
	defer rows.Close()
	var out []*perch.AuditEvent
	var last auditToken
	for rows.Next() {
		if len(out) == limit {
			b, _ := json.Marshal(last)
			return out, base64.RawURLEncoding.EncodeToString(b), nil
		}
		var e perch.AuditEvent
		var ns int64
		var action string
		if err := rows.Scan(&e.ID, &ns, &e.KeyID, &e.KeyName, &e.SourceIP, &e.Door, &action, &e.Resource,
			&e.Outcome, &e.RequestID, &e.Reason); err != nil {
			return nil, "", fmt.Errorf("sqlstore: list audit: %w", err)
		}
		e.Time, e.Action = time.Unix(0, ns).UTC(), perch.Action(action)
		last = auditToken{Time: ns, ID: e.ID}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlstore: list audit: %w", err)
	}
	return out, "", nil
}

// PruneAudit deletes the audit events older than before.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	q := &query{s: s}
	q.sql("DELETE FROM audit WHERE occurred_at < ", q.arg(before.UnixNano()))
	r, err := s.db.ExecContext(ctx, q.String(), q.args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune audit: %w", err)
	}
	return r.RowsAffected()
}
