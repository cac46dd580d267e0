// Package objects is perch's object store: datasets, model files, batch
// outputs and pipeline inboxes, kept in a local directory (file://) or in
// any S3-compatible store (s3://), through gocloud.dev/blob.
//
// Keys are slash-separated paths relative to the bucket. Writes are atomic:
// a reader sees either the old object or the whole new one, never part of
// one. A folder stays inside itself: it follows no symlink and no key
// leads out of it (see folder).
package objects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/perchml/perch"
)

// defaultPageSize is the number of objects List asks for at a time, S3's
// own maximum.
const defaultPageSize = 1000

// Bucket is an open object store.
type Bucket struct {
	b        *blob.Bucket // an S3 bucket
	f        *folder      // or a file:// one
	url      string
	dir      string // the directory of a file:// bucket
	pageSize int
}

// Attrs describes one object.
type Attrs struct {
	Key     string
	Size    int64
	ModTime time.Time
	// ETag changes whenever the object does; pipelines key on it to tell a
	// new version from one already seen.
	ETag string
}

// Open opens the bucket named by rawURL:
//
//	file:///abs/dir      a local directory, created if missing (each
//	                     directory made with its parent's permissions)
//	/abs/dir, rel/dir    the same, as a plain path
//	s3://bucket?endpoint=http://host:9000&region=us-east-1&use_path_style=true
//
// An s3:// URL takes the query parameters of gocloud.dev/blob/s3blob;
// credentials come from the standard AWS environment variables and files.
func Open(ctx context.Context, rawURL string) (*Bucket, error) {
	if rawURL == "" {
		return nil, perch.Errorf(perch.EInvalid, "objects: empty bucket URL")
	}
	if !strings.Contains(rawURL, "://") {
		return openDir(rawURL, rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: %v", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: a file URL has no host (file:///abs/dir)", rawURL)
		}
		if len(u.Query()) > 0 {
			return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: a file URL takes no query parameters", rawURL)
		}
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: the path must be absolute", rawURL)
		}
		return openDir(rawURL, filepath.FromSlash(u.Path))
	case "s3":
		return openS3(ctx, rawURL, u)
	}
	return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket URL %q: scheme must be file or s3", rawURL)
}

func openDir(rawURL, dir string) (*Bucket, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "objects: bad bucket path %q: %v", rawURL, err)
	}
	// The directory holds exactly the objects, with no metadata side
	// files, so files dropped in by other programs look like any other
	// object.
	f, err := openFolder(abs)
	if err != nil {
		return nil, fmt.Errorf("objects: open %s: %w", abs, err)
	}
	return &Bucket{f: f, url: "file://" + filepath.ToSlash(abs), dir: abs, pageSize: defaultPageSize}, nil
}

// Close releases the bucket's resources.
func (b *Bucket) Close() error {
	if b.f != nil {
		return b.f.close()
	}
	return b.b.Close()
}

// ValidKey returns an EInvalid error unless key is a clean relative path:
// not empty, no leading slash, no empty, "." or ".." segment.
func ValidKey(key string) error {
	if key == "" {
		return perch.Errorf(perch.EInvalid, "objects: empty object key")
	}
	if err := validPath(key); err != nil {
		return err
	}
	if strings.HasSuffix(key, "/") {
		return perch.Errorf(perch.EInvalid, "objects: object key %q ends with a slash", key)
	}
	return nil
}

// validKey is ValidKey plus what a folder reserves: the suffix of gocloud's
// metadata side files, which its listings leave out.
func (b *Bucket) validKey(key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if b.dir != "" && strings.HasSuffix(key, ".attrs") {
		return perch.Errorf(perch.EInvalid, "objects: object key %q: a file:// bucket reserves the suffix .attrs", key)
	}
	return nil
}

// validPath checks what a key and a list prefix have in common; a prefix
// may end with a slash.
func validPath(p string) error {
	if !utf8.ValidString(p) {
		return perch.Errorf(perch.EInvalid, "objects: object key %q is not valid UTF-8", p)
	}
	if strings.HasPrefix(p, "/") {
		return perch.Errorf(perch.EInvalid, "objects: object key %q starts with a slash", p)
	}
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for _, s := range segs {
		switch s {
		case "":
			return perch.Errorf(perch.EInvalid, "objects: object key %q has an empty segment", p)
		case ".", "..":
			return perch.Errorf(perch.EInvalid, "objects: object key %q has a %q segment", p, s)
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return perch.Errorf(perch.EInvalid, "objects: object key %q has a control character", p)
		}
	}
	return nil
}

// NewReader opens the object for reading; ENotFound when it is absent.
func (b *Bucket) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := b.validKey(key); err != nil {
		return nil, err
	}
	if b.f != nil {
		if err := ctx.Err(); err != nil {
			return nil, b.fail("read", key, err)
		}
		r, err := again(func() (*os.File, error) {
			r, _, err := b.f.open(key)
			return r, err
		})
		if err != nil {
			return nil, b.folderFail("read", key, err)
		}
		return r, nil
	}
	r, err := b.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, b.fail("read", key, err)
	}
	return r, nil
}

// ReadAll returns the whole object.
func (b *Bucket) ReadAll(ctx context.Context, key string) ([]byte, error) {
	if err := b.validKey(key); err != nil {
		return nil, err
	}
	if b.f != nil {
		return b.readFile(ctx, key)
	}
	data, err := b.b.ReadAll(ctx, key)
	if err != nil {
		return nil, b.fail("read", key, err)
	}
	return data, nil
}

// Write stores everything r yields as the object key, replacing any
// object there. The object appears only once r is exhausted and all of it
// is stored; if r or the store fails, the old object, if any, is left as
// it was.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := b.validKey(key); err != nil {
		return err
	}
	if b.f != nil {
		if err := ctx.Err(); err != nil {
			return b.fail("write", key, err)
		}
		if _, err := again(func() (struct{}, error) { return struct{}{}, b.f.write(ctx, key, r) }); err != nil {
			return b.folderFail("write", key, err)
		}
		return nil
	}
	// Cancelling the writer's context is how gocloud aborts a write.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	w, err := b.b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return b.fail("write", key, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		_ = w.Close()
		return b.fail("write", key, err)
	}
	if err := w.Close(); err != nil {
		return b.fail("write", key, err)
	}
	return nil
}

// Attributes returns the object's size, modification time and ETag;
// ENotFound when it is absent.
func (b *Bucket) Attributes(ctx context.Context, key string) (Attrs, error) {
	if err := b.validKey(key); err != nil {
		return Attrs{}, err
	}
	if b.f != nil {
		fi, err := again(func() (fs.FileInfo, error) { return b.f.stat(key) })
		if err != nil {
			return Attrs{}, b.folderFail("stat", key, err)
		}
		return Attrs{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ETag: fileETag(fi)}, nil
	}
	a, err := b.b.Attributes(ctx, key)
	if err != nil {
		return Attrs{}, b.fail("stat", key, err)
	}
	return Attrs{Key: key, Size: a.Size, ModTime: a.ModTime, ETag: a.ETag}, nil
}

// Exists reports whether the object is there.
func (b *Bucket) Exists(ctx context.Context, key string) (bool, error) {
	if err := b.validKey(key); err != nil {
		return false, err
	}
	if b.f != nil {
		_, err := again(func() (fs.FileInfo, error) { return b.f.stat(key) })
		if err = b.folderFail("stat", key, err); perch.Code(err) == perch.ENotFound {
			return false, nil
		}
		return err == nil, err
	}
	ok, err := b.b.Exists(ctx, key)
	if err != nil {
		return false, b.fail("stat", key, err)
	}
	return ok, nil
}

// Delete removes the object; ENotFound when it is absent.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := b.validKey(key); err != nil {
		return err
	}
	if b.f != nil {
		if _, err := again(func() (struct{}, error) { return struct{}{}, b.f.remove(key) }); err != nil {
			return b.folderFail("delete", key, err)
		}
		return nil
	}
	if err := b.b.Delete(ctx, key); err != nil {
		return b.fail("delete", key, err)
	}
	return nil
}

// tempName matches the temporary files fileblob writes next to their
// target; one is left behind only when the process dies mid-write.
var tempName = regexp.MustCompile(`\.[0-9a-f]{16}\.tmp$`)

// RemoveTemp removes the temporary files that writes cut short by a
// crash left in a folder, those untouched for olderThan or longer, and
// returns how many it removed. A write in progress keeps adding to its
// file, so one left quiet is dead; a folder only one server uses may be
// cleaned with olderThan 0 at its start. An S3 bucket has none: an
// object appears there whole or not at all.
func (b *Bucket) RemoveTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	if b.f == nil {
		return 0, nil
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	all := func(string) bool { return true }
	err := b.f.walk(ctx, b.f.root, "", all, func(d *os.Root, _, name string, fi fs.FileInfo) error {
		if tempName.MatchString(name) && !fi.ModTime().After(cutoff) && d.Remove(name) == nil {
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("objects: removing temporary files: %s", b.clean(err))
	}
	return n, nil
}

// List returns every object whose key starts with prefix, in key order.
// A prefix is matched byte for byte: "in" matches "in/a.csv" and "inbox".
func (b *Bucket) List(ctx context.Context, prefix string) ([]Attrs, error) {
	if prefix != "" {
		if err := validPath(prefix); err != nil {
			return nil, err
		}
	}
	if b.f != nil {
		return b.listDir(ctx, prefix)
	}
	var out []Attrs
	opts := &blob.ListOptions{Prefix: prefix}
	token := blob.FirstPageToken
	for {
		page, next, err := b.b.ListPage(ctx, token, b.pageSize, opts)
		if err != nil {
			return nil, b.fail("list", prefix, err)
		}
		for _, o := range page {
			if o.IsDir {
				continue
			}
			out = append(out, Attrs{Key: o.Key, Size: o.Size, ModTime: o.ModTime, ETag: s3ETag(o)})
		}
		if len(next) == 0 {
			break
		}
		token = next
	}
	return out, nil
}

// listDir lists a folder by walking its directories once, from the one
// prefix names, into those that may hold keys with the prefix. (gocloud's
// own listing walks the whole tree for every page, and its page tokens
// assume the walk is in key order, which it is not: "a/b" is visited
// before "a.b".)
func (b *Bucket) listDir(ctx context.Context, prefix string) ([]Attrs, error) {
	start := listStart(prefix)
	d, err := again(func() (*os.Root, error) { return b.f.dir(start, false) })
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) || errors.Is(err, errLink) || errors.Is(err, errChanged) {
		return nil, nil
	} else if err != nil {
		return nil, b.fail("list", prefix, err)
	}
	defer b.f.release(d)
	var out []Attrs
	enter := func(rel string) bool {
		k := keyOf(rel) + "/"
		return strings.HasPrefix(k, prefix) || strings.HasPrefix(prefix, k)
	}
	err = b.f.walk(ctx, d, strings.Join(start, "/"), enter, func(_ *os.Root, rel, _ string, fi fs.FileInfo) error {
		key := keyOf(rel)
		if strings.HasPrefix(key, prefix) && !tempName.MatchString(key) && !strings.HasSuffix(key, ".attrs") {
			out = append(out, Attrs{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ETag: fileETag(fi)})
		}
		return nil
	})
	if err != nil {
		return nil, b.fail("list", prefix, err)
	}
	// A directory walk is not in key order ("a/b" comes before "a.b").
	slices.SortFunc(out, func(x, y Attrs) int { return strings.Compare(x.Key, y.Key) })
	return out, nil
}

// readFile is ReadAll for a folder.
func (b *Bucket) readFile(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.fail("read", key, err)
	}
	type opened struct {
		f  *os.File
		fi fs.FileInfo
	}
	o, err := again(func() (opened, error) {
		f, fi, err := b.f.open(key)
		return opened{f, fi}, err
	})
	if err != nil {
		return nil, b.folderFail("read", key, err)
	}
	defer o.f.Close()
	data := make([]byte, 0, o.fi.Size()+1) // +1: EOF without growing
	for {
		n, err := o.f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		} else if err != nil {
			return nil, b.fail("read", key, err)
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// folderFail is fail for what a folder's walk met. Through a symlink there
// is no object: a read finds none, a write or a delete is refused. Through
// a file where a directory should be, a read finds none and a write
// conflicts.
func (b *Bucket) folderFail(op, key string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, errLink) || errors.Is(err, errChanged):
		if op == "read" || op == "stat" {
			return perch.Errorf(perch.ENotFound, "objects: %s not found", b.name(key))
		}
		return perch.Errorf(perch.EForbidden, "objects: %s %s: a symbolic link is in the way, and the store follows none", op, b.name(key))
	case errors.Is(err, errSpecial):
		return perch.Errorf(perch.EForbidden, "objects: %s %s: what is there is no regular file", op, b.name(key))
	case errors.Is(err, errNotDir):
		if op == "write" {
			err = syscall.ENOTDIR // fail's conflict
			break
		}
		return perch.Errorf(perch.ENotFound, "objects: %s not found", b.name(key))
	case errors.Is(err, fs.ErrNotExist):
		return perch.Errorf(perch.ENotFound, "objects: %s not found", b.name(key))
	}
	return b.fail(op, key, err)
}

// fileETag is a file's ETag, as fileblob made it: its modification time
// and size.
func fileETag(info fs.FileInfo) string {
	return fmt.Sprintf("\"%x-%x\"", info.ModTime().UnixNano(), info.Size())
}

// s3ETag returns a listed S3 object's ETag, the same one Attributes gives,
// so that a listing alone tells a new version from one already seen.
func s3ETag(o *blob.ListObject) string {
	var so s3types.Object
	if o.As(&so) && so.ETag != nil {
		return *so.ETag
	}
	return ""
}

// fail turns a store error into a perch error naming the object.
func (b *Bucket) fail(op, key string, err error) error {
	var pe *perch.Error
	if errors.As(err, &pe) {
		return err
	}
	if b.dir != "" && op == "write" && (errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST)) {
		// A directory cannot hold both "a" and "a/b"; S3 can.
		return perch.Errorf(perch.EConflict, "objects: %s %s: another key is a prefix of this one, or this one of another", op, b.name(key))
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return perch.Errorf(perch.ENotFound, "objects: %s not found", b.name(key))
	case gcerrors.InvalidArgument:
		return perch.Errorf(perch.EInvalid, "objects: %s %s: %s", op, b.name(key), b.clean(err))
	case gcerrors.PermissionDenied:
		return perch.Errorf(perch.EForbidden, "objects: %s %s: %s", op, b.name(key), b.clean(err))
	case gcerrors.Canceled:
		return fmt.Errorf("objects: %s %s: %w", op, b.name(key), context.Canceled)
	case gcerrors.DeadlineExceeded:
		return fmt.Errorf("objects: %s %s: %w", op, b.name(key), context.DeadlineExceeded)
	}
	return &cleanError{"objects: " + op + " " + b.name(key) + ": " + b.clean(err), err}
}

// cleanError is an error with a message of its own, still matched by
// errors.Is and errors.As as the error it wraps.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// name is how messages name an object: by its key in a folder, whose
// absolute path is the server's business, not the caller's; by URL in
// a bucket.
func (b *Bucket) name(key string) string {
	if b.dir != "" {
		return key
	}
	return b.base() + "/" + key
}

// clean is err's message without the folder's absolute path.
func (b *Bucket) clean(err error) string {
	msg := err.Error()
	if b.dir != "" {
		msg = strings.ReplaceAll(msg, b.dir+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, b.dir, ".")
	}
	return msg
}

// ParseURL splits the URL of one object, as APIs that take a single
// location give it (AML's DataLocationS3), into its bucket URL and key:
//
//	s3://bucket/in/a.csv?region=x  ->  s3://bucket?region=x, in/a.csv
//	file:///srv/data/a.csv         ->  file:///srv/data, a.csv
//	/srv/data/a.csv                ->  file:///srv/data, a.csv
//
// A URL that names no object gives an empty key, which every method
// rejects as EInvalid.
func ParseURL(u string) (bucketURL, key string) {
	if !strings.Contains(u, "://") {
		abs, err := filepath.Abs(u)
		if err != nil || u == "" {
			return "", ""
		}
		u = "file://" + filepath.ToSlash(abs)
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", ""
	}
	switch p.Scheme {
	case "file":
		i := strings.LastIndex(p.Path, "/")
		if i < 0 {
			return "", ""
		}
		dir, key := p.Path[:i], p.Path[i+1:]
		if dir == "" {
			dir = "/"
		}
		bu := url.URL{Scheme: "file", Path: dir, RawQuery: p.RawQuery}
		if p.Host == "localhost" {
			bu.Host = p.Host
		}
		return bu.String(), key
	default:
		key := strings.TrimPrefix(p.Path, "/")
		bu := url.URL{Scheme: p.Scheme, Host: p.Host, RawQuery: p.RawQuery}
		return bu.String(), key
	}
}

// URL returns the URL naming key in b, as Key reads it back:
// file:///dir/key for a folder, s3://bucket/key for S3.
func (b *Bucket) URL(key string) string {
	return b.base() + "/" + key
}

// base is b's URL without its query: what an object URL starts with.
func (b *Bucket) base() string {
	base, _, _ := strings.Cut(b.url, "?")
	return strings.TrimSuffix(base, "/")
}

// Key returns the key of the object that u names in b. u is a bare key
// ("in/a.csv"), or a URL inside b: file:///dir/in/a.csv for a folder,
// s3://bucket/in/a.csv for S3. A URL naming anything outside b is EInvalid,
// so a request cannot reach files the store does not hold.
func (b *Bucket) Key(u string) (string, error) {
	key := u
	if strings.Contains(u, "://") {
		rest, ok := strings.CutPrefix(u, b.base()+"/")
		if !ok {
			where := b.base()
			if b.dir != "" {
				where = "(a folder of the server's)"
			}
			return "", perch.Errorf(perch.EInvalid, "objects: %q is not in the object store %s", u, where)
		}
		key, _, _ = strings.Cut(rest, "?")
		if b.dir != "" {
			// A file URL is percent-encoded; a key is not.
			if k, err := url.PathUnescape(key); err == nil {
				key = k
			}
		}
	}
	if err := b.validKey(key); err != nil {
		return "", err
	}
	return key, nil
}
