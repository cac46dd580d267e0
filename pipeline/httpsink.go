package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/perchml/perch"
)

// DefaultHTTPBatch is how many results an HTTP sink posts at once.
const DefaultHTTPBatch = 500

// HTTP sink retries: a failed post (no answer, 429 or 5xx) is tried again
// after a backoff that doubles from httpBackoff, with jitter, up to
// httpTries times in all; then the run fails and is tried again later.
var (
	httpBackoff = 250 * time.Millisecond
	httpTries   = 5
)

// httpSink posts results as JSON, a batch a request:
//
//	{"pipeline":…,"source_key":…,"source_version":…,"results":[{…},…]}
//
// with an Idempotency-Key header naming the batch (pipeline, key,
// version, first row), the same on every retry, so that a receiver can
// drop a batch it has taken already.
type httpSink struct {
	url      string
	batch    int
	client   *http.Client
	pipeline string
	key      string
	version  string
	layout   *Layout
	body     []byte
}

func checkHTTPSink(s *perch.HTTPSink) error {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return perch.Errorf(perch.EInvalid, "http sink url %q: want http:// or https:// and a host", s.URL)
	}
	if s.Batch < 0 || s.Batch > 100000 {
		return perch.Errorf(perch.EInvalid, "http sink batch %d: want 1 to 100000", s.Batch)
	}
	return nil
}

// errPrivate refuses a connection to an address the sink may not reach.
type errPrivate struct{ addr netip.Addr }

func (e errPrivate) Error() string {
	return fmt.Sprintf("http sink: %s is a loopback, link-local or private address; set allow_private to post there", e.addr)
}

// refusePrivate is a dialer's Control: it checks the address actually
// dialled, after name resolution, so a name that resolves to an inner
// address is refused too.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsPrivate() || a.IsUnspecified() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return errPrivate{a}
	}
	return nil
}

// newHTTPClient returns the client of an HTTP sink.
func newHTTPClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = refusePrivate
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	tr.Proxy = nil // a proxy would dial the address for us, unchecked
	return &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func openHTTPSink(def *perch.HTTPSink, l *Layout, pipelineID, key, version string) (sink, error) {
	if err := checkHTTPSink(def); err != nil {
		return nil, err
	}
	n := def.Batch
	if n == 0 {
		n = DefaultHTTPBatch
	}
	return &httpSink{url: def.URL, batch: n, client: newHTTPClient(def.AllowPrivate),
		pipeline: pipelineID, key: key, version: version, layout: l}, nil
}

func (s *httpSink) whole() bool { return false }

func (s *httpSink) write(ctx context.Context, rs []Result) error {
	for len(rs) > 0 {
		n := min(len(rs), s.batch)
		if err := s.post(ctx, rs[:n]); err != nil {
			return err
		}
		rs = rs[n:]
	}
	return nil
}

// post sends one batch, retrying with backoff.
func (s *httpSink) post(ctx context.Context, rs []Result) error {
	b := s.body[:0]
	b = append(b, `{"pipeline":`...)
	b = perch.AppendJSONString(b, s.pipeline)
	b = append(b, `,"source_key":`...)
	b = perch.AppendJSONString(b, s.key)
	b = append(b, `,"source_version":`...)
	b = perch.AppendJSONString(b, s.version)
	b = append(b, `,"results":[`...)
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHTTPResult(b, s.pipeline, s.key, s.version, &rs[i], s.layout)
	}
	b = append(b, "]}"...)
	s.body = b
	idem := s.pipeline + "/" + s.key + "/" + versionTag(s.version) + "/" + strconv.FormatInt(rs[0].Row, 10)
	var last error
	for try := 0; try < httpTries; try++ {
		if try > 0 {
			d := httpBackoff << (try - 1)
			d += time.Duration(rand.Int64N(int64(d)/2 + 1))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", idem)
		resp, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var pe errPrivate
			if errors.As(err, &pe) {
				return pe // no retry will change the address
			}
			last = fmt.Errorf("http sink: posting to %s: %w", s.url, err)
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("http sink: %s answered %s: %s", s.url, resp.Status, bytes.TrimSpace(msg))
		default:
			return fmt.Errorf("http sink: %s answered %s: %s", s.url, resp.Status, bytes.TrimSpace(msg))
		}
	}
	return fmt.Errorf("%w (after %d tries)", last, httpTries)
}

func (s *httpSink) finish(context.Context) error { return nil }

func (s *httpSink) setKey(key string) { s.key = key }

func (s *httpSink) close() error {
	s.client.CloseIdleConnections()
	return nil
}
