package access

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/perchml/perch"
)

// AWS-style access key pairs: an access key id, which is public and names
// the pair, and a secret access key, which signs requests. Unlike a perch
// key, the secret must be known to the server to check a signature, so it
// cannot be kept as a hash: it is sealed with AES-256-GCM under a master
// key that lives in a file of its own, outside the database.

// AccessKeyIDPrefix starts the access key ids perch issues (AWS's own start
// AKIA), so they are easy to tell apart from AWS's.
const AccessKeyIDPrefix = "PKIA"

// MasterKeyFile is the name of the master key's file in the data directory.
const MasterKeyFile = "master-key"

// RootAWSCredentialsFile is the name of the root access key pair's file in
// the data directory, in the AWS credentials-file format.
const RootAWSCredentialsFile = "root-aws-credentials"

var upperBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAccessKeyPair returns a fresh access key id (20 characters, as AWS's)
// and secret access key (40 characters, as AWS's).
func NewAccessKeyPair() (id, secret string) {
	b := make([]byte, 10)
	rand.Read(b)
	id = AccessKeyIDPrefix + upperBase32.EncodeToString(b)
	s := make([]byte, 30)
	rand.Read(s)
	return id, base64.StdEncoding.EncodeToString(s)
}

// ValidAccessKeyID reports whether s looks like an access key id perch
// issued.
func ValidAccessKeyID(s string) bool {
	rest, ok := strings.CutPrefix(s, AccessKeyIDPrefix)
	if !ok || len(rest) != 16 {
		return false
	}
	_, err := upperBase32.DecodeString(rest)
	return err == nil
}

// Sealer encrypts secrets with AES-256-GCM. The additional data binds a
// sealed secret to its access key id, so one cannot be moved to another.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer with a 32-byte master key.
func NewSealer(master []byte) (*Sealer, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("access: master key of %d bytes; want 32", len(master))
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts secret for id; the result is base64 text (nonce and
// ciphertext).
func (s *Sealer) Seal(id, secret string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(id))
	return base64.StdEncoding.EncodeToString(out)
}

// Open decrypts what Seal made for id.
func (s *Sealer) Open(id, sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("access: sealed secret is malformed")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(id))
	if err != nil {
		return "", errors.New("access: sealed secret does not open with this master key")
	}
	return string(plain), nil
}

// EnsureMasterKey returns the master key kept in dir, creating it (32
// random bytes, mode 0600) on first use. As with the root key, a file
// readable by others or of the wrong size is an error, not something to
// replace: replacing it would make every sealed secret unreadable.
func EnsureMasterKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, MasterKeyFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if _, err := f.Write(key); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	case !errors.Is(err, fs.ErrExist):
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, perch.Errorf(perch.EForbidden, "%s is readable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	key, err = os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, perch.Errorf(perch.EInvalid, "%s holds %d bytes; a master key is 32", path, len(key))
	}
	return key, nil
}

// CredentialsFile is an access key pair in the AWS credentials-file
// format, under the [default] profile, as boto3 and the AWS CLI read it.
func CredentialsFile(id, secret string) string {
	return "[default]\naws_access_key_id = " + id + "\naws_secret_access_key = " + secret + "\n"
}

// ReadCredentialsFile returns the [default] pair of an AWS credentials
// file.
func ReadCredentialsFile(path string) (id, secret string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "default" {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		return "", "", perch.Errorf(perch.EInvalid, "%s holds no [default] access key pair", path)
	}
	return id, secret, nil
}

// WriteCredentialsFile writes a pair to path (mode 0600), failing if the
// file exists: it is written once, when the pair is made.
func WriteCredentialsFile(path, id, secret string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(CredentialsFile(id, secret)); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
