package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/perchml/perch/client"
)

// uploadKey is where a local file is uploaded when no key is given:
// uploads/<sha256 of its bytes>/<its name>. No other content can take
// that key, so an upload never replaces another one's bytes, and the
// same file uploaded again lands where it already is.
func uploadKey(sum, path string) string {
	return "uploads/" + sum + "/" + filepath.Base(path)
}

// fileSHA256 returns the sha256 of f's bytes in hex and rewinds f.
func fileSHA256(f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// upload puts the local file f (read from path) in the server's store
// under its uploadKey. stored reports whether this call wrote the object;
// false means the same bytes were there already.
func upload(ctx context.Context, c *client.Client, path string, f *os.File) (key string, stored bool, err error) {
	sum, err := fileSHA256(f)
	if err != nil {
		return "", false, prefix(path, err)
	}
	key = uploadKey(sum, path)
	have, err := c.ListObjects(ctx, key)
	if err != nil {
		return "", false, fmt.Errorf("uploading %s: %w", path, err)
	}
	for _, o := range have {
		if o.Key == key {
			return key, false, nil
		}
	}
	if _, err := c.PutObject(ctx, key, f); err != nil {
		return "", false, fmt.Errorf("uploading %s: %w", path, err)
	}
	return key, true, nil
}
