package service

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// A data location may name a folder of files rather than one object, as
// AML's DataLocationS3 could name a prefix: the data is then the files
// under it, in key order, read as one file. All must share one schema;
// a header line that repeats the first file's is left out of the later
// files.

// maxHeaderLine bounds the first line kept to recognise repeated headers.
const maxHeaderLine = 1 << 20

// prefixFiles returns the objects under key/, in key order, leaving out
// hidden ones (a name starting with "."): what a data location naming a
// folder reads.
func (s *Service) prefixFiles(ctx context.Context, key string) ([]objects.Attrs, error) {
	all, err := s.objects.List(ctx, key+"/")
	if err != nil {
		return nil, err
	}
	var files []objects.Attrs
	for _, a := range all {
		if rest := strings.TrimPrefix(a.Key, key+"/"); strings.HasPrefix(rest, ".") || strings.Contains(rest, "/.") {
			continue
		}
		files = append(files, a)
	}
	return files, nil
}

// dataAttributes describes a data location: its object, or the files of
// its folder (their sizes summed). A location naming neither is
// ENotFound.
func (s *Service) dataAttributes(ctx context.Context, key string) (objects.Attrs, error) {
	a, err := s.objects.Attributes(ctx, key)
	if perch.Code(err) != perch.ENotFound {
		return a, err
	}
	files, lerr := s.prefixFiles(ctx, key)
	if lerr != nil || len(files) == 0 {
		return a, err
	}
	out := objects.Attrs{Key: key}
	for _, f := range files {
		out.Size += f.Size
		if f.ModTime.After(out.ModTime) {
			out.ModTime = f.ModTime
		}
	}
	return out, nil
}

// DataFiles returns how many files a data location holds: 1 for an
// object, the number of files for a folder.
func (s *Service) DataFiles(ctx context.Context, d *perch.DataSource) int {
	key, err := s.objects.Key(d.DataURL)
	if err != nil {
		return 0
	}
	if ok, err := s.objects.Exists(ctx, key); err == nil && ok {
		return 1
	}
	files, err := s.prefixFiles(ctx, key)
	if err != nil {
		return 0
	}
	return len(files)
}

// openPrefix opens the files of a folder as one stream; ok is false when
// key has none.
func (s *Service) openPrefix(ctx context.Context, key string, dg *digest) (io.ReadCloser, bool, error) {
	files, err := s.prefixFiles(ctx, key)
	if err != nil || len(files) == 0 {
		return nil, false, err
	}
	return &concat{s: s, ctx: ctx, folder: key, files: files, dg: dg}, true, nil
}

// concat reads files one after another, each ending in a newline, each
// gunzipped when its name ends in .gz.
type concat struct {
	s      *Service
	ctx    context.Context
	folder string
	files  []objects.Attrs
	dg     *digest // when not nil, each file read whole adds its line
	i      int     // the next file to open
	cur    io.ReadCloser
	r      *bufio.Reader
	header []byte // the first file's first line, newline included
	last   byte   // the last byte passed on
}

func (c *concat) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			if c.i == len(c.files) {
				return 0, io.EOF
			}
			if err := c.next(); err != nil {
				return 0, err
			}
		}
		n, err := c.r.Read(p)
		if n > 0 {
			c.last = p[n-1]
			return n, nil
		}
		if err == io.EOF {
			c.cur.Close()
			c.cur, c.r = nil, nil
			if c.dg != nil {
				c.dg.fileDone(strings.TrimPrefix(c.files[c.i-1].Key, c.folder+"/"))
			}
			if c.last != '\n' && c.last != 0 && len(p) > 0 {
				p[0], c.last = '\n', '\n'
				return 1, nil
			}
			continue
		}
		return n, err
	}
}

// next opens the next file, leaving out its first line when it repeats
// the first file's.
func (c *concat) next() error {
	key := c.files[c.i].Key
	c.i++
	r, err := c.s.openDigest(c.ctx, key, c.dg)
	if err != nil {
		return err
	}
	c.cur, c.r = r, bufio.NewReaderSize(r, 64<<10)
	first := c.i == 1
	line, err := c.r.Peek(maxHeaderLine)
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1]
	} else if err == nil {
		return nil // a first line too long to be a header
	}
	if first {
		c.header = append([]byte(nil), line...)
		return nil
	}
	if len(line) > 0 && bytes.Equal(bytes.TrimRight(line, "\r\n"), bytes.TrimRight(c.header, "\r\n")) {
		c.r.Discard(len(line))
	}
	return nil
}

func (c *concat) Close() error {
	if c.cur != nil {
		return c.cur.Close()
	}
	return nil
}
