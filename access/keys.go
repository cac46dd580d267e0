// Package access issues and checks API keys. A key is 32 random bytes,
// shown once to the person who asked for it; perch keeps only its SHA-256
// hash (a key has too much entropy to be guessed, so a slow hash buys
// nothing) and compares hashes in constant time.
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/perchml/perch"
)

// Prefix starts every key, so a leaked key is easy to recognise (secret
// scanners look for such prefixes) and a mistyped header is easy to tell
// from a wrong key.
const Prefix = "perch_"

// keyBytes is the key's entropy.
const keyBytes = 32

// NewKey returns a fresh key and the hash to store for it.
func NewKey() (key string, hash [32]byte) {
	b := make([]byte, keyBytes)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	key = Prefix + base64.RawURLEncoding.EncodeToString(b)
	return key, Hash(key)
}

// Hash returns the stored form of key.
func Hash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// Equal reports, in constant time, whether key hashes to hash.
func Equal(key string, hash [32]byte) bool {
	h := Hash(key)
	return subtle.ConstantTimeCompare(h[:], hash[:]) == 1
}

// WellFormed reports whether s looks like a key; a request whose
// credential does not is refused before any lookup.
func WellFormed(s string) bool {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(keyBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// RootKeyFile is the name of the root key's file in the data directory.
const RootKeyFile = "root-key"

// EnsureRootKey returns the root key kept in dir, creating it (mode 0600)
// on first use; created says this call made it, so the caller prints it
// once. A file that is readable by others, or does not hold a key, is an
// error rather than something to repair silently.
func EnsureRootKey(dir string) (key string, created bool, err error) {
	path := filepath.Join(dir, RootKeyFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, err
	}
	key, _ = NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if _, err := f.WriteString(key + "\n"); err != nil {
			f.Close()
			os.Remove(path)
			return "", false, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return "", false, err
		}
		return key, true, f.Close()
	case !errors.Is(err, fs.ErrExist):
		return "", false, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", false, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", false, perch.Errorf(perch.EForbidden, "%s is readable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	key = strings.TrimSpace(string(b))
	if !WellFormed(key) {
		return "", false, perch.Errorf(perch.EInvalid, "%s does not hold a perch key", path)
	}
	return key, false, nil
}

// Bearer returns the key in an Authorization header value of the form
// "Bearer KEY", or false.
func Bearer(header string) (string, bool) {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}
