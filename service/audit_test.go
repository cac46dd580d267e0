package service_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/audit"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
)

// TestAuditRecords checks what the audit log keeps: a refusal and an
// allowed change, with who, what, from where and the request id; not a
// read, not the server's own calls, and never a key or a policy's text.
func TestAuditRecords(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, testdb.SQLite(t))
	b, err := objects.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	log := audit.New(store, audit.Options{FlushEvery: time.Hour})
	defer log.Close()
	svc := service.New(service.Config{Store: store, Objects: b, Queue: &manualQueue{}, Audit: log})

	root := &perch.Key{Meta: perch.Meta{ID: "root-id", Name: "root"}, Root: true}
	rootCtx := perch.NewContext(ctx, &perch.Caller{Key: root, Door: "rest", RequestID: "req-root"})
	p, err := service.PolicyFrom([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"SecretSid","Effect":"Allow","Action":["perch:PutObject","perch:GetObject"],"Resource":"object/in/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	secret, k, err := svc.CreateKey(rootCtx, "uploader", p)
	if err != nil {
		t.Fatal(err)
	}
	caller := func(req string) context.Context {
		return perch.NewContext(ctx, &perch.Caller{Key: k, Door: "rest", SourceIP: netip.MustParseAddr("192.0.2.7"), RequestID: req})
	}
	if _, err := svc.PutObject(caller("req-put"), "in/a.csv", strings.NewReader("x\n1\n"), ""); err != nil {
		t.Fatal(err)
	}
	r, err := svc.OpenObject(caller("req-get"), "in/a.csv")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := svc.DeleteMLModel(caller("req-delete"), "ml-1"); perch.Code(err) != perch.EAccessDenied {
		t.Fatalf("DeleteMLModel: %v, want AccessDenied", err)
	}
	// The server's own work is no request.
	if _, err := svc.PutObject(ctx, "in/b.csv", strings.NewReader("x\n"), ""); err != nil {
		t.Fatal(err)
	}

	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	events, _, err := svc.ListAudit(rootCtx, perch.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3 (create key, put, delete): %v", len(events), events)
	}
	del, put, create := events[0], events[1], events[2]
	if del.Outcome != perch.AuditDenied || del.Action != "machinelearning:DeleteMLModel" || del.Resource != "mlmodel/ml-1" ||
		del.KeyID != k.ID || del.KeyName != "uploader" || del.SourceIP != "192.0.2.7" || del.Door != "rest" ||
		del.RequestID != "req-delete" || !strings.Contains(del.Reason, "may not machinelearning:DeleteMLModel") || del.Time.IsZero() {
		t.Errorf("the denied delete: %+v", del)
	}
	if put.Outcome != perch.AuditAllowed || put.Action != "perch:PutObject" || put.Resource != "object/in/a.csv" ||
		put.KeyName != "uploader" || put.RequestID != "req-put" || put.Reason != "" {
		t.Errorf("the allowed put: %+v", put)
	}
	if create.Action != "perch:CreateKey" || create.KeyName != "root" || create.Outcome != perch.AuditAllowed {
		t.Errorf("the key's creation: %+v", create)
	}
	doc, _ := json.Marshal(events)
	for _, s := range []string{secret, "SecretSid", "Statement", "x\\n1"} {
		if strings.Contains(string(doc), s) {
			t.Errorf("the audit log holds %q: %s", s, doc)
		}
	}

	// Reading the log is perch:ReadAudit, which the key has not.
	if _, _, err := svc.ListAudit(caller("req-read"), perch.AuditFilter{}); perch.Code(err) != perch.EAccessDenied {
		t.Errorf("ListAudit by the key: %v, want AccessDenied", err)
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	denied, _, err := svc.ListAudit(rootCtx, perch.AuditFilter{Outcome: perch.AuditDenied, Action: "perch:*"})
	if err != nil || len(denied) != 1 || denied[0].Action != "perch:ReadAudit" {
		t.Errorf("the refused read of the log: %v, %v", denied, err)
	}
}

// TestAuditListNotDenials checks that a list leaving out what its caller
// may not read records no refusal.
func TestAuditListNotDenials(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, testdb.SQLite(t))
	b, err := objects.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	log := audit.New(store, audit.Options{FlushEvery: time.Hour})
	defer log.Close()
	svc := service.New(service.Config{Store: store, Objects: b, Queue: &manualQueue{}, Audit: log})
	for _, k := range []string{"in/a.csv", "out/b.csv"} {
		if _, err := svc.PutObject(ctx, k, strings.NewReader("x\n"), ""); err != nil {
			t.Fatal(err)
		}
	}
	p, err := service.PolicyFrom([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"perch:ListObjects","Resource":"*"},
		{"Effect":"Allow","Action":"perch:GetObject","Resource":"object/in/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	k := &perch.Key{Meta: perch.Meta{ID: "k", Name: "lister"}, Policy: p}
	kctx := perch.NewContext(ctx, &perch.Caller{Key: k, Door: "rest", RequestID: "req-list"})
	got, err := svc.ListObjects(kctx, "")
	if err != nil || len(got) != 1 {
		t.Fatalf("ListObjects: %v, %v; want in/a.csv alone", got, err)
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if es, _, err := store.ListAudit(ctx, perch.AuditFilter{}); err != nil || len(es) != 0 {
		t.Errorf("a list recorded %v (%v), want nothing", es, err)
	}
}
