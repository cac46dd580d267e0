package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
)

// TestAuditCommand: perch audit shows a key's denied delete, as a table
// and as JSON, and refuses a bad filter as a usage error.
func TestAuditCommand(t *testing.T) {
	t.Setenv("PERCH_AUDIT_RETENTION", "")
	s, _ := startLogged(t)
	defer s.shutdown(10 * time.Second)
	t.Setenv("PERCH_SERVER", "")
	t.Setenv("PERCH_KEY", "")
	ctx := context.Background()
	root := client.New(s.url, s.rootKey)
	key, k, err := root.CreateKey(ctx, "ci-bot", json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Action":"machinelearning:DeleteMLModel","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(s.url, key).DeleteMLModel(ctx, "ml-1"); perch.Code(err) != perch.EAccessDenied {
		t.Fatalf("the key's delete: %v, want AccessDenied", err)
	}
	conn := []string{"--server", s.url, "--key", s.rootKey}

	// The log is written within a second.
	var r result
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r = mustRun(t, "", append([]string{"audit", "--outcome", "denied", "--since", "1h"}, conn...)...)
		if strings.Count(r.stdout, "\n") >= 2 || time.Now().After(deadline) {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "TIME KEY ACTION RESOURCE OUTCOME SOURCE" {
		t.Fatalf("perch audit:\n%s", r.stdout)
	}
	row := strings.Fields(lines[1])
	if len(row) != 7 || row[2] != "ci-bot" || row[3] != "machinelearning:DeleteMLModel" || row[4] != "mlmodel/ml-1" ||
		row[5] != "denied" || row[6] != "127.0.0.1" {
		t.Errorf("the denied delete's row: %q", row)
	}

	r = mustRun(t, "", append([]string{"audit", "--key-id", k.ID, "--action", "machinelearning:*", "--json"}, conn...)...)
	var page struct{ Items []perch.AuditEvent }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("perch audit --json: %v\n%s", err, r.stdout)
	}
	if len(page.Items) != 1 || page.Items[0].KeyName != "ci-bot" || page.Items[0].RequestID == "" || page.Items[0].Outcome != "denied" {
		t.Errorf("perch audit --json: %s", r.stdout)
	}
	if strings.Contains(r.stdout, key) {
		t.Errorf("the audit log shows the key: %s", r.stdout)
	}

	// The root key's creation of the key is a change.
	r = mustRun(t, "", append([]string{"audit", "--outcome", "allowed", "--action", "perch:CreateKey", "--limit", "1"}, conn...)...)
	if !strings.Contains(r.stdout, "perch:CreateKey") || !strings.Contains(r.stdout, "root") {
		t.Errorf("the key's creation:\n%s", r.stdout)
	}

	for _, args := range [][]string{{"--outcome", "maybe"}, {"--since", "yesterday"}, {"--limit", "5000"}, {"extra"}} {
		if r := cli("", append(append([]string{"audit"}, args...), conn...)...); r.code != 2 {
			t.Errorf("perch audit %v: exit %d (%s), want 2", args, r.code, r.stderr)
		}
	}
	// A key without perch:ReadAudit is refused.
	if r := cli("", "audit", "--server", s.url, "--key", key); r.code != 1 || !strings.Contains(r.stderr, "perch:ReadAudit") {
		t.Errorf("perch audit with the key: exit %d, %s", r.code, r.stderr)
	}
}
