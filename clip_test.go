package perch

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	if got := Clip("ml-123"); got != "ml-123" {
		t.Errorf("Clip(short) = %q", got)
	}
	long := strings.Repeat("a", 63) + "é" + strings.Repeat("b", 1000)
	got := Clip(long)
	if got != strings.Repeat("a", 63)+"…(1065 bytes)" {
		t.Errorf("Clip(long) = %q", got)
	}
}
