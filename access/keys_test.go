package access

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/perchml/perch"
)

func TestNewKey(t *testing.T) {
	a, ha := NewKey()
	b, _ := NewKey()
	if a == b {
		t.Fatal("two keys are equal")
	}
	if !WellFormed(a) || len(a) != len(Prefix)+43 {
		t.Fatalf("key %q is not well formed", a)
	}
	if !Equal(a, ha) || Equal(b, ha) {
		t.Fatal("Equal does not tell keys apart")
	}
	for _, s := range []string{"", "perch_", "perch_short", "Bearer " + a, a + "x", "xerch_" + a[6:], a[:len(a)-1] + "*"} {
		if WellFormed(s) {
			t.Errorf("%q counted as well formed", s)
		}
	}
}

func TestEnsureRootKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, created, err := EnsureRootKey(dir)
	if err != nil || !created {
		t.Fatalf("first call: %v, created %v", err, created)
	}
	st, err := os.Stat(filepath.Join(dir, RootKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("root key file mode %v, %v", st.Mode().Perm(), err)
	}
	k2, created, err := EnsureRootKey(dir)
	if err != nil || created || k2 != k1 {
		t.Fatalf("second call: %q %v %v, want the first key again", k2, created, err)
	}
	os.Chmod(filepath.Join(dir, RootKeyFile), 0o644)
	if _, _, err := EnsureRootKey(dir); perch.Code(err) != perch.EForbidden {
		t.Fatalf("a world-readable key file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, RootKeyFile), []byte("nonsense\n"), 0o600)
	os.Chmod(filepath.Join(dir, RootKeyFile), 0o600)
	if _, _, err := EnsureRootKey(dir); perch.Code(err) != perch.EInvalid {
		t.Fatalf("a file without a key: %v", err)
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "Bearer ": "", "": ""} {
		got, ok := Bearer(h)
		if got != want || ok != (want != "") {
			t.Errorf("%q: got %q %v, want %q", h, got, ok, want)
		}
	}
}
