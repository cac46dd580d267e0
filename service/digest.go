package service

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/perchml/perch"
)

// A data source's rows never change under what is built on it: its job
// records the sha256 of the bytes it read (perch.DataSource.DataSHA256),
// and training, evaluation and batch prediction hash the bytes as they
// read them and fail at the end if they differ, rather than mix the rows
// of two versions of a file. Hashing rides along with the one read each
// of them makes anyway.

// digest is the sha256 of a data location as read: of an object's raw
// (still gzipped) bytes, or, for a folder, of the lines
// "<sha256 of a file>  <its name in the folder>\n" in key order.
type digest struct {
	h      hash.Hash // the object, or the folder's file being read
	folder bool
	lines  []byte // a folder's lines so far
	n      int64  // bytes read
}

func newDigest() *digest { return &digest{h: sha256.New()} }

// reader returns r, adding the bytes read from it to d.
func (d *digest) reader(r io.ReadCloser) io.ReadCloser { return &hashing{r, d} }

// fileDone ends a folder's file, read whole: its sum becomes a line.
func (d *digest) fileDone(name string) {
	d.folder = true
	var sum [sha256.Size]byte
	d.lines = hex.AppendEncode(d.lines, d.h.Sum(sum[:0]))
	d.lines = append(d.lines, "  "...)
	d.lines = append(d.lines, name...)
	d.lines = append(d.lines, '\n')
	d.h.Reset()
}

// sum returns the digest in hex.
func (d *digest) sum() string {
	if d.folder {
		s := sha256.Sum256(d.lines)
		return hex.EncodeToString(s[:])
	}
	return hex.EncodeToString(d.h.Sum(nil))
}

type hashing struct {
	r io.ReadCloser
	d *digest
}

func (h *hashing) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.d.h.Write(p[:n])
	h.d.n += int64(n)
	return n, err
}

func (h *hashing) Close() error { return h.r.Close() }

// checkedData reads a data location's records stream, checking at its end
// that the raw bytes had the sha256 want (any, when want is ""): a
// mismatch replaces io.EOF with a changed error, so no reader of it can
// take the rows for the data source's.
type checkedData struct {
	io.ReadCloser
	dg   *digest
	want string
	key  string // named in the error
	err  error  // the mismatch, once found
	sum  string // the digest, once the end was reached

	// What the reading tells its job's progress: phase, bytes of total.
	pr    *progress
	phase string
	total int64
}

// report makes the reading tell pr it is in phase, at its bytes of total.
func (c *checkedData) report(pr *progress, phase string, total int64) *checkedData {
	c.pr, c.phase, c.total = pr, phase, total
	pr.set(phase, "bytes", 0, total)
	return c
}

func (c *checkedData) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.ReadCloser.Read(p)
	if c.pr != nil {
		c.pr.set(c.phase, "bytes", c.dg.n, max(c.total, c.dg.n))
	}
	if err == io.EOF && c.sum == "" {
		c.sum = c.dg.sum()
		if c.want != "" && c.sum != c.want {
			c.err = dataChanged(c.key, c.want, c.sum)
			return n, c.err
		}
	}
	return n, err
}

// result returns the digest of what was read, or the error that explains
// err: the data changed, if that was found, since a reader may report it
// in its own words.
func (c *checkedData) result(err error) (string, error) {
	if c.err != nil {
		return "", c.err
	}
	return c.sum, err
}

func dataChanged(key, want, got string) error {
	return perch.Errorf(perch.EConflict,
		"the data at %s changed after its data source read it (sha256 %.12s…, now %.12s…); create a new data source to use the new data",
		key, want, got)
}
