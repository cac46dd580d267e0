package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/s3fake"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

// s3Service is a service on an in-process S3 server's bucket "perch".
func s3Service(t *testing.T) (*service.Service, *objects.Bucket) {
	t.Helper()
	srv := s3fake.Start(t, "perch")
	b, err := objects.Open(context.Background(), srv.Bucket("perch"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return service.New(service.Config{Store: s3urlStore(t), Objects: b}), b
}

func s3urlStore(t *testing.T) perch.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestS3URLs maps AML's s3:// locations onto both kinds of object store:
// on a folder every bucket is a folder, on S3 the store's own bucket is
// the bucket and others are refused.
func TestS3URLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fb, err := objects.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	folder := service.New(service.Config{Store: s3urlStore(t), Objects: fb})
	s3, sb := s3Service(t)

	for _, c := range []struct {
		name string
		svc  *service.Service
		in   string
		key  string // "" means refused
	}{
		{"folder", folder, "s3://bucket/adult/train.csv", "bucket/adult/train.csv"},
		{"folder", folder, "s3://other/x.csv", "other/x.csv"},
		{"folder", folder, "s3://bucket", "bucket"},
		{"folder", folder, "s3://bucket/a/../b.csv", ""},
		{"folder", folder, "https://bucket/a.csv", ""},
		{"s3", s3, "s3://perch/adult/train.csv", "adult/train.csv"},
		{"s3", s3, "s3://other/adult/train.csv", ""},
		{"s3", s3, "s3://perch", ""},
	} {
		key, err := c.svc.S3Key(c.in)
		if c.key == "" {
			if perch.Code(err) != perch.EInvalid {
				t.Errorf("%s S3Key(%q) = %q, %v; want EInvalid", c.name, c.in, key, err)
			}
			continue
		}
		if err != nil || key != c.key {
			t.Errorf("%s S3Key(%q) = %q, %v; want %q", c.name, c.in, key, err, c.key)
		}
		if back := c.svc.S3URL(key); back != c.in {
			t.Errorf("%s S3URL(%q) = %q; want %q", c.name, key, back, c.in)
		}
	}
	if got := folder.S3URL(fb.URL("bucket/a.csv")); got != "s3://bucket/a.csv" {
		t.Errorf("folder S3URL of a stored URL: %q", got)
	}
	if got := s3.S3URL(sb.URL("a.csv")); got != "s3://perch/a.csv" {
		t.Errorf("s3 S3URL of a stored URL: %q", got)
	}
	// Filters compare locations as entities keep them.
	if got, want := folder.StoredURLPrefix("s3://bucket/adult/"), fb.URL("bucket/adult/"); got != want {
		t.Errorf("folder StoredURLPrefix: %q, want %q", got, want)
	}
	if got, want := s3.StoredURLPrefix("s3://perch/adult/"), sb.URL("adult/"); got != want {
		t.Errorf("s3 StoredURLPrefix: %q, want %q", got, want)
	}
	if got := s3.StoredURLPrefix("s3://other/adult/"); got != "s3://other/adult/" {
		t.Errorf("s3 StoredURLPrefix of another bucket: %q", got)
	}

	// ReadS3 reads what the mapping names, on either store.
	for _, c := range []struct {
		svc *service.Service
		b   *objects.Bucket
		key string
		url string
	}{{folder, fb, "bucket/schema.json", "s3://bucket/schema.json"}, {s3, sb, "schema.json", "s3://perch/schema.json"}} {
		if err := c.b.Write(ctx, c.key, strings.NewReader(`{"version":"1.0"}`), "application/json"); err != nil {
			t.Fatal(err)
		}
		got, err := c.svc.ReadS3(ctx, c.url)
		if err != nil || string(got) != `{"version":"1.0"}` {
			t.Errorf("ReadS3(%q) = %q, %v", c.url, got, err)
		}
		if _, err := c.svc.ReadS3(ctx, c.url+".missing"); perch.Code(err) != perch.ENotFound {
			t.Errorf("ReadS3 of a missing object: %v", err)
		}
	}
}
