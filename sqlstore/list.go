package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/perchml/perch"
)

// pageToken is where a page ended: the sort key and id of its last
// entity, and the filter it belongs to, so that a token is not taken for
// another listing.
type pageToken struct {
	Variable string `json:"v"`
	Desc     bool   `json:"d,omitempty"`
	Text     string `json:"s,omitempty"`
	Time     int64  `json:"t,omitempty"`
	ID       string `json:"id"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.ID == "" {
		return t, perch.Errorf(perch.EInvalid, "bad page token")
	}
	return t, nil
}

var comparisons = map[perch.FilterOp]string{
	perch.OpEQ: "=",
	perch.OpGT: ">",
	perch.OpLT: "<",
	perch.OpGE: ">=",
	perch.OpLE: "<=",
	perch.OpNE: "<>",
}

// list answers one page in AML's Describe order: filtered on one column
// (by every comparison given), sorted by it and then by id, resuming after the token's key. Keyset
// pages stay correct while entities are created between requests.
func list[T any](ctx context.Context, s *Store, k *kind[T], f perch.Filter) ([]*T, string, error) {
	variable := f.Variable
	if variable == "" {
		variable = "CreatedAt"
	}
	col, ok := k.column(variable)
	if !ok {
		return nil, "", perch.Errorf(perch.EInvalid, "cannot filter %ss on %q", k.noun, f.Variable)
	}
	limit := f.Limit
	if limit == 0 {
		limit = perch.DefaultPageLimit
	}
	if limit < 1 || limit > perch.MaxPageLimit {
		return nil, "", perch.Errorf(perch.EInvalid, "limit %d: want 1 to %d", f.Limit, perch.MaxPageLimit)
	}

	q := &query{s: s}
	q.sql("SELECT ", col.name, ", id, doc FROM entities WHERE kind = ", q.arg(k.name))
	if f.Op != "" || len(f.And) > 0 {
		cmps := append([]perch.Comparison{{Op: f.Op, Value: f.Value}}, f.And...)
		if f.Op == "" {
			cmps = cmps[1:]
		}
		for _, c := range cmps {
			if err := where(q, col, variable, c); err != nil {
				return nil, "", err
			}
		}
	}
	cmp, order := ">", " ASC"
	if f.Desc {
		cmp, order = "<", " DESC"
	}
	if f.PageToken != "" {
		t, err := decodeToken(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		if t.Variable != variable || t.Desc != f.Desc {
			return nil, "", perch.Errorf(perch.EInvalid, "page token is for another listing")
		}
		var key any = t.Text
		if col.time {
			key = t.Time
		}
		q.sql(" AND (", col.name, " ", cmp, " ", q.arg(key),
			" OR (", col.name, " = ", q.arg(key), " AND id ", cmp, " ", q.arg(t.ID), "))")
	}
	q.sql(" ORDER BY ", col.name, order, ", id", order, " LIMIT ", strconv.Itoa(limit+1))

	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: list %ss: %w", k.noun, err)
	}
	defer rows.Close()
	var out []*T
	var last pageToken
	for rows.Next() {
		if len(out) == limit {
			return out, last.encode(), nil
		}
		last = pageToken{Variable: variable, Desc: f.Desc}
		var key any = &last.Text
		if col.time {
			key = &last.Time
		}
		var doc string
		if err := rows.Scan(key, &last.ID, &doc); err != nil {
			return nil, "", fmt.Errorf("sqlstore: list %ss: %w", k.noun, err)
		}
		v := new(T)
		if err := json.Unmarshal([]byte(doc), v); err != nil {
			return nil, "", fmt.Errorf("sqlstore: %s %s: %w", k.noun, last.ID, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlstore: list %ss: %w", k.noun, err)
	}
	return out, "", nil
}

// where adds one comparison of a column to q's conditions; several are
// all applied.
func where(q *query, col column, variable string, c perch.Comparison) error {
	var value any = c.Value
	if col.time {
		t, err := parseTime(c.Value)
		if err != nil {
			return perch.Errorf(perch.EInvalid, "%s %q: want an RFC 3339 time or seconds since the epoch", variable, c.Value)
		}
		value = t.UnixNano()
	}
	if op, ok := comparisons[c.Op]; ok {
		q.sql(" AND ", col.name, " ", op, " ", q.arg(value))
		return nil
	}
	if c.Op != perch.OpPrefix {
		return perch.Errorf(perch.EInvalid, "unknown filter operator %q", c.Op)
	}
	if col.time {
		return perch.Errorf(perch.EInvalid, "Prefix does not apply to %s", variable)
	}
	// substr counts characters in both dialects; LIKE would need escaping
	// and is case-insensitive in SQLite.
	q.sql(" AND substr(", col.name, ", 1, ", strconv.Itoa(utf8.RuneCountInString(c.Value)), ") = ", q.arg(c.Value))
	return nil
}

// parseTime reads a filter value for CreatedAt or LastUpdatedAt: an RFC
// 3339 time, or seconds since the epoch as AML's EpochTime has them.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(sec) || math.IsInf(sec, 0) || math.Abs(sec) > 1e11 {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(math.Round(frac*1e9))).UTC(), nil
}
