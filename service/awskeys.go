package service

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
)

// awsKeys is what a Service keeps for AWS-style access key pairs.
type awsKeys struct {
	sealer atomic.Pointer[access.Sealer] // nil until SetMasterKey
	// opened remembers secrets opened, by access key id, so that a busy
	// pair is not decrypted on every request; a signature cannot be
	// checked without the secret in memory anyway. Only live pairs get
	// here.
	opened sync.Map // access key id → *openedSecret
}

// SetMasterKey gives the service the 32-byte key that seals the secrets
// of AWS-style access key pairs (access.EnsureMasterKey keeps it in the
// data directory). Without it no pair can be made or checked.
func (s *Service) SetMasterKey(master []byte) error {
	sl, err := access.NewSealer(master)
	if err != nil {
		return perch.Errorf(perch.EInvalid, "%v", err)
	}
	s.aws.sealer.Store(sl)
	return nil
}

func (s *Service) sealer() (*access.Sealer, error) {
	if sl := s.aws.sealer.Load(); sl != nil {
		return sl, nil
	}
	return nil, perch.Errorf(perch.EInternal, "no master key: AWS access key pairs are not available")
}

// CreateAWSKey makes an AWS-style access key pair, for clients that sign
// requests with SigV4 (the AML protocol). The secret is returned this
// once; it is stored sealed under the master key.
func (s *Service) CreateAWSKey(ctx context.Context, name string, p *perch.Policy) (id, secret string, k *perch.Key, err error) {
	if err := s.authorize(ctx, "perch:CreateKey", perch.Resource(perch.KindKey, "*"), nil); err != nil {
		return "", "", nil, err
	}
	if err := checkName("key", name); err != nil {
		return "", "", nil, err
	}
	if p, err = keyPolicy(p); err != nil {
		return "", "", nil, err
	}
	id, secret = access.NewAccessKeyPair()
	k, err = s.storeAWSKey(ctx, id, secret, name, false, p)
	if err != nil {
		return "", "", nil, err
	}
	return id, secret, withoutSecret(k), nil
}

func (s *Service) storeAWSKey(ctx context.Context, id, secret, name string, root bool, p *perch.Policy) (*perch.Key, error) {
	sl, err := s.sealer()
	if err != nil {
		return nil, err
	}
	k := &perch.Key{
		Meta:         perch.Meta{ID: id, Name: name, Status: perch.StatusCompleted},
		Hint:         id,
		Root:         root,
		AccessKeyID:  id,
		SealedSecret: sl.Seal(id, secret),
		Policy:       p,
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// EnsureRootAWSKey returns the access key id of the root pair kept in
// dir's root-aws-credentials file, making the pair and the file (mode
// 0600) on first use, and registering it with the store if it is not
// there yet (a fresh database beside an old data directory) and sealing
// it again if its stored secret does not open (a new master key). created
// says this call made the pair.
func (s *Service) EnsureRootAWSKey(ctx context.Context, dir string) (id string, created bool, err error) {
	sl, err := s.sealer()
	if err != nil {
		return "", false, err
	}
	path := filepath.Join(dir, access.RootAWSCredentialsFile)
	id, secret, err := access.ReadCredentialsFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		id, secret = access.NewAccessKeyPair()
		if err := access.WriteCredentialsFile(path, id, secret); err != nil {
			return "", false, err
		}
		created = true
	case err != nil:
		return "", false, err
	default:
		st, err := os.Stat(path)
		if err != nil {
			return "", false, err
		}
		if st.Mode().Perm()&0o077 != 0 {
			return "", false, perch.Errorf(perch.EForbidden, "%s is readable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
		}
		if !access.ValidAccessKeyID(id) {
			return "", false, perch.Errorf(perch.EInvalid, "%s: %q is not an access key id perch issued", path, id)
		}
	}
	_, err = s.storeAWSKey(ctx, id, secret, "root", true, nil)
	if perch.Code(err) != perch.EConflict {
		return id, created, err
	}
	// The pair is stored already. The file is the operator's: a stored
	// pair that does not open to its secret (the master key was replaced)
	// is sealed again, and a root pair is kept live.
	_, err = s.store.UpdateKey(ctx, id, func(k *perch.Key) error {
		if got, err := sl.Open(id, k.SealedSecret); err != nil || got != secret {
			k.SealedSecret = sl.Seal(id, secret)
		}
		k.AccessKeyID, k.Status, k.Root = id, perch.StatusCompleted, true
		return nil
	})
	s.keys.drop(id)
	return id, created, err
}

// AWSSecret returns the secret access key of a live pair, for checking a
// signature, or access.ErrUnknownAccessKey. Pairs checked lately, known
// or not, are answered from memory.
func (s *Service) AWSSecret(ctx context.Context, id string) (string, error) {
	if !access.ValidAccessKeyID(id) {
		return "", access.ErrUnknownAccessKey
	}
	k, ok := s.keys.lookup(id)
	if !ok {
		var err error
		k, err = s.store.GetKey(ctx, id)
		switch {
		case perch.Code(err) == perch.ENotFound, err == nil && (k.Status == perch.StatusDeleted || k.SealedSecret == ""):
			k = nil
		case err != nil:
			return "", err
		}
		s.keys.put(id, k)
	}
	if k == nil {
		return "", access.ErrUnknownAccessKey
	}
	if o, ok := s.aws.opened.Load(id); ok && o.(*openedSecret).sealed == k.SealedSecret {
		return o.(*openedSecret).secret, nil
	}
	sl, err := s.sealer()
	if err != nil {
		return "", err
	}
	secret, err := sl.Open(id, k.SealedSecret)
	if err != nil {
		return "", perch.Errorf(perch.EInternal, "access key %s: %v", id, err)
	}
	s.aws.opened.Store(id, &openedSecret{sealed: k.SealedSecret, secret: secret})
	return secret, nil
}

type openedSecret struct{ sealed, secret string }

// withoutSecret is a key as it is shown: with its state, and without
// its secret, which, even sealed, stays in the store.
func withoutSecret(k *perch.Key) *perch.Key {
	if k == nil {
		return k
	}
	c := *k
	c.SealedSecret = ""
	c.State = perch.KeyActive
	if c.Status == perch.StatusDeleted {
		c.State = perch.KeyRevoked
	}
	return &c
}
