package service_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
)

// TestAWSKeys covers AWS-style access key pairs: the root pair and its
// file, pairs made and revoked, and a master key replaced.
func TestAWSKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := objects.Open(ctx, filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	st := s3urlStore(t)
	svc := service.New(service.Config{Store: st, Objects: b})
	if _, _, err := svc.EnsureRootAWSKey(ctx, dir); perch.Code(err) != perch.EInternal {
		t.Errorf("without a master key: %v", err)
	}
	master, err := access.EnsureMasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetMasterKey(master); err != nil {
		t.Fatal(err)
	}
	id, created, err := svc.EnsureRootAWSKey(ctx, dir)
	if err != nil || !created {
		t.Fatalf("EnsureRootAWSKey: %q %v %v", id, created, err)
	}
	path := filepath.Join(dir, access.RootAWSCredentialsFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, fi, err)
	}
	fid, secret, err := access.ReadCredentialsFile(path)
	if err != nil || fid != id {
		t.Fatalf("ReadCredentialsFile: %q %v", fid, err)
	}
	if again, created, err := svc.EnsureRootAWSKey(ctx, dir); err != nil || created || again != id {
		t.Errorf("second EnsureRootAWSKey: %q %v %v", again, created, err)
	}
	if got, err := svc.AWSSecret(ctx, id); err != nil || got != secret {
		t.Errorf("AWSSecret(root): %v", err)
	}
	k, err := st.GetKey(ctx, id)
	if err != nil || !k.Root || k.AccessKeyID != id || k.SealedSecret == "" || k.SealedSecret == secret {
		t.Errorf("stored root pair: %+v, %v", k, err)
	}
	if _, err := svc.DeleteKey(ctx, id); perch.Code(err) != perch.EForbidden {
		t.Errorf("revoking the root pair: %v", err)
	}

	pid, psecret, pk, err := svc.CreateAWSKey(ctx, "ci", adminPolicy())
	if err != nil || !access.ValidAccessKeyID(pid) || pk.ID != pid || pk.Root || pk.SealedSecret != "" {
		t.Fatalf("CreateAWSKey: %q %+v %v", pid, pk, err)
	}
	if got, err := svc.AWSSecret(ctx, pid); err != nil || got != psecret {
		t.Errorf("AWSSecret(new pair): %v", err)
	}
	if _, err := svc.DeleteKey(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AWSSecret(ctx, pid); !errors.Is(err, access.ErrUnknownAccessKey) {
		t.Errorf("a revoked pair: %v", err)
	}
	if _, err := svc.AWSSecret(ctx, "PKIAAAAAAAAAAAAAAAAA"); !errors.Is(err, access.ErrUnknownAccessKey) {
		t.Errorf("an unknown pair: %v", err)
	}

	// A new master key (the file was lost): a server starting on it seals
	// the root pair again from its file; other pairs must be made anew.
	other, _, _, err := svc.CreateAWSKey(ctx, "other", adminPolicy())
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, access.MasterKeyFile))
	master2, err := access.EnsureMasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc2 := service.New(service.Config{Store: st, Objects: b})
	if err := svc2.SetMasterKey(master2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc2.EnsureRootAWSKey(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if got, err := svc2.AWSSecret(ctx, id); err != nil || got != secret {
		t.Errorf("root pair under a new master key: %v", err)
	}
	if _, err := svc2.AWSSecret(ctx, other); perch.Code(err) != perch.EInternal {
		t.Errorf("another pair under a new master key: %v", err)
	}

	os.Chmod(path, 0o644)
	if _, _, err := svc.EnsureRootAWSKey(ctx, dir); perch.Code(err) != perch.EForbidden {
		t.Errorf("a credentials file readable by others: %v", err)
	}
}
