package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/perchml/perch"
)

func TestAudit(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var events []*perch.AuditEvent
		for i := range 10 {
			e := &perch.AuditEvent{
				Time: t0.Add(time.Duration(i) * time.Minute), KeyID: "k1", KeyName: "app", SourceIP: "10.0.0.1",
				Door: "rest", Action: "machinelearning:DeleteMLModel", Resource: fmt.Sprintf("mlmodel/ml-%d", i),
				Outcome: perch.AuditDenied, RequestID: fmt.Sprintf("req-%d", i), Reason: "not allowed",
			}
			if i%2 == 1 {
				e.KeyID, e.KeyName, e.Action, e.Outcome, e.Reason = "k2", "ops", "perch:PutObject", perch.AuditAllowed, ""
				e.Resource = fmt.Sprintf("object/in/%d.csv", i)
			}
			events = append(events, e)
		}
		// Two events at one time are told apart by id.
		events = append(events, &perch.AuditEvent{Time: t0.Add(9 * time.Minute), KeyID: "k1", Action: "perch:CreateKey", Resource: "*", Outcome: perch.AuditAllowed})
		if err := s.AppendAudit(ctx, events[:4]); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendAudit(ctx, events[4:]); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendAudit(ctx, nil); err != nil {
			t.Fatal(err)
		}

		all, next, err := s.ListAudit(ctx, perch.AuditFilter{})
		if err != nil || next != "" || len(all) != 11 {
			t.Fatalf("ListAudit: %d events, next %q, %v", len(all), next, err)
		}
		if all[0].Action != "perch:CreateKey" || all[1].RequestID != "req-9" || all[10].RequestID != "req-0" {
			t.Errorf("order: first %+v, second %+v, last %+v", all[0], all[1], all[10])
		}
		got, want := *all[10], *events[0]
		want.ID = got.ID
		if got != want || got.ID <= 0 {
			t.Errorf("round trip: got %+v, want %+v", got, want)
		}

		ids := func(f perch.AuditFilter) []string {
			t.Helper()
			es, _, err := s.ListAudit(ctx, f)
			if err != nil {
				t.Fatalf("ListAudit(%+v): %v", f, err)
			}
			var out []string
			for _, e := range es {
				out = append(out, e.RequestID)
			}
			return out
		}
		for _, c := range []struct {
			f    perch.AuditFilter
			want string
		}{
			{perch.AuditFilter{KeyID: "k2"}, "[req-9 req-7 req-5 req-3 req-1]"},
			{perch.AuditFilter{Action: "machinelearning:DeleteMLModel"}, "[req-8 req-6 req-4 req-2 req-0]"},
			{perch.AuditFilter{Action: "machinelearning:Delete"}, "[]"},
			{perch.AuditFilter{Action: "perch:*", KeyID: "k2"}, "[req-9 req-7 req-5 req-3 req-1]"},
			{perch.AuditFilter{Action: "*", KeyID: "k1", Outcome: perch.AuditAllowed}, "[]"},
			{perch.AuditFilter{Resource: "mlmodel/ml-"}, "[req-8 req-6 req-4 req-2 req-0]"},
			{perch.AuditFilter{Resource: "object/in/3"}, "[req-3]"},
			{perch.AuditFilter{Outcome: perch.AuditDenied}, "[req-8 req-6 req-4 req-2 req-0]"},
			{perch.AuditFilter{Since: t0.Add(7 * time.Minute)}, "[ req-9 req-8 req-7]"},
			{perch.AuditFilter{Until: t0.Add(2 * time.Minute)}, "[req-1 req-0]"},
			{perch.AuditFilter{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute), KeyID: "k1"}, "[req-2]"},
		} {
			if got := fmt.Sprint(ids(c.f)); got != c.want {
				t.Errorf("ListAudit(%+v) = %s, want %s", c.f, got, c.want)
			}
		}

		// Pages of 4 give every event once, newest first.
		var paged []*perch.AuditEvent
		f := perch.AuditFilter{Limit: 4}
		for range 5 {
			page, next, err := s.ListAudit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if next == "" {
				break
			}
			f.PageToken = next
		}
		if len(paged) != len(all) {
			t.Fatalf("paged %d events, want %d", len(paged), len(all))
		}
		for i := range paged {
			if paged[i].ID != all[i].ID {
				t.Errorf("page order: event %d is %d, want %d", i, paged[i].ID, all[i].ID)
			}
		}
		for _, bad := range []perch.AuditFilter{{Limit: -1}, {Limit: perch.MaxAuditLimit + 1}, {PageToken: "x!"}} {
			if _, _, err := s.ListAudit(ctx, bad); perch.Code(err) != perch.EInvalid {
				t.Errorf("ListAudit(%+v): %v, want EInvalid", bad, err)
			}
		}

		n, err := s.PruneAudit(ctx, t0.Add(5*time.Minute))
		if err != nil || n != 5 {
			t.Fatalf("PruneAudit: %d, %v; want 5", n, err)
		}
		if got := fmt.Sprint(ids(perch.AuditFilter{Until: t0.Add(6 * time.Minute)})); got != "[req-5]" {
			t.Errorf("after pruning: %s, want [req-5]", got)
		}
	})
}

// TestAuditLargeBatch writes more events than one INSERT carries.
func TestAuditLargeBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		events := make([]*perch.AuditEvent, 2*auditChunk+7)
		for i := range events {
			events[i] = &perch.AuditEvent{Time: time.Unix(int64(i), 0), Action: "perch:PutObject", Resource: "object/x", Outcome: perch.AuditAllowed}
		}
		if err := s.AppendAudit(ctx, events); err != nil {
			t.Fatal(err)
		}
		es, next, err := s.ListAudit(ctx, perch.AuditFilter{Limit: perch.MaxAuditLimit})
		if err != nil || len(es) != perch.MaxAuditLimit || next == "" {
			t.Fatalf("first page: %d events, next %q, %v", len(es), next, err)
		}
		es, next, err = s.ListAudit(ctx, perch.AuditFilter{Limit: perch.MaxAuditLimit, PageToken: next})
		if err != nil || len(es) != len(events)-perch.MaxAuditLimit || next != "" {
			t.Fatalf("second page: %d events, next %q, %v", len(es), next, err)
		}
	})
}
