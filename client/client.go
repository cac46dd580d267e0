// Package client talks to a perch server over its REST API. Its methods
// mirror the service layer's, context first, and fail with errors that
// carry perch's codes, so perch.Code(err) means the same on both sides of
// the wire.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/perchml/perch"
)

// Client is a connection to one perch server. It is safe for concurrent
// use.
type Client struct {
	base string // the server's URL without a trailing slash
	key  string
	hc   *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc, for a
// custom transport, proxy or TLS configuration.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// defaultHTTP is shared by every Client made without WithHTTPClient, so
// connections are pooled across them. It has no overall timeout, which
// would cut off large uploads and downloads; each phase up to the response
// headers is bounded instead, and callers bound a whole call with its
// context.
var defaultHTTP = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Long enough for the slowest synchronous call (a large upload's
		// final write, a batch of predictions); training and other long
		// work runs in jobs, never inside a request.
		ResponseHeaderTimeout: 5 * time.Minute,
	},
}

// New returns a client of the server at baseURL (http://127.0.0.1:8080)
// that presents key on every request.
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(strings.TrimSpace(baseURL), "/"), key: key, hc: defaultHTTP}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the server's URL as the client uses it.
func (c *Client) BaseURL() string { return c.base }

// Error is a request the server refused or failed. It unwraps to the
// *perch.Error the server reported, so errors.As and perch.Code see the
// server's code.
type Error struct {
	Status    int    // the HTTP status
	RequestID string // the server's X-Request-Id, for its logs; may be ""
	Err       *perch.Error
}

func (e *Error) Error() string { return e.Err.Message }

// Unwrap returns the server's error.
func (e *Error) Unwrap() error { return e.Err }

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// request is one call to the server.
type request struct {
	method string
	path   string     // escaped, from /v1/…
	query  url.Values // may be nil
	body   io.Reader  // nil for none
	ctype  string     // of body
	size   int64      // of body; -1 when unknown
}

// send makes a request and returns the response when its status is 2xx;
// any other status is turned into an *Error and the body closed.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, r.body)
	if err != nil {
		return nil, fmt.Errorf("perch server %s: %v", c.base, err)
	}
	if r.body != nil {
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
		if r.size >= 0 && req.ContentLength == 0 {
			req.ContentLength = r.size
			if r.size == 0 {
				req.Body = http.NoBody
			}
		}
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &transportError{c.base, err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, responseError(resp)
}

// transportError is a request that did not reach the server, or whose
// answer did not come back.
type transportError struct {
	base string
	err  error
}

func (e *transportError) Error() string { return fmt.Sprintf("perch server %s: %v", e.base, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// responseError reads the error a non-2xx response reports. A body that
// is not perch's error JSON (a proxy's page, say) becomes EInternal with
// the HTTP status, and its first line when it is plain text.
func responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var body struct {
		Error *struct {
			Code    perch.ErrorCode `json:"code"`
			Message string          `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error != nil && body.Error.Code != "" {
		e.Err = &perch.Error{Code: body.Error.Code, Message: body.Error.Message}
		if e.Err.Message == "" {
			e.Err.Message = resp.Status
		}
		return e
	}
	msg := resp.Status
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/plain" {
		line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 200 {
				line = line[:200] + "…"
			}
			msg += ": " + line
		}
	}
	e.Err = &perch.Error{Code: perch.EInternal, Message: "server answered " + msg}
	return e
}

// call sends in as JSON (unless nil) and decodes the answer into out
// (unless nil or the answer is empty).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	r := request{method: method, path: path, query: query, size: -1}
	if in != nil {
		// Without HTML escaping: values such as <=50K go as they are,
		// which the server reads on its fast path.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(in); err != nil {
			return err
		}
		r.body, r.ctype, r.size = bytes.NewReader(b.Bytes()), "application/json", int64(b.Len())
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

// decode reads a JSON answer into out; an empty answer (204) leaves out
// as it is.
func decode(resp *http.Response, out any) error {
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer to %s %s: %v", resp.Request.Method, resp.Request.URL.Path, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the answer to %s %s is not the JSON expected: %v", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// raw returns an answer's bytes as they are.
func (c *Client) raw(ctx context.Context, path string) (json.RawMessage, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, size: -1})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", path, err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("the answer to GET %s is not JSON", path)
	}
	return json.RawMessage(b), nil
}

// Health reports whether the server is up (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	return c.probe(ctx, "/healthz")
}

// Ready reports whether the server is ready to serve (GET /readyz): nil
// once it is, an *Error with status 503 while it is starting.
func (c *Client) Ready(ctx context.Context) error {
	return c.probe(ctx, "/readyz")
}

func (c *Client) probe(ctx context.Context, path string) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, size: -1})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// filterQuery is a Filter as the list endpoints take it.
func filterQuery(f perch.Filter) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("filter", f.Variable)
	set("op", string(f.Op))
	set("value", f.Value)
	if f.Desc {
		q.Set("sort", "desc")
	}
	if f.Limit != 0 {
		q.Set("limit", fmt.Sprint(f.Limit))
	}
	set("pageToken", f.PageToken)
	return q
}

// page is one page of a list.
type page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"nextPageToken"`
}

func list[T any](ctx context.Context, c *Client, path string, f perch.Filter) ([]T, string, error) {
	var p page[T]
	if err := c.call(ctx, http.MethodGet, path, filterQuery(f), nil, &p); err != nil {
		return nil, "", err
	}
	return p.Items, p.NextPageToken, nil
}

// escapeID escapes an id as one path segment.
func escapeID(id string) (string, error) {
	if id == "" {
		return "", perch.Errorf(perch.EInvalid, "an id is required")
	}
	return url.PathEscape(id), nil
}

// escapeKey escapes an object key segment by segment, so its slashes stay
// the path's.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
