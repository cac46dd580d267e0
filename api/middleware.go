package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
)

// A layer wraps a route's handler. Layers see the route, so one that
// needs to know what a request does (a policy, a rate, a meter) reads it
// there rather than from the path.
type layer func(rt *route, next http.Handler) http.Handler

// layers is the chain every request goes through, outermost first.
func (a *api) layers() []layer {
	return []layer{
		a.recoverer,
		a.requestID,
		a.measure,
		a.accessLog,
		a.authenticate,
		a.limitBody,
	}
}

// chain wraps rt's handler in every layer.
func (a *api) chain(rt *route) http.Handler {
	var h http.Handler = rt.handler
	ls := a.layers()
	for i := len(ls) - 1; i >= 0; i-- {
		h = ls[i](rt, h)
	}
	return h
}

// reqState is what the layers of one request share. It is made once per
// request, with the writer and body wrappers inside it, so that the chain
// costs one allocation rather than one per layer.
type reqState struct {
	// The request's context is the state itself, so that the layers and
	// the service find it, and the caller in it, with no allocation more.
	context.Context
	caller perch.Caller
	log    *slog.Logger
	id     string
	idHdr  [1]string // the X-Request-Id header's value slice
	route  *route
	w      statusWriter
	body   limitedBody
	// logAttrs are the access log line's attributes past the first few.
	logAttrs [4]slog.Attr
}

type stateKey struct{}

// Value answers for the state and its caller, and asks the parent for
// the rest.
func (s *reqState) Value(k any) any {
	switch {
	case k == stateKey{}:
		return s
	case perch.IsCallerKey(k):
		return &s.caller
	}
	return s.Context.Value(k)
}

func stateOf(ctx context.Context) *reqState {
	s, _ := ctx.Value(stateKey{}).(*reqState)
	return s
}

// KeyFrom returns the API key that authenticated the request ctx belongs
// to, or nil for a route served without one.
func KeyFrom(ctx context.Context) *perch.Key {
	if s := stateOf(ctx); s != nil {
		return s.caller.Key
	}
	return nil
}

// requestIDFrom returns the request's id, "" outside the chain.
func requestIDFrom(ctx context.Context) string {
	if s := stateOf(ctx); s != nil {
		return s.id
	}
	return ""
}

// recoverer sets up the request's state and turns a panic into a logged
// 500, so that one bad request cannot take the server down.
func (a *api) recoverer(rt *route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{Context: r.Context(), log: a.log, route: rt}
		st.caller.Door = "rest"
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			st.caller.SourceIP = ap.Addr().Unmap()
		}
		st.w.ResponseWriter = w
		r = r.WithContext(st)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("panic", "request_id", st.id, "method", r.Method, "route", rt.pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !st.w.wrote {
				writeError(&st.w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(&st.w, r)
	})
}

// requestIDHeader carries a request's id both ways.
const requestIDHeader = "X-Request-Id"

var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	b := make([]byte, 5)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// newRequestID returns an id unique to this process run: a random prefix
// and a counter, cheaper than random bytes per request.
func newRequestID() string {
	var b [32]byte
	n := copy(b[:], idPrefix)
	b[n] = '-'
	return string(strconv.AppendUint(b[:n+1], idCounter.Add(1), 36))
}

// goodRequestID reports whether a client's request id can be echoed and
// logged as it is.
func goodRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestID takes the client's X-Request-Id, or makes one, and echoes it.
func (a *api) requestID(rt *route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r.Context())
		id := r.Header.Get(requestIDHeader)
		if !goodRequestID(id) {
			id = newRequestID()
		}
		st.id, st.caller.RequestID = id, id
		st.idHdr[0] = id
		w.Header()[requestIDHeader] = st.idHdr[:]
		next.ServeHTTP(w, r)
	})
}

// measure counts requests by route, method and status, and times them.
func (a *api) measure(rt *route, next http.Handler) http.Handler {
	m := a.metrics.forRoute(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r.Context())
		start := time.Now()
		a.metrics.inFlight.Inc()
		returned := false
		defer func() {
			a.metrics.inFlight.Dec()
			m.observe(r.Method, st.w.final(returned), time.Since(start))
		}()
		next.ServeHTTP(w, r)
		returned = true
	})
}

// accessLog logs a line per request: at Info, or Warn when it failed on
// the server's side (5xx). Health and readiness probes and /metrics, which
// are polled, log at Debug whatever their status, so that they do not
// flood the log. The credential is never logged; the key's name is.
func (a *api) accessLog(rt *route, next http.Handler) http.Handler {
	quiet := rt.op == "health" || rt.op == "ready" || rt.op == "metrics"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r.Context())
		start := time.Now()
		returned := false
		defer func() {
			code := st.w.final(returned)
			level := slog.LevelInfo
			switch {
			case quiet:
				level = slog.LevelDebug
			case code >= 500:
				level = slog.LevelWarn
			}
			// Checked first, so that a level that drops the line costs
			// nothing.
			if !a.log.Enabled(r.Context(), level) {
				return
			}
			keyName := ""
			if st.caller.Key != nil {
				keyName = st.caller.Key.Name
			}
			// A record holds five attributes without allocating; the
			// rest go in a group with no name, which handlers inline,
			// kept in the request's state rather than a new slice.
			st.logAttrs = [...]slog.Attr{
				slog.Int("status", code),
				slog.Int64("bytes", st.w.n),
				slog.Duration("duration", time.Since(start)),
				slog.String("key_name", keyName),
			}
			a.log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", st.id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", rt.pattern),
				slog.Attr{Value: slog.GroupValue(st.logAttrs[:]...)},
			)
		}()
		next.ServeHTTP(w, r)
		returned = true
	})
}

// authenticate checks the bearer key of every route that needs one and
// keeps it in the request's state, where KeyFrom finds it.
func (a *api) authenticate(rt *route, next http.Handler) http.Handler {
	if rt.public {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			writeError(w, r, perch.Errorf(perch.EUnauthorized, "this route needs an API key: Authorization: Bearer <key>"))
			return
		}
		key, ok := access.Bearer(h)
		if !ok {
			writeError(w, r, perch.Errorf(perch.EUnauthorized, "the Authorization header is not of the form Bearer <key>"))
			return
		}
		k, err := a.svc.Authenticate(r.Context(), key)
		if err != nil {
			writeError(w, r, err)
			return
		}
		st := stateOf(r.Context())
		st.caller.Key = k
		next.ServeHTTP(w, r)
	})
}

// limitBody caps the request body at the route's limit: a body declared
// larger is refused before it is read, and one that turns out larger
// fails its read with ELimitExceeded.
func (a *api) limitBody(rt *route, next http.Handler) http.Handler {
	max := rt.maxBody
	if max == 0 {
		max = defaultBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeError(w, r, tooLarge(max))
			return
		}
		st := stateOf(r.Context())
		st.body = limitedBody{r: r.Body, left: max, max: max}
		r.Body = &st.body
		next.ServeHTTP(w, r)
	})
}

func tooLarge(max int64) error {
	return perch.Errorf(perch.ELimitExceeded, "request body over %d bytes", max)
}

// limitedBody reads at most its limit, then fails.
type limitedBody struct {
	r    io.ReadCloser
	left int64 // bytes it may still read
	max  int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.err = tooLarge(b.max)
	return n, b.err
}

func (b *limitedBody) Close() error { return b.r.Close() }

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	n     int64
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code = code
		w.wrote = code >= 200 // 1xx responses are not final
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// final is the response's status: 200 if the handler returned without
// writing one, as net/http then sends, and 500 if it panicked first, as
// the recoverer then answers.
func (w *statusWriter) final(returned bool) int {
	switch {
	case w.wrote:
		return w.code
	case returned:
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on, for streamed downloads.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wrote {
			w.code, w.wrote = http.StatusOK, true
		}
		f.Flush()
	}
}
