//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package objects

import (
	"os"
	"syscall"
	"unsafe"
)

// openat2 (Linux 5.6) resolves a whole path below a directory in one call
// and can be told to follow no symlink on the way, the last segment
// included, and never to leave the directory: what the folder's walk does
// segment by segment, done by the kernel without a gap between check and
// open. The values are those of every architecture here (MIPS numbers its
// calls otherwise and walks instead).
const (
	sysOpenat2          = 437
	oPath               = 0x200000 // O_PATH, missing from syscall on amd64
	resolveNoMagiclinks = 0x02
	resolveNoSymlinks   = 0x04
	resolveBeneath      = 0x08
)

type openHow struct {
	flags, mode, resolve uint64
}

// openBeneath opens the file name (a path of segments, as fileName gives)
// below the folder's root, following no symlink: for reading, or with
// stat for Stat alone. ok is false where openat2 is not to be had, for
// the caller to walk instead.
func (f *folder) openBeneath(name string, stat bool) (file *os.File, ok bool, err error) {
	if noOpenat2.Load() {
		return nil, false, nil
	}
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return nil, true, err
	}
	how := openHow{resolve: resolveBeneath | resolveNoSymlinks | resolveNoMagiclinks}
	if stat {
		how.flags = oPath | syscall.O_CLOEXEC
	} else {
		// O_NONBLOCK: opening a FIFO does not wait for a writer (the
		// caller refuses anything but a regular file).
		how.flags = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	}
	var fd uintptr
	var errno syscall.Errno
	cerr := f.rootConn.Control(func(root uintptr) {
		for {
			fd, _, errno = syscall.Syscall6(sysOpenat2, root, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
			if errno != syscall.EINTR {
				return
			}
		}
	})
	switch {
	case cerr != nil:
		return nil, true, cerr
	case errno == 0:
		return os.NewFile(fd, f.root.Name()+"/"+name), true, nil
	case errno == syscall.ENOSYS || errno == syscall.EPERM:
		noOpenat2.Store(true)
		return nil, false, nil
	case errno == syscall.ELOOP || errno == syscall.EXDEV:
		return nil, true, errLink
	case errno == syscall.ENOTDIR:
		return nil, true, errNotDir
	}
	return nil, true, &os.PathError{Op: "openat2", Path: name, Err: errno}
}
