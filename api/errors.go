package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/perchml/perch"
)

// httpError is an error of HTTP itself, with no perch code: a method not
// allowed, a route not found.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) error {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// invalidf is the error for a request that is wrong.
func invalidf(format string, args ...any) error {
	return perch.Errorf(perch.EInvalid, format, args...)
}

// statusOf maps a perch error code to its HTTP status.
func statusOf(c perch.ErrorCode) int {
	switch c {
	case perch.EInvalid:
		return http.StatusBadRequest
	case perch.EUnauthorized:
		return http.StatusUnauthorized
	case perch.EForbidden, perch.EAccessDenied:
		return http.StatusForbidden
	case perch.ENotFound:
		return http.StatusNotFound
	case perch.EConflict:
		return http.StatusConflict
	case perch.ELimitExceeded:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// jsonContentType is shared by every JSON response; net/http only reads
// header values, so one slice serves all of them without an allocation.
var jsonContentType = []string{"application/json"}

// writeError answers err as {"error":{"code":…,"message":…}}. An internal
// error's message stays in the log; the client gets the request id to
// quote.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, string(perch.EInternal), ""
	var he *httpError
	if errors.As(err, &he) {
		status, code, msg = he.status, he.code, he.msg
	} else {
		c := perch.Code(err)
		status, code = statusOf(c), string(c)
		if status == http.StatusInternalServerError {
			code = string(perch.EInternal)
		}
		msg = err.Error()
	}
	if status == http.StatusInternalServerError {
		id := requestIDFrom(r.Context())
		level := slog.LevelError
		if r.Context().Err() != nil {
			level = slog.LevelDebug // the client went away
		}
		if l := logFrom(r); l != nil {
			l.LogAttrs(r.Context(), level, "internal error", slog.String("request_id", id),
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		}
		msg = fmt.Sprintf("internal error (request id %s)", id)
	}
	h := w.Header()
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	h["Content-Type"] = jsonContentType
	h.Del("Content-Length")
	b := make([]byte, 0, 64+len(code)+len(msg))
	b = append(b, `{"error":{"code":`...)
	b = perch.AppendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = perch.AppendJSONString(b, msg)
	b = append(b, "}}\n"...)
	w.WriteHeader(status)
	w.Write(b)
}

// logFrom returns the logger of the API serving r.
func logFrom(r *http.Request) *slog.Logger {
	if st := stateOf(r.Context()); st != nil {
		return st.log
	}
	return nil
}

// writeJSON answers v as JSON. <, > and & are left as they are: labels
// such as <=50K stay readable, and nothing here is embedded in HTML.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, r, fmt.Errorf("encoding the response: %w", err))
		return
	}
	writeRaw(w, status, buf.Bytes())
}

// writeRaw answers b, which is JSON already.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(b)
}

// respond answers v with status, or err.
func respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, status, v)
}

// decodeBody decodes a JSON request body into v strictly: unknown fields,
// wrong types and anything after the value are errors. An empty body is
// an error unless empty is true, when v is left as it is.
func decodeBody(r *http.Request, v any, empty bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			if empty {
				return nil
			}
			return invalidf("request body: empty; want a JSON object")
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if perch.Code(err) == perch.ELimitExceeded {
			return err
		}
		return invalidf("request body: data after the JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a message for the client.
func jsonError(err error) error {
	var pe *perch.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &pe):
		return err
	case errors.As(err, &se):
		return invalidf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		// Fields of an embedded input struct are named with its type.
		field := te.Field
		for _, embedded := range []string{"DataSourceInput.", "MLModelInput."} {
			field = strings.TrimPrefix(field, embedded)
		}
		if field == "" {
			return invalidf("request body: want %s, got %s", kindOf(te.Type), te.Value)
		}
		return invalidf("%s: want %s, got %s", field, kindOf(te.Type), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidf("malformed JSON: the body ends inside a value")
	}
	// Unknown fields ("json: unknown field \"x\"") and the rest.
	return invalidf("request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// kindOf names the JSON kind a Go type is decoded from.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return kindOf(t.Elem())
	}
	return t.String()
}

// jsonKind names the kind of a raw JSON value.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
