package objects

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"

	"github.com/perchml/perch"
)

const secret = "perch_SECRET root key"

// linked opens a fresh folder holding the objects "ok/a.csv" and "top",
// beside a directory outside it holding "secret" (a file whose content
// must never come out through the store) and "sub/secret".
func linked(t *testing.T) (b *Bucket, root, outside string) {
	t.Helper()
	outside = t.TempDir()
	if err := os.MkdirAll(filepath.Join(outside, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"secret", "sub/secret"} {
		if err := os.WriteFile(filepath.Join(outside, p), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root = filepath.Join(t.TempDir(), "objects")
	b = mustOpen(t, root)
	put(t, b, "ok/a.csv", "a\n1\n")
	put(t, b, "top", "top")
	return b, root, outside
}

// eachWay runs f with a folder's reads through openat2 (where the kernel
// has it) and walking.
func eachWay(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", f)
	t.Run("walk", func(t *testing.T) {
		walk(t)
		f(t)
	})
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// refused checks that key is no object: not readable, not found by a stat,
// not listed, not written and not deleted, with the exact codes; and that
// the files a link could reach still hold what they held.
func refused(t *testing.T, b *Bucket, key string, untouched ...string) {
	t.Helper()
	ctx := context.Background()
	before := map[string]string{}
	for _, p := range untouched {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = string(data)
	}
	data, err := b.ReadAll(ctx, key)
	wantCode(t, fmt.Sprintf("ReadAll(%q)", key), err, perch.ENotFound)
	if len(data) > 0 {
		t.Errorf("ReadAll(%q) gave %q", key, data)
	}
	r, err := b.NewReader(ctx, key)
	wantCode(t, fmt.Sprintf("NewReader(%q)", key), err, perch.ENotFound)
	if r != nil {
		data, _ := io.ReadAll(r)
		r.Close()
		t.Errorf("NewReader(%q) read %q", key, data)
	}
	_, err = b.Attributes(ctx, key)
	wantCode(t, fmt.Sprintf("Attributes(%q)", key), err, perch.ENotFound)
	if ok, err := b.Exists(ctx, key); ok || err != nil {
		t.Errorf("Exists(%q) = %v, %v; want false, nil", key, ok, err)
	}
	for _, prefix := range []string{"", key, key[:strings.LastIndex(key, "/")+1]} {
		l, err := b.List(ctx, prefix)
		if err != nil {
			t.Errorf("List(%q): %v", prefix, err)
		}
		for _, a := range l {
			if a.Key == key || strings.HasPrefix(a.Key, key+"/") {
				t.Errorf("List(%q) lists %q", prefix, a.Key)
			}
		}
	}
	err = b.Write(ctx, key, strings.NewReader("overwritten"), "")
	wantCode(t, fmt.Sprintf("Write(%q)", key), err, perch.EForbidden)
	err = b.Delete(ctx, key)
	wantCode(t, fmt.Sprintf("Delete(%q)", key), err, perch.EForbidden)
	for _, p := range untouched {
		data, err := os.ReadFile(p)
		if err != nil || string(data) != before[p] {
			t.Errorf("%s now holds %q, %v; want %q", p, data, err, before[p])
		}
	}
}

// ordinary checks that the folder's real objects are there as ever.
func ordinary(t *testing.T, b *Bucket, want ...string) {
	t.Helper()
	ctx := context.Background()
	if got, err := b.ReadAll(ctx, "ok/a.csv"); err != nil || string(got) != "a\n1\n" {
		t.Errorf("ReadAll(ok/a.csv) = %q, %v", got, err)
	}
	l, err := b.List(ctx, "")
	if got := keys(l); err != nil || !slices.Equal(got, want) {
		t.Errorf("List = %q, %v; want %q", got, err, want)
	}
	put(t, b, "ok/b.csv", "b")
	if err := b.Delete(ctx, "ok/b.csv"); err != nil {
		t.Errorf("Delete(ok/b.csv): %v", err)
	}
}

// TestSymlinkedFile: a symlink in the folder to a file outside it is no
// object.
func TestSymlinkedFile(t *testing.T) {
	eachWay(t, func(t *testing.T) {
		b, root, outside := linked(t)
		target := filepath.Join(outside, "secret")
		symlink(t, target, filepath.Join(root, "leak"))
		rel, err := filepath.Rel(filepath.Join(root, "ok"), target)
		if err != nil {
			t.Fatal(err)
		}
		symlink(t, rel, filepath.Join(root, "ok", "rel"))
		if data, err := os.ReadFile(filepath.Join(root, "ok", "rel")); err != nil || string(data) != secret {
			t.Fatalf("the relative link leads to %q, %v", data, err)
		}
		refused(t, b, "leak", target)
		refused(t, b, "ok/rel", target)
		if fi, err := os.Lstat(filepath.Join(root, "leak")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced or removed: %v, %v", fi, err)
		}
		ordinary(t, b, "ok/a.csv", "top")
	})
}

// TestSymlinkedDirectory: a directory segment that is a symlink to a
// directory outside leads nowhere, at any depth.
func TestSymlinkedDirectory(t *testing.T) {
	eachWay(t, func(t *testing.T) {
		ctx := context.Background()
		b, root, outside := linked(t)
		secretFile := filepath.Join(outside, "secret")
		symlink(t, outside, filepath.Join(root, "d"))
		symlink(t, outside, filepath.Join(root, "ok", "d"))
		for _, k := range []string{"d/secret", "d/sub/secret", "ok/d/secret", "d/new", "ok/d/sub/new"} {
			refused(t, b, k, secretFile, filepath.Join(outside, "sub", "secret"))
		}
		for _, p := range []string{"new", "sub/new"} {
			if _, err := os.Lstat(filepath.Join(outside, p)); !os.IsNotExist(err) {
				t.Errorf("a write through the link made %s outside: %v", p, err)
			}
		}
		if l, err := b.List(ctx, "d/"); err != nil || len(l) != 0 {
			t.Errorf("List(d/) = %q, %v", keys(l), err)
		}
		if l, err := b.List(ctx, "ok/d/s"); err != nil || len(l) != 0 {
			t.Errorf("List(ok/d/s) = %q, %v", keys(l), err)
		}
		ordinary(t, b, "ok/a.csv", "top")
	})
}

// TestSymlinkInside: a symlink is not followed even when it points at an
// object of the same folder.
func TestSymlinkInside(t *testing.T) {
	eachWay(t, func(t *testing.T) {
		b, root, _ := linked(t)
		symlink(t, "top", filepath.Join(root, "alias"))
		symlink(t, "../top", filepath.Join(root, "ok", "alias"))
		symlink(t, "ok", filepath.Join(root, "dir"))
		symlink(t, filepath.Join(root, "ok"), filepath.Join(root, "ok", "self"))
		top, a := filepath.Join(root, "top"), filepath.Join(root, "ok", "a.csv")
		for _, k := range []string{"alias", "ok/alias", "dir/a.csv", "ok/self/a.csv", "ok/self/self/a.csv", "dir/new"} {
			refused(t, b, k, top, a)
		}
		if _, err := os.Lstat(filepath.Join(root, "ok", "new")); !os.IsNotExist(err) {
			t.Errorf("a write through the link made ok/new: %v", err)
		}
		ordinary(t, b, "ok/a.csv", "top")
	})
}

// TestDanglingAndSpecial: a dangling symlink and a FIFO are no objects
// either; reading the FIFO does not wait for a writer.
func TestDanglingAndSpecial(t *testing.T) {
	eachWay(t, func(t *testing.T) {
		ctx := context.Background()
		b, root, _ := linked(t)
		symlink(t, filepath.Join(root, "nowhere"), filepath.Join(root, "dangling"))
		refused(t, b, "dangling")
		if _, err := os.Lstat(filepath.Join(root, "nowhere")); !os.IsNotExist(err) {
			t.Errorf("a write through a dangling link made its target: %v", err)
		}
		if err := syscall.Mkfifo(filepath.Join(root, "ok", "fifo"), 0o600); err != nil {
			t.Skipf("no FIFO here: %v", err)
		}
		_, err := b.ReadAll(ctx, "ok/fifo")
		wantCode(t, "ReadAll(ok/fifo)", err, perch.ENotFound)
		_, err = b.NewReader(ctx, "ok/fifo")
		wantCode(t, "NewReader(ok/fifo)", err, perch.ENotFound)
		_, err = b.Attributes(ctx, "ok/fifo")
		wantCode(t, "Attributes(ok/fifo)", err, perch.ENotFound)
		wantCode(t, "Write(ok/fifo)", b.Write(ctx, "ok/fifo", strings.NewReader("x"), ""), perch.EForbidden)
		wantCode(t, "Delete(ok/fifo)", b.Delete(ctx, "ok/fifo"), perch.ENotFound)
		if fi, err := os.Lstat(filepath.Join(root, "ok", "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO is gone or replaced: %v, %v", fi, err)
		}
		ordinary(t, b, "ok/a.csv", "top")
	})
}

// TestRemoveTempFollowsNoLink: cleaning temporary files neither descends
// into a symlinked directory nor removes what a link points to.
func TestRemoveTempFollowsNoLink(t *testing.T) {
	eachWay(t, func(t *testing.T) {
		b, root, outside := linked(t)
		old := time.Now().Add(-time.Hour)
		tmp := filepath.Join(outside, "x.csv.0123456789abcdef.tmp")
		if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(tmp, old, old)
		symlink(t, outside, filepath.Join(root, "d"))
		symlink(t, tmp, filepath.Join(root, "y.csv.0123456789abcdef.tmp"))
		if n, err := b.RemoveTemp(context.Background(), 0); err != nil || n != 0 {
			t.Errorf("RemoveTemp = %d, %v; want 0", n, err)
		}
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("a temporary file outside the folder was removed: %v", err)
		}
	})
}

// TestSymlinkedRootIsFine: the folder's own path may go through symlinks;
// only what is below it must not.
func TestSymlinkedRootIsFine(t *testing.T) {
	eachWay(t, func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		link := filepath.Join(t.TempDir(), "objects")
		symlink(t, dir, link)
		b := mustOpen(t, link)
		put(t, b, "in/a.csv", "x")
		if got, err := b.ReadAll(ctx, "in/a.csv"); err != nil || string(got) != "x" {
			t.Errorf("ReadAll = %q, %v", got, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "in", "a.csv")); err != nil {
			t.Error(err)
		}
	})
}

// TestSymlinkSwapped: a directory swapped for a symlink and back while
// objects are read, listed and written never lets a read see, or a write
// change, what the link points to, inside the folder or out of it.
func TestSymlinkSwapped(t *testing.T) {
	eachWay(t, testSymlinkSwapped)
}

func testSymlinkSwapped(t *testing.T) {
	for _, where := range []string{"outside", "inside"} {
		t.Run(where, func(t *testing.T) {
			ctx := context.Background()
			b, root, outside := linked(t)
			link := outside
			if where == "inside" {
				link = "other" // relative, to be followed by os.Root
				put(t, b, "other/secret", secret)
				put(t, b, "other/sub/secret", secret)
			}
			put(t, b, "d/secret", "mine")
			put(t, b, "d/sub/secret", "mine")
			d, aside := filepath.Join(root, "d"), filepath.Join(root, "d.aside")
			stop := make(chan struct{})
			var wg sync.WaitGroup
			loop := func(f func()) {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							f()
						}
					}
				})
			}
			loop(func() {
				if os.Rename(d, aside) == nil {
					os.Symlink(link, d)
					os.Remove(d)
					os.Rename(aside, d)
				}
			})
			var mu sync.Mutex
			var reads, writes int
			for _, key := range []string{"d/secret", "d/sub/secret"} {
				loop(func() {
					got, err := b.ReadAll(ctx, key)
					if strings.Contains(string(got), "SECRET") {
						t.Errorf("a read of %s through the swapped link gave %q", key, got)
					}
					if err != nil && perch.Code(err) != perch.ENotFound {
						t.Errorf("ReadAll(%s): %v", key, err)
					}
					mu.Lock()
					if err == nil {
						reads++
					}
					mu.Unlock()
				})
				loop(func() {
					err := b.Write(ctx, key, strings.NewReader("mine"), "")
					// Not found: the directory went while the write went on.
					if c := perch.Code(err); err != nil && c != perch.EForbidden && c != perch.EConflict && c != perch.ENotFound {
						t.Errorf("Write(%s): %v", key, err)
					}
					mu.Lock()
					if err == nil {
						writes++
					}
					mu.Unlock()
				})
			}
			loop(func() {
				l, err := b.List(ctx, "")
				if err != nil {
					t.Errorf("List: %v", err)
				}
				for _, a := range l {
					if strings.HasPrefix(a.Key, "d/") && a.Size != int64(len("mine")) {
						t.Errorf("List shows %+v, the size of the target", a)
					}
				}
			})
			time.Sleep(200 * time.Millisecond)
			close(stop)
			wg.Wait()
			for _, p := range []string{"secret", "sub/secret"} {
				for _, dir := range []string{outside, filepath.Join(root, "other")} {
					if data, err := os.ReadFile(filepath.Join(dir, p)); err == nil && string(data) != secret {
						t.Errorf("%s now holds %q", filepath.Join(dir, p), data)
					}
				}
			}
			t.Logf("%d reads and %d writes got through", reads, writes)
		})
	}
}

// TestSwapBetweenCheckAndOpen: in the walk, a directory or a file swapped
// for a symlink after it was checked and before it is opened is caught: the
// read finds nothing and the write is refused, whether the link points
// out of the folder or into it.
func TestSwapBetweenCheckAndOpen(t *testing.T) {
	walk(t) // openat2 leaves no gap to swap in
	ctx := context.Background()
	for _, c := range []struct {
		name, key, swap string // swap: the segment swapped, from the root
		write           bool
	}{
		{"directory", "d/secret", "d", true},
		{"deeper directory", "d/sub/secret", "d/sub", true},
		{"file", "d/secret", "d/secret", false},
	} {
		for _, where := range []string{"outside", "inside"} {
			t.Run(c.name+"/"+where, func(t *testing.T) {
				b, root, outside := linked(t)
				target := filepath.Join(outside, strings.TrimPrefix(c.swap, "d"))
				if where == "inside" {
					// A sibling of what is swapped, holding the secret where
					// the key leads.
					sib := c.swap + ".other"
					put(t, b, sib+strings.TrimPrefix(c.key, c.swap), secret)
					target = filepath.Join(root, sib)
				}
				put(t, b, "d/secret", "mine")
				put(t, b, "d/sub/secret", "mine")
				swapped := 0
				testHookOpen = func(d *os.Root, name string) {
					rel, _ := filepath.Rel(root, filepath.Join(d.Name(), name))
					if filepath.ToSlash(rel) != c.swap || swapped > 0 {
						return
					}
					swapped++
					p := filepath.Join(root, c.swap)
					if err := os.Rename(p, p+".aside"); err != nil {
						t.Fatal(err)
					}
					link := target
					if where == "inside" {
						// Relative: os.Root takes an absolute target for
						// one leading out.
						link = filepath.Base(target)
					}
					symlink(t, link, p)
				}
				defer func() { testHookOpen = nil }()
				got, err := b.ReadAll(ctx, c.key)
				wantCode(t, "ReadAll", err, perch.ENotFound)
				if len(got) > 0 {
					t.Errorf("ReadAll gave %q", got)
				}
				if swapped != 1 {
					t.Fatalf("swapped %d times", swapped)
				}
				if c.write {
					p := filepath.Join(root, c.swap)
					os.Remove(p)
					os.Rename(p+".aside", p)
					swapped = 0
					err := b.Write(ctx, c.key, strings.NewReader("overwritten"), "")
					wantCode(t, "Write", err, perch.EForbidden)
					if swapped != 1 {
						t.Fatalf("swapped %d times", swapped)
					}
				}
				for _, p := range []string{filepath.Join(outside, "secret"), filepath.Join(outside, "sub", "secret"),
					filepath.Join(target, strings.TrimPrefix(c.key, c.swap))} {
					if data, err := os.ReadFile(p); err != nil || string(data) != secret {
						t.Errorf("%s now holds %q, %v", p, data, err)
					}
				}
			})
		}
	}
}

func mustList(t *testing.T, b *Bucket) []Attrs {
	t.Helper()
	l, err := b.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestKeyURLStaysInside: an object URL whose escapes spell ".." is refused
// like the key itself.
func TestKeyURLStaysInside(t *testing.T) {
	b := openFile(t)
	for _, u := range []string{b.URL("%2e%2e/root-key"), b.URL("a/%2E%2E/%2e%2e/root-key"), b.URL("%2Froot-key"), b.URL("a%00b")} {
		_, err := b.Key(u)
		wantCode(t, fmt.Sprintf("Key(%q)", u), err, perch.EInvalid)
	}
}

// TestFolderModes: a folder's new directories take the permissions of the
// directory they are made in and its files the same without execute, so
// a private folder stays private and a shared one stays readable.
func TestFolderModes(t *testing.T) {
	mask := syscall.Umask(0o22)
	syscall.Umask(mask)
	for _, perm := range []os.FileMode{0o700, 0o750, 0o755} {
		t.Run(fmt.Sprintf("%#o", perm), func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "p")
			if err := os.Mkdir(parent, perm); err != nil {
				t.Fatal(err)
			}
			os.Chmod(parent, perm)
			dir := filepath.Join(parent, "objects", "deep")
			b := mustOpen(t, dir)
			put(t, b, "a/b/c.csv", "x")
			put(t, b, "top.csv", "x")
			put(t, b, "top.csv", "replaced")
			wantDir := perm &^ os.FileMode(mask)
			wantFile := wantDir &^ 0o111
			for _, c := range []struct {
				path string
				want os.FileMode
			}{
				{filepath.Join(parent, "objects"), wantDir},
				{dir, wantDir},
				{filepath.Join(dir, "a"), wantDir},
				{filepath.Join(dir, "a", "b"), wantDir},
				{filepath.Join(dir, "a", "b", "c.csv"), wantFile},
				{filepath.Join(dir, "top.csv"), wantFile},
			} {
				fi, err := os.Stat(c.path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != c.want {
					rel, _ := filepath.Rel(parent, c.path)
					t.Errorf("%s has mode %#o, want %#o", rel, got, c.want)
				}
			}
		})
	}
}

// TestOpenat2: where the kernel has openat2, reads and stats use it, and
// it refuses a symlink anywhere on the path.
func TestOpenat2(t *testing.T) {
	b, root, outside := linked(t)
	r, ok, err := b.f.openBeneath("ok/a.csv", false)
	if !ok {
		t.Skip("no openat2 here: reads walk")
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	symlink(t, outside, filepath.Join(root, "ok", "d"))
	symlink(t, "a.csv", filepath.Join(root, "ok", "alias"))
	for _, name := range []string{"ok/d/secret", "ok/alias"} {
		for _, stat := range []bool{false, true} {
			if r, _, err := b.f.openBeneath(name, stat); err != errLink {
				if r != nil {
					r.Close()
				}
				t.Errorf("openBeneath(%q, stat %v): %v, want %v", name, stat, err, errLink)
			}
		}
	}
}

// TestFileblobLayout: a folder names its files as gocloud's fileblob did,
// so folders it wrote read the same, and the other way round.
func TestFileblobLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fb, err := fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite, NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	b := mustOpen(t, dir)
	theirs := []string{"a__0x41__b", "a../b", "x_y/__0x__", "__0x-1__", "q__0x2f__r", "dé/ü.csv"}
	ours := []string{"b__0x42__c", "b../c", "_/__0x7e__"}
	for _, k := range theirs {
		if err := fb.WriteAll(ctx, k, []byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range ours {
		put(t, b, k, k)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(theirs), ours...)))
	l, err := b.List(ctx, "")
	if got := keys(l); err != nil || !slices.Equal(got, all) {
		t.Errorf("List = %q, %v; want %q", got, err, all)
	}
	for _, k := range all {
		if got, err := b.ReadAll(ctx, k); err != nil || string(got) != k {
			t.Errorf("ReadAll(%q) = %q, %v", k, got, err)
		}
		if got, err := fb.ReadAll(ctx, k); err != nil || string(got) != k {
			t.Errorf("fileblob's ReadAll(%q) = %q, %v", k, got, err)
		}
	}
	if l, err := b.List(ctx, "b../"); err != nil || !slices.Equal(keys(l), []string{"b../c"}) {
		t.Errorf(`List("b../") = %q, %v`, keys(l), err)
	}
}
