package service

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/policy"
)

// keyTTL is how long a checked key is trusted without asking the store
// again: the time a revoked key keeps working on a server that saw it.
const keyTTL = 5 * time.Second

// keyID is the store id of a key: its hash in hex.
func keyID(key string) string {
	h := access.Hash(key)
	return hex.EncodeToString(h[:])
}

// hint is what a list shows of a key.
func hint(key string) string { return key[:len(access.Prefix)+4] + "…" }

// Authenticate returns the key a request presents, or EUnauthorized. Keys
// checked lately, known or not, are answered from memory, so a busy
// endpoint (or a client retrying a wrong key) does not ask the store on
// every request.
func (s *Service) Authenticate(ctx context.Context, key string) (*perch.Key, error) {
	if !access.WellFormed(key) {
		return nil, perch.Errorf(perch.EUnauthorized, "the credential is not a perch key")
	}
	id := keyID(key)
	if k, ok := s.keys.lookup(id); ok {
		if k == nil {
			return nil, errUnknownKey
		}
		return k, nil
	}
	k, err := s.store.GetKey(ctx, id)
	switch {
	case perch.Code(err) == perch.ENotFound, err == nil && k.Status == perch.StatusDeleted:
		s.keys.put(id, nil)
		return nil, errUnknownKey
	case err != nil:
		return nil, err
	}
	s.keys.put(id, k)
	return k, nil
}

// errUnknownKey does not say whether a key never existed or was revoked:
// that is for the key's owner to know, not whoever holds the key.
var errUnknownKey = perch.Errorf(perch.EUnauthorized, "unknown or revoked key")

// RegisterRootKey stores the hash of a root key, unless it is stored
// already; the key itself is kept by the caller (the root-key file). A
// root key found revoked is restored: whoever holds the file is the
// operator, and must not be locked out of the server.
func (s *Service) RegisterRootKey(ctx context.Context, key string) error {
	if !access.WellFormed(key) {
		return perch.Errorf(perch.EInvalid, "not a perch key")
	}
	k := &perch.Key{
		Meta: perch.Meta{ID: keyID(key), Name: "root", Status: perch.StatusCompleted},
		Hint: hint(key),
		Root: true,
	}
	err := s.store.CreateKey(ctx, k)
	if perch.Code(err) != perch.EConflict {
		return err
	}
	_, err = s.store.UpdateKey(ctx, k.ID, func(k *perch.Key) error {
		k.Status, k.Root = perch.StatusCompleted, true
		return nil
	})
	s.keys.drop(k.ID)
	return err
}

// CreateKey makes a new API key that may do what p allows (nil: nothing
// but read itself). The key is returned this once; only its hash is kept.
func (s *Service) CreateKey(ctx context.Context, name string, p *perch.Policy) (string, *perch.Key, error) {
	if err := s.authorize(ctx, "perch:CreateKey", perch.Resource(perch.KindKey, "*"), nil); err != nil {
		return "", nil, err
	}
	if err := checkName("key", name); err != nil {
		return "", nil, err
	}
	p, err := keyPolicy(p)
	if err != nil {
		return "", nil, err
	}
	key, _ := access.NewKey()
	k := &perch.Key{
		Meta:   perch.Meta{ID: keyID(key), Name: name, Status: perch.StatusCompleted, CreatedBy: creator(ctx)},
		Hint:   hint(key),
		Policy: p,
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return "", nil, err
	}
	return key, withoutSecret(k), nil
}

// keyPolicy checks the policy a key is given; nil becomes the empty
// policy, which allows nothing (a key may still read itself), so that
// only keys stored before policies existed have none.
func keyPolicy(p *perch.Policy) (*perch.Policy, error) {
	if p == nil {
		return &perch.Policy{Version: "2012-10-17", Statement: perch.StatementList{}}, nil
	}
	if err := policy.Check(p); err != nil {
		return nil, err
	}
	return p, nil
}

// PolicyFrom reads the policy a request gives a key: a policy document,
// or a JSON string naming a ready-made one (admin, trainer, predictor,
// reader).
func PolicyFrom(b []byte) (*perch.Policy, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var name string
		if err := json.Unmarshal(b, &name); err != nil {
			return nil, perch.Errorf(perch.EInvalid, "policy: %v", err)
		}
		p, ok := policy.Named(name)
		if !ok {
			return nil, perch.Errorf(perch.EInvalid, "policy %q: no such ready-made policy (there are %s)", perch.Clip(name), strings.Join(policy.Names(), ", "))
		}
		return p, nil
	}
	return policy.Parse(b)
}

// GetKey returns a key (its hint, never the key).
func (s *Service) GetKey(ctx context.Context, id string) (*perch.Key, error) {
	if err := s.authorize(ctx, "perch:GetKey", perch.Resource(perch.KindKey, id), nil); err != nil {
		return nil, err
	}
	k, err := s.store.GetKey(ctx, id)
	return withoutSecret(k), err
}

// SetKeyPolicy replaces what a key may do; the root key has no policy.
func (s *Service) SetKeyPolicy(ctx context.Context, id string, p *perch.Policy) (*perch.Key, error) {
	if err := s.authorize(ctx, "perch:UpdateKeyPolicy", perch.Resource(perch.KindKey, id), nil); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, perch.Errorf(perch.EInvalid, "policy: required")
	}
	if err := policy.Check(p); err != nil {
		return nil, err
	}
	k, err := s.store.UpdateKey(ctx, id, func(k *perch.Key) error {
		if k.Root {
			return perch.Errorf(perch.EForbidden, "key %s is a root key: it may do everything and has no policy", id)
		}
		if k.Status == perch.StatusDeleted {
			return perch.Errorf(perch.EConflict, "key %s is revoked", id)
		}
		k.Policy = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keys.drop(id)
	return withoutSecret(k), nil
}

// legacyPolicy is what keys stored before policies existed may do: what
// any key but the root key could do then, everything but managing keys
// and creating or deleting pipelines, so that no client breaks.
var legacyPolicy = &perch.Policy{Version: "2012-10-17", Statement: perch.StatementList{
	{Sid: "Everything", Effect: perch.Allow, Action: perch.StringList{"*"}, Resource: perch.StringList{"*"}},
	{Sid: "RootOnlyBefore", Effect: perch.Deny,
		Action:   perch.StringList{"perch:CreateKey", "perch:UpdateKeyPolicy", "perch:DeleteKey", "perch:ListKeys", "perch:CreatePipeline", "perch:DeletePipeline"},
		Resource: perch.StringList{"*"}},
}}

// UpgradeKeys gives every key stored without a policy (made before
// policies existed) the policy that keeps it doing what it did, and
// returns how many it changed. A server runs it at start.
func (s *Service) UpgradeKeys(ctx context.Context) (int, error) {
	n := 0
	f := perch.Filter{Limit: perch.MaxPageLimit}
	for {
		keys, next, err := s.store.ListKeys(ctx, f)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if k.Root || k.Policy != nil {
				continue
			}
			if _, err := s.store.UpdateKey(ctx, k.ID, func(k *perch.Key) error {
				if k.Policy == nil && !k.Root {
					k.Policy = legacyPolicy
				}
				return nil
			}); err != nil {
				return n, err
			}
			s.keys.drop(k.ID)
			n++
		}
		if next == "" {
			return n, nil
		}
		f.PageToken = next
	}
}

// ListKeys returns one page of keys (their hints, never the keys).
func (s *Service) ListKeys(ctx context.Context, f perch.Filter) ([]*perch.Key, string, error) {
	if err := s.authorize(ctx, "perch:ListKeys", "*", nil); err != nil {
		return nil, "", err
	}
	keys, next, err := s.store.ListKeys(ctx, f)
	for i, k := range keys {
		keys[i] = withoutSecret(k)
	}
	return keys, next, err
}

// DeleteKey revokes a key by id. A root key cannot be revoked: it is the
// way back in, and a new one comes only from the server's data directory.
func (s *Service) DeleteKey(ctx context.Context, id string) (*perch.Key, error) {
	if err := s.authorize(ctx, "perch:DeleteKey", perch.Resource(perch.KindKey, id), nil); err != nil {
		return nil, err
	}
	k, err := s.store.UpdateKey(ctx, id, func(k *perch.Key) error {
		if k.Root {
			return perch.Errorf(perch.EForbidden, "key %s is a root key; it cannot be revoked (replace the root-key file of the server's data directory instead)", id)
		}
		k.Status = perch.StatusDeleted
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keys.drop(id)
	return withoutSecret(k), nil
}

// keyCache remembers keys checked lately, by store id: a nil key is one
// the store did not have (or had revoked).
type keyCache struct {
	mu sync.RWMutex
	m  map[string]keyEntry
}

type keyEntry struct {
	key     *perch.Key
	expires time.Time
}

func newKeyCache() *keyCache { return &keyCache{m: make(map[string]keyEntry)} }

// lookup returns what is remembered of id, and whether anything is.
func (c *keyCache) lookup(id string) (*perch.Key, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.key, true
}

// get returns a key remembered as valid, or nil.
func (c *keyCache) get(id string) *perch.Key {
	k, _ := c.lookup(id)
	return k
}

func (c *keyCache) put(id string, k *perch.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 { // bound it: forget everything rather than grow
		clear(c.m)
	}
	c.m[id] = keyEntry{key: k, expires: time.Now().Add(keyTTL)}
}

func (c *keyCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
