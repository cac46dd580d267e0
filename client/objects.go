package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/perchml/perch"
)

// ObjectInfo describes an object in the server's object store.
type ObjectInfo struct {
	Key     string    `json:"key"`
	URL     string    `json:"url"` // as a data source's dataUrl may name it
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime,omitzero"`
	ETag    string    `json:"etag,omitempty"`
}

func objectPath(key string) (string, error) {
	if key == "" {
		return "", perch.Errorf(perch.EInvalid, "an object key is required")
	}
	return "/v1/objects/" + escapeKey(key), nil
}

// PutObject stores r's bytes as the object key, replacing any object of
// that key. The bytes are streamed, never held in memory; the length is
// sent when r tells it (a file, a bytes or strings reader). r is not
// closed.
func (c *Client) PutObject(ctx context.Context, key string, r io.Reader) (ObjectInfo, error) {
	path, err := objectPath(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	size := sizeOf(r)
	// Hidden behind a plain Reader, r is not closed by the transport, and
	// its length is the one worked out here.
	body := struct{ io.Reader }{r}
	resp, err := c.send(ctx, request{method: http.MethodPut, path: path, body: body, ctype: "application/octet-stream", size: size})
	if err != nil {
		return ObjectInfo{}, err
	}
	defer resp.Body.Close()
	var info ObjectInfo
	if err := decode(resp, &info); err != nil {
		return ObjectInfo{}, err
	}
	return info, nil
}

// sizeOf returns the bytes left in r, or -1 when r does not tell.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, bytes.Buffer, strings.Reader
		return int64(v.Len())
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil || off > st.Size() {
			return -1
		}
		return st.Size() - off
	}
	return -1
}

// GetObject opens an object for reading; the caller closes it.
func (c *Client) GetObject(ctx context.Context, key string) (io.ReadCloser, error) {
	path, err := objectPath(key)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, size: -1})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ListObjects lists the objects whose keys start with prefix, in key
// order.
func (c *Client) ListObjects(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var q url.Values
	if prefix != "" {
		q = url.Values{"prefix": {prefix}}
	}
	var out struct {
		Items []ObjectInfo `json:"items"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/objects", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// DeleteObject deletes an object.
func (c *Client) DeleteObject(ctx context.Context, key string) error {
	path, err := objectPath(key)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, path, nil, nil, nil)
}
