package api

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// object is an object as the API shows it.
type object struct {
	Key     string     `json:"key"`
	URL     string     `json:"url"`
	Size    int64      `json:"size"`
	ModTime *time.Time `json:"modTime,omitempty"`
	ETag    string     `json:"etag"`
}

func (a *api) putObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	at, err := a.svc.PutObject(r.Context(), key, r.Body, r.Header.Get("Content-Type"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, objectPath(key), object{Key: key, URL: a.svc.Objects().URL(key), Size: at.Size, ETag: at.ETag})
}

// objectPath is the API path of an object, each segment of its key
// escaped.
func objectPath(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/v1/objects/" + strings.Join(segs, "/")
}

func (a *api) getObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	rc, err := a.svc.OpenObject(r.Context(), key)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	if strings.HasSuffix(strings.ToLower(key), ".csv") {
		h.Set("Content-Type", "text/csv")
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if s, ok := rc.(interface{ Size() int64 }); ok {
		h.Set("Content-Length", strconv.FormatInt(s.Size(), 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil && r.Context().Err() == nil {
		// Too late for an error response: the status is sent. The client
		// sees a short body.
		a.log.Warn("object download", "request_id", requestIDFrom(r.Context()), "key", key, "err", err)
	}
}

func (a *api) listObjects(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "prefix")
	if err != nil {
		writeError(w, r, err)
		return
	}
	b := a.svc.Objects()
	as, err := a.svc.ListObjects(r.Context(), q.Get("prefix"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	items := make([]object, len(as))
	for i, at := range as {
		t := at.ModTime.UTC()
		items[i] = object{Key: at.Key, URL: b.URL(at.Key), Size: at.Size, ModTime: &t, ETag: at.ETag}
	}
	writeJSON(w, r, http.StatusOK, page[object]{Items: items})
}

func (a *api) deleteObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if err := a.svc.DeleteObject(r.Context(), key); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
