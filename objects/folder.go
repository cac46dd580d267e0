package objects

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/perchml/perch"
)

// A folder is a file:// bucket: a directory holding one regular file per
// object, at the object's key. It stays inside itself and follows no
// symlink, wherever the link points:
//
//   - a key never resolves outside the folder: keys have no empty, "." or
//     ".." segment, no leading slash, no NUL or other control character
//     (ValidKey), and every path is resolved beneath the folder's directory;
//   - a read or a stat through a symlink (a linked file, or a linked
//     directory anywhere on the key's path) finds nothing, and a listing
//     neither shows symlinks nor descends into linked directories;
//   - a write or a delete whose key names a symlink or goes through one is
//     EForbidden and changes nothing.
//
// On Linux a read or a stat is one openat2 call from the folder's
// directory with RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS: the kernel
// refuses a symlink at any segment as it resolves the path, leaving no gap
// between a check and the open. Everything else (writes, deletes,
// listings, and reads where openat2 is missing) goes from the folder's
// directory, opened once at Open as an os.Root, down one segment at a time
// through directory handles. A segment must be a real directory when Lstat
// checks it, and the handle then opened for it must be that same directory
// (os.SameFile), so a segment swapped for a symlink in between is caught;
// os.Root alone would follow a symlink that stays inside it. The last
// segment is checked the same way, and a read keeps the handle it checked.
// A write creates its temporary file with O_EXCL, which follows no link,
// and renames it over the key, which replaces a link that appeared
// meanwhile rather than what it points to; a delete unlinks the name
// itself.
//
// Only the folder's own path may go through symlinks: it is resolved once,
// at Open. A hard link is no link to follow but the file itself, under
// another name.
//
// New directories take the permission bits of the directory they are made
// in, and new files those bits without execute, both limited by the umask:
// the server's store, a 0700 folder, holds 0700 directories and 0600
// files, while a pipeline's output folder that others may read stays
// readable to them.
type folder struct {
	root     *os.Root
	rootDir  *os.File // the root directory again, for openat2
	rootConn syscall.RawConn
}

// noOpenat2 is set once the kernel has refused openat2 (an older kernel,
// or a seccomp filter), and by tests of the walk.
var noOpenat2 atomic.Bool

// Errors a walk meets, turned into the store's codes by folderFail.
var (
	errLink    = errors.New("a symbolic link is in the way")
	errNotDir  = errors.New("not a directory")
	errSpecial = errors.New("neither a regular file nor a directory")
	// errChanged: what was opened is not what was checked. An ordinary
	// write's rename does that too, so the operation is tried again
	// (again); a swap for a symlink keeps failing.
	errChanged = errors.New("changed while opened")
)

// testHookOpen, when set, runs between checking name in d and opening
// it: tests swap the name for a symlink there.
var testHookOpen func(d *os.Root, name string)

// again runs fn until it meets no errChanged, three times at most.
func again[T any](fn func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := fn()
		if i == 2 || !errors.Is(err, errChanged) {
			return v, err
		}
	}
}

func openFolder(abs string) (*folder, error) {
	if err := makeDir(abs); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	d, err := r.Open(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	c, err := d.SyscallConn()
	if err != nil {
		d.Close()
		r.Close()
		return nil, err
	}
	return &folder{root: r, rootDir: d, rootConn: c}, nil
}

// makeDir creates dir, and any parents missing, each with the permission
// bits of the directory it is made in.
func makeDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return err
	}
	if err := makeDir(parent); err != nil {
		return err
	}
	pi, err := os.Stat(parent)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, pi.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func (f *folder) close() error {
	f.rootDir.Close()
	return f.root.Close()
}

// segments splits the file name of a valid key into its path segments,
// for the walk.
func segments(key string) ([]string, error) {
	segs := strings.Split(fileName(key), "/")
	for _, s := range segs {
		// ValidKey already ensures this; checked again here, where a
		// segment becomes a file name.
		if s == "" || s == "." || s == ".." || strings.ContainsRune(s, 0) || strings.ContainsRune(s, os.PathSeparator) {
			return nil, perch.Errorf(perch.EInvalid, "objects: object key %q has a segment that is no file name", key)
		}
	}
	return segs, nil
}

// dir opens the directory that dirs names below the root, one segment at a
// time, following no symlink; with create, missing directories are made.
// Give the directory back with f.release.
func (f *folder) dir(dirs []string, create bool) (*os.Root, error) {
	d := f.root
	for _, s := range dirs {
		sub, err := f.sub(d, s, create)
		f.release(d)
		if err != nil {
			return nil, err
		}
		d = sub
	}
	return d, nil
}

func (f *folder) release(d *os.Root) {
	if d != f.root {
		d.Close()
	}
}

// sub opens the directory name in d: it must be a directory and not a
// symlink, and what is opened must be the directory checked.
func (f *folder) sub(d *os.Root, name string, create bool) (*os.Root, error) {
	fi, err := d.Lstat(name)
	if create && errors.Is(err, fs.ErrNotExist) {
		var di fs.FileInfo
		if di, err = d.Stat("."); err != nil {
			return nil, err
		}
		if err = d.Mkdir(name, di.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		fi, err = d.Lstat(name)
	}
	if err != nil {
		return nil, err
	}
	return f.enter(d, name, fi)
}

// enter opens the directory name in d, which Lstat described as fi.
func (f *folder) enter(d *os.Root, name string, fi fs.FileInfo) (*os.Root, error) {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, errLink
	case !fi.IsDir():
		return nil, errNotDir
	}
	if testHookOpen != nil {
		testHookOpen(d, name)
	}
	s, err := d.OpenRoot(name)
	if err != nil {
		return nil, changed(d, name, fi, err)
	}
	if si, err := s.Stat("."); err != nil || !os.SameFile(fi, si) {
		s.Close()
		if err != nil {
			return nil, err
		}
		return nil, errChanged
	}
	return s, nil
}

// changed tells why opening name in d, checked as fi, failed with err:
// errChanged if name is no longer what was checked (os.Root refusing a
// symlink leads out, or a loop, or what is there is no directory), else
// err itself.
func changed(d *os.Root, name string, fi fs.FileInfo, err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrClosed) || errors.Is(err, fs.ErrNotExist):
		return err
	case !errors.As(err, &errno) || errno == syscall.ELOOP || errno == syscall.ENOTDIR:
		return errChanged
	}
	if now, e := d.Lstat(name); e == nil && (!os.SameFile(fi, now) || now.Mode()&fs.ModeSymlink != 0) {
		return errChanged
	}
	return err
}

// object is what the last segment of a key must be: a regular file, not a
// symlink, a directory or anything else.
func object(fi fs.FileInfo) bool { return fi.Mode().IsRegular() }

// open opens the object key for reading.
func (f *folder) open(key string) (*os.File, fs.FileInfo, error) {
	if r, ok, err := f.openBeneath(fileName(key), false); ok {
		if err != nil {
			return nil, nil, err
		}
		fi, err := r.Stat()
		if err != nil || !object(fi) {
			r.Close()
			if err != nil {
				return nil, nil, err
			}
			return nil, nil, errLink
		}
		return r, fi, nil
	}
	segs, err := segments(key)
	if err != nil {
		return nil, nil, err
	}
	d, err := f.dir(segs[:len(segs)-1], false)
	if err != nil {
		return nil, nil, err
	}
	defer f.release(d)
	name := segs[len(segs)-1]
	fi, err := d.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !object(fi) {
		return nil, nil, errLink
	}
	if testHookOpen != nil {
		testHookOpen(d, name)
	}
	// O_NONBLOCK: should a FIFO take the file's place, opening it does not
	// wait for a writer (it is then refused below). A regular file ignores
	// the flag.
	r, err := d.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, changed(d, name, fi, err)
	}
	ri, err := r.Stat()
	if err != nil || !object(ri) || !os.SameFile(fi, ri) {
		r.Close()
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, errChanged
	}
	return r, ri, nil
}

// stat describes the object key.
func (f *folder) stat(key string) (fs.FileInfo, error) {
	if r, ok, err := f.openBeneath(fileName(key), true); ok {
		if err != nil {
			return nil, err
		}
		fi, err := r.Stat()
		r.Close()
		if err != nil {
			return nil, err
		}
		if !object(fi) {
			return nil, errLink
		}
		return fi, nil
	}
	segs, err := segments(key)
	if err != nil {
		return nil, err
	}
	d, err := f.dir(segs[:len(segs)-1], false)
	if err != nil {
		return nil, err
	}
	defer f.release(d)
	fi, err := d.Lstat(segs[len(segs)-1])
	if err != nil {
		return nil, err
	}
	if !object(fi) {
		return nil, errLink
	}
	return fi, nil
}

// write stores what r yields as key: into a temporary file next to it,
// renamed into place once complete.
func (f *folder) write(ctx context.Context, key string, r io.Reader) error {
	segs, err := segments(key)
	if err != nil {
		return err
	}
	d, err := f.dir(segs[:len(segs)-1], true)
	if err != nil {
		return err
	}
	defer f.release(d)
	name := segs[len(segs)-1]
	switch fi, err := d.Lstat(name); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return errLink
	case fi.IsDir():
		return syscall.EISDIR
	case !object(fi):
		return errSpecial
	}
	di, err := d.Stat(".")
	if err != nil {
		return err
	}
	w, tmp, err := createTemp(d, name, di.Mode().Perm()&^0o111)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = d.Rename(tmp, name)
	}
	if err != nil {
		d.Remove(tmp)
		return err
	}
	return nil
}

// createTemp creates a new file in d named for name, as tempName matches.
// O_EXCL never follows a symlink.
func createTemp(d *os.Root, name string, perm fs.FileMode) (*os.File, string, error) {
	var b [8]byte
	for range 100 {
		rand.Read(b[:])
		tmp := name + "." + hex.EncodeToString(b[:]) + ".tmp"
		w, err := d.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return w, tmp, err
	}
	return nil, "", fmt.Errorf("no free temporary name for %s", name)
}

// remove deletes the object key.
func (f *folder) remove(key string) error {
	segs, err := segments(key)
	if err != nil {
		return err
	}
	d, err := f.dir(segs[:len(segs)-1], false)
	if err != nil {
		return err
	}
	defer f.release(d)
	name := segs[len(segs)-1]
	fi, err := d.Lstat(name)
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return errLink
	case !object(fi):
		// A directory, or anything else that is no object, is not there.
		return fs.ErrNotExist
	}
	// Root.Remove unlinks the name itself; were it swapped for a symlink
	// since the check, the link would go, never what it points to.
	return d.Remove(name)
}

// walk calls fn for every regular file below d, whose path from the root
// is rel ("" for the root), descending into the directories enter
// approves. Symlinks are neither reported nor followed; anything else that
// is neither a file nor a directory is left out, and so is what vanishes
// or changes while the walk goes.
func (f *folder) walk(ctx context.Context, d *os.Root, rel string, enter func(rel string) bool, fn func(d *os.Root, rel, name string, fi fs.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	df, err := d.Open(".")
	if err != nil {
		return err
	}
	// Names alone, each then described by an Lstat through the handle:
	// ReadDir's entries may go by path for what they tell.
	names, err := df.Readdirnames(-1)
	df.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		fi, err := d.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since listed
		} else if err != nil {
			return err
		}
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		switch {
		case fi.IsDir():
			if !enter(p) {
				continue
			}
			s, err := f.enter(d, name, fi)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errChanged) {
				continue
			} else if err != nil {
				return err
			}
			err = f.walk(ctx, s, p, enter, fn)
			s.Close()
			if err != nil {
				return err
			}
		case object(fi):
			if err := fn(d, p, name, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// listStart is where a listing of prefix starts: the directories of its
// file name before the last slash.
func listStart(prefix string) []string {
	name := fileName(prefix)
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return nil
	}
	return strings.Split(name[:i], "/")
}

// fileName is the file path of a key in a folder, as gocloud's fileblob
// wrote it, so that folders it wrote read the same: a "_" that would start
// an escape ("__0x41__") is itself escaped, and so is a "/" after ".."
// ("a../b" is the file "a..__0x2f__b").
func fileName(key string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		esc := false
		switch {
		case c == '_':
			_, _, esc = unescapeAt(key, i)
		case c == '/' && i > 1 && key[i-1] == '.' && key[i-2] == '.':
			esc = true
		}
		if !esc {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(key) + 16)
		}
		b.WriteString(key[last:i])
		fmt.Fprintf(&b, "__%#x__", c)
		last = i + 1
	}
	if last == 0 {
		return key
	}
	b.WriteString(key[last:])
	return b.String()
}

// keyOf is the key of a file path in a folder, undoing fileName.
func keyOf(name string) string {
	if !strings.Contains(name, "__0x") {
		return name
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(name); i++ {
		if name[i] != '_' {
			continue
		}
		if r, end, ok := unescapeAt(name, i); ok {
			b.WriteString(name[last:i])
			b.WriteRune(r)
			last = end
			i = end - 1
		}
	}
	b.WriteString(name[last:])
	return b.String()
}

// unescapeAt reports whether s holds an escape "__0x<hex>__" at i, and
// what rune it stands for and where it ends: fileblob's rule, under which
// the digits run to the next "_" and parse as a signed 32-bit number.
func unescapeAt(s string, i int) (rune, int, bool) {
	if !strings.HasPrefix(s[i:], "__0x") {
		return 0, 0, false
	}
	j := i + 4
	k := strings.IndexByte(s[j:], '_')
	if k < 0 || !strings.HasPrefix(s[j+k:], "__") {
		return 0, 0, false
	}
	v, err := strconv.ParseInt(s[j:j+k], 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return rune(v), j + k + 2, true
}
