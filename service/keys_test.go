package service_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
)

func TestKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, envOptions{manual: true})
		svc := e.svc

		root, _ := access.NewKey()
		ok(t, svc.RegisterRootKey(ctx, root))
		ok(t, svc.RegisterRootKey(ctx, root)) // every start registers it
		wantCode(t, svc.RegisterRootKey(ctx, "hunter2"), perch.EInvalid)
		k, err := svc.Authenticate(ctx, root)
		ok(t, err)
		if !k.Root || k.Status != perch.StatusCompleted || strings.Contains(k.Hint, root[len(access.Prefix)+4:]) {
			t.Errorf("root key %+v", k)
		}

		unknown, _ := access.NewKey()
		_, err = svc.Authenticate(ctx, unknown)
		wantCode(t, err, perch.EUnauthorized)
		for _, bad := range []string{"", "hunter2", access.Prefix, access.Prefix + "!!!", root + "x", "Bearer " + root} {
			_, err = svc.Authenticate(ctx, bad)
			wantCode(t, err, perch.EUnauthorized)
		}

		key, made, err := svc.CreateKey(ctx, "ci", adminPolicy())
		ok(t, err)
		if !access.WellFormed(key) || made.Root || made.Name != "ci" || !strings.HasPrefix(key, strings.TrimSuffix(made.Hint, "…")) {
			t.Fatalf("made key %q: %+v", key, made)
		}
		got, err := svc.Authenticate(ctx, key)
		ok(t, err)
		if got.ID != made.ID || got.Root {
			t.Errorf("authenticated %+v, want %+v", got, made)
		}
		list, _, err := svc.ListKeys(ctx, perch.Filter{})
		ok(t, err)
		if len(list) != 2 {
			t.Errorf("%d keys listed, want 2", len(list))
		}
		for _, l := range list {
			if strings.Contains(l.Hint, key[len(access.Prefix)+4:]) || strings.Contains(l.Hint, root[len(access.Prefix)+4:]) {
				t.Errorf("a listed hint gives the key away: %q", l.Hint)
			}
		}

		// Another server that has checked the key trusts it for a few
		// seconds; one that has not refuses it at once.
		other := replica(t, e, envOptions{manual: true})
		_, err = other.svc.Authenticate(ctx, key)
		ok(t, err)

		deleted, err := svc.DeleteKey(ctx, made.ID)
		ok(t, err)
		if deleted.Status != perch.StatusDeleted {
			t.Errorf("deleted key is %s", deleted.Status)
		}
		_, err = svc.Authenticate(ctx, key)
		wantCode(t, err, perch.EUnauthorized)
		fresh := replica(t, e, envOptions{manual: true})
		_, err = fresh.svc.Authenticate(ctx, key)
		wantCode(t, err, perch.EUnauthorized)
		_, err = fresh.svc.Authenticate(ctx, root)
		ok(t, err)
		_, err = svc.DeleteKey(ctx, "nosuchkey")
		wantCode(t, err, perch.ENotFound)

		// The root key cannot be revoked; one revoked behind the service's
		// back (an old version allowed it) is restored at the next start.
		_, err = svc.DeleteKey(ctx, k.ID)
		wantCode(t, err, perch.EForbidden)
		_, err = e.store.UpdateKey(ctx, k.ID, func(k *perch.Key) error { k.Status = perch.StatusDeleted; return nil })
		ok(t, err)
		restarted := replica(t, e, envOptions{manual: true})
		_, err = restarted.svc.Authenticate(ctx, root)
		wantCode(t, err, perch.EUnauthorized)
		ok(t, restarted.svc.RegisterRootKey(ctx, root))
		_, err = restarted.svc.Authenticate(ctx, root)
		ok(t, err)

		// An unknown key is remembered as unknown: retrying it does not
		// query the store again within the cache's time.
		counting := &countingStore{Store: e.store}
		cs := replica(t, e, envOptions{manual: true, wrap: func(perch.Store) perch.Store { return counting }})
		for range 5 {
			_, err = cs.svc.Authenticate(ctx, unknown)
			wantCode(t, err, perch.EUnauthorized)
		}
		if n := counting.keys.Load(); n != 1 {
			t.Errorf("5 tries of an unknown key read the store %d times, want 1", n)
		}
	})
}

// countingStore counts key and model reads.
type countingStore struct {
	perch.Store
	keys, models atomic.Int64
}

func (c *countingStore) GetKey(ctx context.Context, id string) (*perch.Key, error) {
	c.keys.Add(1)
	return c.Store.GetKey(ctx, id)
}

func (c *countingStore) GetMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	c.models.Add(1)
	return c.Store.GetMLModel(ctx, id)
}

// Predictions for a model that does not exist do not each query the store.
func TestMissingModelCached(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "sqlite://"+t.TempDir()+"/perch.db", envOptions{manual: true})
	counting := &countingStore{Store: e.store}
	cs := replica(t, e, envOptions{manual: true, wrap: func(perch.Store) perch.Store { return counting }})
	var p perch.Prediction
	for range 5 {
		wantCode(t, cs.svc.Predict(ctx, "ml-nosuch", perch.Record{"a": "1"}, &p), perch.ENotFound)
	}
	if n := counting.models.Load(); n != 1 {
		t.Errorf("5 predictions for a missing model read the store %d times, want 1", n)
	}
}
