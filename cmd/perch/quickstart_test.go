package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"trained a BINARY model", "reusing the model"} {
		var out, errb bytes.Buffer
		if code := run([]string{"quickstart", "--data-dir", dir}, nil, &out, &errb); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errb.String())
		}
		s := out.String()
		if !strings.HasPrefix(s, want) || !strings.Contains(s, "BinaryAUC 0.9") || !strings.Contains(s, `"predictedLabel":"`) {
			t.Fatalf("run %d printed:\n%s", i, s)
		}
	}
}
