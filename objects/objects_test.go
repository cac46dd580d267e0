package objects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/s3fake"
)

// stores opens a fresh bucket of each kind: a temporary directory, and a
// bucket on an in-process S3 server reached through the real S3 client.
var stores = []struct {
	name string
	open func(t *testing.T) *Bucket
}{
	{"file", openFile},
	{"file-walk", openFileWalk},
	{"s3", openFakeS3},
}

func openFile(t *testing.T) *Bucket {
	return mustOpen(t, "file://"+filepath.ToSlash(t.TempDir()))
}

// openFileWalk opens a folder whose reads walk segment by segment, as
// where openat2 is missing.
func openFileWalk(t *testing.T) *Bucket {
	walk(t)
	return openFile(t)
}

// walk makes a folder's reads walk for the rest of the test.
func walk(t *testing.T) {
	was := noOpenat2.Load()
	noOpenat2.Store(true)
	t.Cleanup(func() { noOpenat2.Store(was) })
}

func openFakeS3(t *testing.T) *Bucket {
	return mustOpen(t, fakeS3(t)+"&region=us-east-1")
}

// fakeS3 starts an in-process S3 server holding one empty bucket and
// returns that bucket's URL, without a region.
func fakeS3(t *testing.T) string {
	srv := s3fake.Start(t, "perch")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	return "s3://perch?endpoint=" + srv.URL + "&use_path_style=true"
}

func mustOpen(t testing.TB, u string) *Bucket {
	t.Helper()
	b, err := Open(context.Background(), u)
	if err != nil {
		t.Fatalf("Open(%q): %v", u, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func forEachStore(t *testing.T, f func(t *testing.T, b *Bucket)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { f(t, s.open(t)) })
	}
}

func put(t *testing.T, b *Bucket, key, body string) {
	t.Helper()
	if err := b.Write(context.Background(), key, strings.NewReader(body), "text/csv"); err != nil {
		t.Fatalf("Write(%q): %v", key, err)
	}
}

func wantCode(t *testing.T, what string, err error, code perch.ErrorCode) {
	t.Helper()
	if perch.Code(err) != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, perch.Code(err), code)
	}
}

func TestRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		put(t, b, "data/adult.csv", "age,income\n22,<=50K\n")
		got, err := b.ReadAll(ctx, "data/adult.csv")
		if err != nil || string(got) != "age,income\n22,<=50K\n" {
			t.Fatalf("ReadAll = %q, %v", got, err)
		}
		r, err := b.NewReader(ctx, "data/adult.csv")
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != "age,income\n22,<=50K\n" {
			t.Fatalf("NewReader read %q, %v", got, err)
		}
		ok, err := b.Exists(ctx, "data/adult.csv")
		if !ok || err != nil {
			t.Errorf("Exists = %v, %v", ok, err)
		}

		put(t, b, "data/adult.csv", "short")
		got, err = b.ReadAll(ctx, "data/adult.csv")
		if err != nil || string(got) != "short" {
			t.Fatalf("after overwrite ReadAll = %q, %v", got, err)
		}
		a, err := b.Attributes(ctx, "data/adult.csv")
		if err != nil {
			t.Fatal(err)
		}
		if a.Key != "data/adult.csv" || a.Size != 5 || a.ETag == "" || a.ModTime.IsZero() {
			t.Errorf("Attributes = %+v", a)
		}

		put(t, b, "empty", "")
		got, err = b.ReadAll(ctx, "empty")
		if err != nil || len(got) != 0 {
			t.Errorf("empty object: %q, %v", got, err)
		}
	})
}

func TestETagChanges(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		put(t, b, "k", "one")
		a1, err := b.Attributes(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		put(t, b, "k", "two!")
		a2, err := b.Attributes(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if a1.ETag == a2.ETag {
			t.Errorf("ETag %q unchanged by a new version", a1.ETag)
		}
		l, err := b.List(ctx, "")
		if err != nil || len(l) != 1 {
			t.Fatalf("List = %v, %v", l, err)
		}
		if l[0].Size != 4 || l[0].ETag != a2.ETag {
			t.Errorf("listed %+v, want size 4 and ETag %s", l[0], a2.ETag)
		}
	})
}

func TestNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		_, err := b.NewReader(ctx, "missing.csv")
		wantCode(t, "NewReader", err, perch.ENotFound)
		if err != nil && !strings.Contains(err.Error(), "missing.csv") {
			t.Errorf("error %q does not name the key", err)
		}
		_, err = b.ReadAll(ctx, "missing.csv")
		wantCode(t, "ReadAll", err, perch.ENotFound)
		_, err = b.Attributes(ctx, "missing.csv")
		wantCode(t, "Attributes", err, perch.ENotFound)
		wantCode(t, "Delete", b.Delete(ctx, "missing.csv"), perch.ENotFound)
		ok, err := b.Exists(ctx, "missing.csv")
		if ok || err != nil {
			t.Errorf("Exists = %v, %v", ok, err)
		}
	})
}

func TestDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		put(t, b, "a/b/c.csv", "x")
		put(t, b, "a/d.csv", "y")
		if err := b.Delete(ctx, "a/b/c.csv"); err != nil {
			t.Fatal(err)
		}
		ok, err := b.Exists(ctx, "a/b/c.csv")
		if ok || err != nil {
			t.Errorf("Exists after Delete = %v, %v", ok, err)
		}
		l, err := b.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(l); !slices.Equal(got, []string{"a/d.csv"}) {
			t.Errorf("List after Delete = %q", got)
		}
	})
}

func keys(l []Attrs) []string {
	var k []string
	for _, a := range l {
		k = append(k, a.Key)
	}
	return k
}

func TestList(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		all := []string{"a.b", "a/b", "a/c/d", "b", "in", "inbox/2.csv", "inbox/10.csv", "z-last"}
		for _, k := range all {
			put(t, b, k, k)
		}
		for _, c := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"a.b", "a/b", "a/c/d", "b", "in", "inbox/10.csv", "inbox/2.csv", "z-last"}},
			{"a/", []string{"a/b", "a/c/d"}},
			{"a", []string{"a.b", "a/b", "a/c/d"}},
			{"inbox/", []string{"inbox/10.csv", "inbox/2.csv"}},
			{"in", []string{"in", "inbox/10.csv", "inbox/2.csv"}},
			{"nothing/", nil},
		} {
			l, err := b.List(ctx, c.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", c.prefix, err)
			}
			if got := keys(l); !slices.Equal(got, c.want) {
				t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
			}
			for _, a := range l {
				if a.Size != int64(len(a.Key)) || a.ModTime.IsZero() {
					t.Errorf("List(%q): %+v", c.prefix, a)
				}
			}
		}
	})
}

func TestListPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		b.pageSize = 4
		var want []string
		for i := range 23 {
			k := fmt.Sprintf("p/%03d.csv", i)
			want = append(want, k)
			put(t, b, k, "x")
		}
		put(t, b, "q", "outside the prefix")
		l, err := b.List(ctx, "p/")
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(l); !slices.Equal(got, want) {
			t.Errorf("List over pages of 4 = %q", got)
		}
	})
}

func TestOddKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		want := []string{"a b/c+d.csv", "a__0x41__b", "dé/ü.csv", "x.2024.tmp", "y%2F.csv"}
		for _, k := range want {
			put(t, b, k, k)
		}
		l, err := b.List(ctx, "")
		if got := keys(l); err != nil || !slices.Equal(got, want) {
			t.Errorf("List = %q, %v", got, err)
		}
		for _, k := range want {
			got, err := b.ReadAll(ctx, k)
			if err != nil || string(got) != k {
				t.Errorf("ReadAll(%q) = %q, %v", k, got, err)
			}
		}
	})
}

func TestListPagesKeyOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		// A directory walk visits "a/b" before "a.b"; paging must still
		// give each object once, in key order.
		want := []string{"a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a0", "b", "b-c/a", "b.c"}
		for _, k := range want {
			put(t, b, k, k)
		}
		slices.Sort(want)
		for _, size := range []int{1, 2, 3, 5} {
			b.pageSize = size
			l, err := b.List(ctx, "")
			if got := keys(l); err != nil || !slices.Equal(got, want) {
				t.Errorf("pages of %d: List = %q, %v", size, got, err)
			}
		}
	})
}

func TestListThousands(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,100 objects")
	}
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		const n = 1100 // more than one page of S3's 1,000
		for i := range n {
			put(t, b, fmt.Sprintf("many/%05d", i), "")
		}
		l, err := b.List(ctx, "many/")
		if err != nil || len(l) != n {
			t.Fatalf("List = %d objects, %v; want %d", len(l), err, n)
		}
		for i, a := range l {
			if want := fmt.Sprintf("many/%05d", i); a.Key != want {
				t.Fatalf("List[%d] = %q, want %q", i, a.Key, want)
			}
		}
	})
}

func TestS3DefaultRegion(t *testing.T) {
	b := mustOpen(t, fakeS3(t))
	put(t, b, "k", "v")
	got, err := b.ReadAll(context.Background(), "k")
	if err != nil || string(got) != "v" {
		t.Errorf("without a region: %q, %v", got, err)
	}
}

func TestBadKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		for _, k := range []string{"", "/a", "a//b", "a/../b", "..", "../x", "./a", "a/.", "a/", "a\x00b", "a\nb", "\xff",
			"/etc/passwd", "x/../../root-key", "../objects/x", "..\x00", "a\x00/../../root-key"} {
			wantCode(t, fmt.Sprintf("Write(%q)", k), b.Write(ctx, k, strings.NewReader("x"), ""), perch.EInvalid)
			_, err := b.ReadAll(ctx, k)
			wantCode(t, fmt.Sprintf("ReadAll(%q)", k), err, perch.EInvalid)
			_, err = b.NewReader(ctx, k)
			wantCode(t, fmt.Sprintf("NewReader(%q)", k), err, perch.EInvalid)
			_, err = b.Attributes(ctx, k)
			wantCode(t, fmt.Sprintf("Attributes(%q)", k), err, perch.EInvalid)
			_, err = b.Exists(ctx, k)
			wantCode(t, fmt.Sprintf("Exists(%q)", k), err, perch.EInvalid)
			wantCode(t, fmt.Sprintf("Delete(%q)", k), b.Delete(ctx, k), perch.EInvalid)
		}
		for _, p := range []string{"/a", "a//", "../", "a/../"} {
			_, err := b.List(ctx, p)
			wantCode(t, fmt.Sprintf("List(%q)", p), err, perch.EInvalid)
		}
		l, err := b.List(ctx, "")
		if err != nil || len(l) != 0 {
			t.Errorf("bad keys wrote %v, %v", keys(l), err)
		}
	})
}

// failingReader yields n bytes and then fails, as an upload cut short does.
type failingReader struct{ n int }

var errCut = errors.New("connection reset")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errCut
	}
	n := min(len(p), r.n)
	clear(p[:n])
	r.n -= n
	return n, nil
}

func TestWriteFailureLeavesOld(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		put(t, b, "model.json", "old")
		err := b.Write(ctx, "model.json", &failingReader{n: 100 << 10}, "")
		if !errors.Is(err, errCut) {
			t.Errorf("Write with a failing reader: %v, want %v", err, errCut)
		}
		got, err := b.ReadAll(ctx, "model.json")
		if err != nil || string(got) != "old" {
			t.Errorf("after a failed write: %q, %v", got, err)
		}
		err = b.Write(ctx, "new.json", &failingReader{n: 10}, "")
		if err == nil {
			t.Error("Write with a failing reader succeeded")
		}
		l, err := b.List(ctx, "")
		if got := keys(l); err != nil || !slices.Equal(got, []string{"model.json"}) {
			t.Errorf("List after failed writes = %q, %v", got, err)
		}
	})
}

// pattern is a deterministic stream of n bytes.
type pattern struct{ i, n int }

func (p *pattern) Read(b []byte) (int, error) {
	if p.i == p.n {
		return 0, io.EOF
	}
	k := min(len(b), p.n-p.i)
	for j := range k {
		b[j] = byte((p.i + j) * 7 / 3)
	}
	p.i += k
	return k, nil
}

func TestLargeObject(t *testing.T) {
	const size = 10 << 20
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		if err := b.Write(ctx, "big/batch.csv", &pattern{n: size}, "text/csv"); err != nil {
			t.Fatal(err)
		}
		want := sha256.New()
		io.Copy(want, &pattern{n: size})
		r, err := b.NewReader(ctx, "big/batch.csv")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got := sha256.New()
		n, err := io.Copy(got, r)
		if err != nil || n != size {
			t.Fatalf("read %d bytes, %v; want %d", n, err, size)
		}
		if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
			t.Error("10 MB object read back differs")
		}
		a, err := b.Attributes(ctx, "big/batch.csv")
		if err != nil || a.Size != size {
			t.Errorf("Attributes = %+v, %v", a, err)
		}
	})
}

func TestFileLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "not", "yet")
	b := mustOpen(t, dir) // a plain path, created on open
	put(t, b, "inbox/a.csv", "1\n")
	got, err := os.ReadFile(filepath.Join(dir, "inbox", "a.csv"))
	if err != nil || string(got) != "1\n" {
		t.Fatalf("file on disk: %q, %v", got, err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "inbox"))
	if len(ents) != 1 {
		t.Errorf("inbox holds %d files, want only a.csv (no sidecars)", len(ents))
	}
	// A file another program drops in is an object; a temporary file left
	// by a write cut short is not.
	os.WriteFile(filepath.Join(dir, "inbox", "b.csv"), []byte("2\n"), 0o666)
	os.WriteFile(filepath.Join(dir, "inbox", "c.csv.18a2b3c4d5e6f708.tmp"), []byte("half"), 0o666)
	l, err := b.List(ctx, "")
	if got := keys(l); err != nil || !slices.Equal(got, []string{"inbox/a.csv", "inbox/b.csv"}) {
		t.Errorf("List = %q, %v", got, err)
	}
	b2 := mustOpen(t, "file://"+filepath.ToSlash(dir))
	data, err := b2.ReadAll(ctx, "inbox/b.csv")
	if err != nil || string(data) != "2\n" {
		t.Errorf("same dir by URL: %q, %v", data, err)
	}
}

func TestFileKeyCollision(t *testing.T) {
	ctx := context.Background()
	b := openFile(t)
	wantCode(t, "Write(x.attrs)", b.Write(ctx, "x.attrs", strings.NewReader("x"), ""), perch.EInvalid)
	put(t, b, "a", "file")
	put(t, b, "b/c", "file under a directory")
	wantCode(t, "Write(a/b)", b.Write(ctx, "a/b", strings.NewReader("x"), ""), perch.EConflict)
	wantCode(t, "Write(b)", b.Write(ctx, "b", strings.NewReader("x"), ""), perch.EConflict)
}

func TestDirectoryIsNoObject(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		put(t, b, "inbox/a.csv", "x")
		_, err := b.ReadAll(ctx, "inbox")
		wantCode(t, "ReadAll", err, perch.ENotFound)
		_, err = b.Attributes(ctx, "inbox")
		wantCode(t, "Attributes", err, perch.ENotFound)
		wantCode(t, "Delete", b.Delete(ctx, "inbox"), perch.ENotFound)
		if ok, err := b.Exists(ctx, "inbox"); ok || err != nil {
			t.Errorf("Exists = %v, %v", ok, err)
		}
		if ok, _ := b.Exists(ctx, "inbox/a.csv"); !ok {
			t.Error("Delete of the directory removed its object")
		}
	})
}

func TestReadersSeeWholeObjects(t *testing.T) {
	forEachStore(t, func(t *testing.T, b *Bucket) {
		ctx := context.Background()
		versions := []string{strings.Repeat("a", 300<<10), strings.Repeat("b", 100<<10)}
		put(t, b, "model.json", versions[0])
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 20 {
				if err := b.Write(ctx, "model.json", strings.NewReader(versions[i%2]), ""); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for reads := 0; ; reads++ {
			select {
			case <-done:
				return
			default:
			}
			got, err := b.ReadAll(ctx, "model.json")
			if err != nil {
				t.Fatalf("read %d: %v", reads, err)
			}
			if s := string(got); s != versions[0] && s != versions[1] {
				t.Fatalf("read %d saw %d bytes, not a whole version", reads, len(got))
			}
		}
	})
}

func TestOpenBadURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{
		"",
		"gs://bucket",
		"file://host/dir",
		"file:///dir?create_dir=1",
		"s3://",
		"s3://bucket/key.csv",
		"s3://bucket?nonsense=1",
		"s3://bucket?use_path_style=maybe",
		"://x",
	} {
		b, err := Open(ctx, u)
		if err == nil {
			b.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		wantCode(t, fmt.Sprintf("Open(%q)", u), err, perch.EInvalid)
		if u != "" && !strings.Contains(err.Error(), u) {
			t.Errorf("Open(%q): error %q does not name the URL", u, err)
		}
	}
}

func TestParseURL(t *testing.T) {
	abs, _ := filepath.Abs("rel")
	for _, c := range []struct{ in, bucket, key string }{
		{"s3://bucket/in/a.csv", "s3://bucket", "in/a.csv"},
		{"s3://bucket/key.csv?endpoint=http://127.0.0.1:9000&region=us-east-1&use_path_style=true",
			"s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&use_path_style=true", "key.csv"},
		{"s3://bucket/prefix/", "s3://bucket", "prefix/"},
		{"s3://bucket", "s3://bucket", ""},
		{"file:///srv/data/a.csv", "file:///srv/data", "a.csv"},
		{"file:///a.csv", "file:///", "a.csv"},
		{"file://localhost/srv/a.csv", "file://localhost/srv", "a.csv"},
		{"/srv/data/a.csv", "file:///srv/data", "a.csv"},
		{"rel/a.csv", "file://" + filepath.ToSlash(abs), "a.csv"},
		{"", "", ""},
		{"s3://bad host/x", "", ""},
	} {
		bu, key := ParseURL(c.in)
		if bu != c.bucket || key != c.key {
			t.Errorf("ParseURL(%q) = %q, %q; want %q, %q", c.in, bu, key, c.bucket, c.key)
		}
	}
}

func TestParseURLOpens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := mustOpen(t, dir)
	put(t, b, "x/y.csv", "hello")
	bu, key := ParseURL("file://" + filepath.ToSlash(filepath.Join(dir, "x", "y.csv")))
	b2 := mustOpen(t, bu)
	got, err := b2.ReadAll(ctx, key)
	if err != nil || string(got) != "hello" {
		t.Errorf("ReadAll through ParseURL: %q, %v", got, err)
	}
}

// TestRemoveTemp checks that the temporary files of writes cut short are
// removed once old enough, and nothing else.
func TestRemoveTemp(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Write(ctx, "out/a.csv", strings.NewReader("x\n"), ""); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "out", "b.csv.0123456789abcdef.tmp")
	young := filepath.Join(dir, "c.csv.fedcba9876543210.tmp")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hour := time.Now().Add(-time.Hour)
	os.Chtimes(old, hour, hour)
	if n, err := b.RemoveTemp(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("RemoveTemp(1m) = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("an hour-old temporary file is still there: %v", err)
	}
	if n, err := b.RemoveTemp(ctx, 0); err != nil || n != 1 {
		t.Fatalf("RemoveTemp(0) = %d, %v; want 1", n, err)
	}
	if got, err := b.ReadAll(ctx, "out/a.csv"); err != nil || string(got) != "x\n" {
		t.Errorf("an object was touched: %q, %v", got, err)
	}
}
