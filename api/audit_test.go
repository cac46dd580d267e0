package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/api"
	"github.com/perchml/perch/audit"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// newAuditEnv is newEnv with an audit log, which the test flushes before
// reading it.
func newAuditEnv(t *testing.T) (*env, *audit.Log) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "perch.db"))
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := objects.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(store, audit.Options{FlushEvery: time.Hour})
	q := &testQueue{ctx: ctx}
	svc := service.New(service.Config{Store: store, Objects: bucket, Queue: q, Audit: log})
	q.svc = svc
	root, _ := access.NewKey()
	if err := svc.RegisterRootKey(ctx, root); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv := httptest.NewServer(api.New(svc, api.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	svc.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		q.wg.Wait()
		log.Close()
		store.Close()
		bucket.Close()
	})
	return &env{svc: svc, srv: srv, root: root, logs: logs}, log
}

// TestAuditDeniedDelete: a key whose policy denies DeleteMLModel tries to
// delete a model; the audit log shows the denied delete with the key's
// name and the action.
func TestAuditDeniedDelete(t *testing.T) {
	e, log := newAuditEnv(t)
	e.call(t, 201, "PUT", "/v1/objects/in/small.csv", smallCSV)
	ds := e.dataSource(t, "small")
	e.waitDone(t, "/v1/datasources/"+ds)
	e.call(t, 201, "POST", "/v1/models", map[string]any{"id": "ml-a", "trainingDataSourceId": ds, "type": "BINARY", "parameters": map[string]string{"algorithm": "sgd"}})
	e.waitDone(t, "/v1/models/ml-a")

	k := e.call(t, 201, "POST", "/v1/keys", `{"name":"ci-bot","policy":{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadModels","Effect":"Allow","Action":"machinelearning:*","Resource":"*"},
		{"Sid":"NoDeletes","Effect":"Deny","Action":"machinelearning:DeleteMLModel","Resource":"*"}]}}`).json(t)
	key, keyID := k["key"].(string), k["id"].(string)
	r := e.do(t, "DELETE", "/v1/models/ml-a", key, nil)
	wantError(t, r, 403, "AccessDenied", "key ci-bot may not machinelearning:DeleteMLModel on mlmodel/ml-a")
	if r := e.do(t, "GET", "/v1/models/ml-a", key, nil); r.status != 200 {
		t.Fatalf("the key's read: %s", r)
	}
	if err := log.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	res := e.call(t, 200, "GET", "/v1/audit?outcome=denied", nil)
	api.CheckSchema(t, "AuditPage", res.body)
	var page struct {
		Items         []perch.AuditEvent `json:"items"`
		NextPageToken string             `json:"nextPageToken"`
	}
	if err := json.Unmarshal(res.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("denied events: %s", res.body)
	}
	ev := page.Items[0]
	if ev.KeyName != "ci-bot" || ev.KeyID != keyID || ev.Action != "machinelearning:DeleteMLModel" || ev.Resource != "mlmodel/ml-a" ||
		ev.Outcome != "denied" || ev.SourceIP != "127.0.0.1" || ev.Door != "rest" ||
		ev.RequestID == "" || ev.RequestID != r.header.Get("X-Request-Id") {
		t.Errorf("the denied delete (request %s): %+v", r.header.Get("X-Request-Id"), ev)
	}
	for _, s := range []string{key, "NoDeletes", "Statement"} {
		if strings.Contains(string(res.body), s) {
			t.Errorf("the audit log shows %q: %s", s, res.body)
		}
	}

	// The changes are there too, the reads are not.
	all := e.call(t, 200, "GET", "/v1/audit?keyId="+keyID, nil).json(t)["items"].([]any)
	if len(all) != 1 {
		t.Errorf("the key's events: %v; want the denied delete alone", all)
	}
	changes := e.call(t, 200, "GET", "/v1/audit?outcome=allowed&action=machinelearning:*&resource=mlmodel/", nil).json(t)["items"].([]any)
	if len(changes) != 1 || changes[0].(map[string]any)["action"] != "machinelearning:CreateMLModel" {
		t.Errorf("the model changes: %v", changes)
	}
	p1 := e.call(t, 200, "GET", "/v1/audit?limit=1", nil).json(t)
	next, _ := p1["nextPageToken"].(string)
	if len(p1["items"].([]any)) != 1 || next == "" {
		t.Fatalf("the first page of one: %v", p1)
	}
	e.call(t, 200, "GET", "/v1/audit?limit=1&pageToken="+next+"&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z", nil)

	for _, c := range []struct{ query, msg string }{
		{"outcome=maybe", "outcome"},
		{"since=yesterday", "since"},
		{"limit=1001", "limit"},
		{"pageToken=x!", "page token"},
		{"sort=asc", "unknown"},
	} {
		wantError(t, e.do(t, "GET", "/v1/audit?"+c.query, e.root, nil), 400, "Invalid", c.msg)
	}
	// Reading the log needs perch:ReadAudit.
	wantError(t, e.do(t, "GET", "/v1/audit", key, nil), 403, "AccessDenied", "key ci-bot may not perch:ReadAudit")
}
