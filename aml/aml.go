// Package aml serves Amazon Machine Learning's web API (AmazonML_20141212,
// AWS's JSON 1.1 protocol) over perch's service, so that code written for
// AML (boto3 scripts, the AWS SDKs, the AWS samples) runs against perch by
// changing only its endpoint.
//
// Requests are POST / with X-Amz-Target: AmazonML_20141212.<Operation>,
// signed with SigV4 by an access key pair perch issued. This package only
// translates: it checks what AML's model declares (lengths, patterns,
// enums, ranges), maps AML's shapes onto the service's inputs and back,
// and maps errors to AML's names. Every rule lives in the service.
package aml

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/service"
)

// TargetPrefix starts every X-Amz-Target of the protocol.
const TargetPrefix = "AmazonML_20141212."

// SigningName is the service name requests are signed for.
const SigningName = "machinelearning"

// ContentType is the protocol's media type.
const ContentType = "application/x-amz-json-1.1"

// maxBody bounds a request: the largest input is a schema or recipe of
// 131071 characters, or a record of 100 KB, with room for the rest.
const maxBody = 1 << 20

// Options configures the handler New returns.
type Options struct {
	// Logger receives the errors behind InternalServerExceptions; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock signatures are checked against; nil is time.Now.
	Now func() time.Time
	// MaxSkew is how far a request's signing time may be from Now; 0 is
	// five minutes, as AWS allows.
	MaxSkew time.Duration
	// Region is the region requests must be signed for, as AWS checks a
	// signature's scope; "" takes any.
	Region string
	// Databases maps the DatabaseInformation of CreateDataSourceFromRedshift
	// and FromRDS to connection URLs without credentials (the request
	// brings those): "cluster/database" or "cluster" (an RDS instance
	// identifier likewise) to postgres://host:5432/database. Without a
	// match those calls are refused.
	Databases map[string]string
}

// handler serves the protocol.
type handler struct {
	dbs    map[string]string
	svc    *service.Service
	log    *slog.Logger
	verify *access.SigV4Verifier
}

// New returns the AML protocol over svc. Requests must be signed with an
// access key pair of svc (Service.CreateAWSKey, Service.EnsureRootAWSKey).
func New(svc *service.Service, opt Options) http.Handler {
	h := &handler{svc: svc, log: opt.Logger, dbs: opt.Databases}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.verify = &access.SigV4Verifier{
		Service: SigningName,
		Region:  opt.Region,
		MaxSkew: opt.MaxSkew,
		Now:     opt.Now,
		Secret:  svc.AWSSecret,
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	id := hdr.Get("X-Request-Id")
	if id == "" {
		id = newRequestID()
	}
	hdr["X-Amzn-Requestid"] = []string{id}
	if r.Method != http.MethodPost {
		h.fail(w, r, "", &Error{Type: "UnknownOperationException", Status: http.StatusBadRequest, Message: "the protocol takes POST only"})
		return
	}
	buf := bodyPool.Get().(*[]byte)
	defer bodyPool.Put(buf)
	body, err := readBody(http.MaxBytesReader(w, r.Body, maxBody), r.ContentLength, (*buf)[:0])
	if cap(body) <= 64<<10 {
		*buf = body // keep a grown buffer, unless a rare large body grew it
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || perch.Code(err) == perch.ELimitExceeded {
			h.fail(w, r, "", &Error{Type: "LimitExceededException", Status: http.StatusBadRequest, Message: fmt.Sprintf("the request body is larger than %d bytes", maxBody)})
			return
		}
		h.fail(w, r, "", &Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: "reading the request body: " + err.Error()})
		return
	}
	keyID, err := h.verify.Verify(r, body)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	// The signer is the caller: the service decides what it may do.
	key, err := h.svc.AccessKey(r.Context(), keyID)
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	if c := perch.CallerFrom(r.Context()); c != nil {
		c.Key, c.Door = key, "aml"
	} else {
		c := &perch.Caller{Key: key, Door: "aml"}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			c.SourceIP = ap.Addr().Unmap()
		}
		r = r.WithContext(perch.NewContext(r.Context(), c))
	}
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if ok && name == "Predict" {
		if err := h.predict(r.Context(), w, body); err != nil {
			h.fail(w, r, name, err)
		}
		return
	}
	op := operations[name]
	if !ok || op == nil {
		h.fail(w, r, "", &Error{Type: "UnknownOperationException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("X-Amz-Target %q: not an operation of AmazonML_20141212", r.Header.Get("X-Amz-Target"))})
		return
	}
	out, err := op(r.Context(), h, body)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.fail(w, r, name, err)
		return
	}
	hdr["Content-Type"] = contentType
	w.Write(b)
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// readBody reads r into b, growing it as needed.
func readBody(r io.Reader, size int64, b []byte) ([]byte, error) {
	if size > 0 && size < maxBody && int64(cap(b)) < size+1 {
		b = slices.Grow(b, int(size)+1)
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, 4<<10)
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// operation decodes its input from a request body and answers its output,
// a value to encode as JSON.
type operation func(ctx context.Context, h *handler, body []byte) (any, error)

// op makes an operation of a function on its decoded input.
func op[In any](f func(ctx context.Context, h *handler, in *In) (any, error)) operation {
	return func(ctx context.Context, h *handler, body []byte) (any, error) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 { // an empty body is taken for {}
			if err := json.Unmarshal(body, in); err != nil {
				return nil, &Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: "the request body is not the operation's JSON input: " + err.Error()}
			}
		}
		return f(ctx, h, in)
	}
}

// Error is an error as the protocol answers it.
type Error struct {
	Type    string // the __type, with its Exception suffix
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func invalid(format string, args ...any) error {
	return &Error{Type: "InvalidInputException", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// createOps answer an existing id with other parameters as a mismatch.
var createOps = map[string]bool{
	"CreateDataSourceFromS3": true, "CreateDataSourceFromRDS": true, "CreateDataSourceFromRedshift": true,
	"CreateMLModel": true, "CreateEvaluation": true, "CreateBatchPrediction": true,
}

// toError maps an error of the service to the protocol's, for operation
// op.
func toError(op string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *access.SigV4Error
	if errors.As(err, &se) {
		return &Error{Type: se.Type + "Exception", Status: http.StatusBadRequest, Message: se.Message}
	}
	msg := amlFieldNames(err.Error())
	bad := func(typ string) *Error { return &Error{Type: typ, Status: http.StatusBadRequest, Message: msg} }
	switch perch.Code(err) {
	case perch.EAccessDenied:
		return &Error{Type: "AccessDeniedException", Status: http.StatusBadRequest, Message: msg}
	case perch.ENotFound:
		if createOps[op] { // AML's Create calls declare no ResourceNotFound
			return bad("InvalidInputException")
		}
		return bad("ResourceNotFoundException")
	case perch.EInvalid, perch.EForbidden:
		if op == "AddTags" || op == "DeleteTags" {
			return bad("InvalidTagException")
		}
		return bad("InvalidInputException")
	case perch.ELimitExceeded:
		if op == "AddTags" {
			return bad("TagLimitExceededException")
		}
		return bad("LimitExceededException")
	case perch.EConflict:
		switch {
		case createOps[op]:
			return bad("IdempotentParameterMismatchException")
		case op == "Predict":
			return bad("PredictorNotMountedException")
		}
		return bad("InvalidInputException")
	case perch.EUnauthorized:
		return bad("UnrecognizedClientException")
	}
	return nil
}

// fieldNames pairs the service's input names with AML's, so that a
// message starting with one names what the caller sent.
var fieldNames = [][2]string{
	{"dataUrl", "DataLocationS3"},
	{"schema", "DataSchema"},
	{"rearrangement", "DataRearrangement"},
	{"outputUrl", "OutputUri"},
	{"trainingDataSourceId", "TrainingDataSourceId"},
	{"recipe", "Recipe"},
	{"parameters", "Parameters"},
	{"scoreThreshold", "ScoreThreshold"},
}

func amlFieldNames(msg string) string {
	for _, f := range fieldNames {
		if rest, ok := strings.CutPrefix(msg, f[0]); ok && (strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, " ")) {
			return f[1] + rest
		}
	}
	return msg
}

// fail answers err.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	e := toError(op, err)
	if e != nil && strings.HasPrefix(h.svc.Objects().URL(""), "file://") {
		// Name objects as the caller does, not by the server's paths.
		e.Message = strings.ReplaceAll(e.Message, h.svc.Objects().URL(""), "s3://")
	}
	if e == nil {
		h.log.Error("AML request failed", "op", op, "requestId", w.Header().Get("X-Amzn-Requestid"), "err", err)
		e = &Error{Type: "InternalServerException", Status: http.StatusInternalServerError,
			Message: "internal error; the server's log has it under request id " + w.Header().Get("X-Amzn-Requestid")}
	}
	if len(e.Message) > 2048 {
		e.Message = e.Message[:2048]
	}
	w.Header()["Content-Type"] = contentType
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.Write(b)
}

// newRequestID returns a random id in the UUID form AWS uses.
func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
