package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/jsonscan"
)

// predictScratch is what one prediction request needs, reused from
// request to request so that the hot path allocates only the record's
// strings.
type predictScratch struct {
	body []byte
	out  []byte
	rec  perch.Record
	pred perch.Prediction
}

var predictPool = sync.Pool{New: func() any {
	return &predictScratch{
		body: make([]byte, 0, 4<<10),
		out:  make([]byte, 0, 512),
		rec:  make(perch.Record, 32),
	}
}}

// readBody reads r's body into b, which it grows as needed.
func readBody(r *http.Request, b []byte) ([]byte, error) {
	if n := r.ContentLength; n > 0 && int64(cap(b)) < n+1 {
		b = slices.Grow(b, int(n)+1)
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, 4<<10)
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			if perch.Code(err) != perch.ELimitExceeded {
				err = invalidf("reading the request body: %v", err)
			}
			return b, err
		}
	}
}

// predict answers one record: {"record":{…}} in, {"prediction":{…}} out,
// the prediction in AML's exact shape.
func (a *api) predict(w http.ResponseWriter, r *http.Request) {
	sc := predictPool.Get().(*predictScratch)
	defer func() {
		// Let go of this request's strings; a map grown by an unusually
		// wide record is dropped, as clearing it would cost every later
		// request.
		if len(sc.rec) > 256 {
			sc.rec = make(perch.Record, 32)
		} else {
			clear(sc.rec)
		}
		predictPool.Put(sc)
	}()
	var err error
	if sc.body, err = readBody(r, sc.body[:0]); err != nil {
		writeError(w, r, err)
		return
	}
	if err := parseRecord(sc.body, sc.rec); err != nil {
		writeError(w, r, err)
		return
	}
	if r.URL.RawQuery == "" {
		err = a.svc.Predict(r.Context(), r.PathValue("id"), sc.rec, &sc.pred)
	} else {
		err = a.predictQuery(r, sc)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	b := append(sc.out[:0], `{"prediction":`...)
	b = sc.pred.AppendJSON(b)
	b = append(b, "}\n"...)
	sc.out = b
	w.Header()["Content-Type"] = jsonContentType
	w.Write(b)
}

// predictQuery predicts as the query asks: explain=true adds each
// attribute's contribution to the answer's details (tree models).
func (a *api) predictQuery(r *http.Request, sc *predictScratch) error {
	q := r.URL.Query()
	for k := range q {
		if k != "explain" {
			return invalidf("query parameter %q: unknown (predict takes explain=true)", k)
		}
	}
	explain, err := strconv.ParseBool(q.Get("explain"))
	if err != nil {
		return invalidf("query parameter explain: %q is not true or false", q.Get("explain"))
	}
	if !explain {
		return a.svc.Predict(r.Context(), r.PathValue("id"), sc.rec, &sc.pred)
	}
	return a.svc.Explain(r.Context(), r.PathValue("id"), sc.rec, &sc.pred)
}

// parseRecord reads {"record":{"name":"value",…}} into rec, which is
// empty. The common body (no escapes, nothing else in it) is read by
// hand, with one allocation for all its strings; any other goes through
// encoding/json, which gives the same record or names what is wrong.
func parseRecord(body []byte, rec perch.Record) error {
	if fastRecord(body, rec) {
		return nil
	}
	clear(rec)
	var req struct {
		Record map[string]json.RawMessage `json:"record"`
	}
	if err := strictDecode(body, &req); err != nil {
		return err
	}
	if req.Record == nil {
		return invalidf(`record: required; want {"record":{"attribute":"value",…}}`)
	}
	return recordFromRaw(req.Record, rec, "record")
}

// recordFromRaw turns a decoded record into rec; a value that is not a
// string is an error naming its attribute, the first in name order so
// that the message does not change from run to run.
func recordFromRaw(raw map[string]json.RawMessage, rec perch.Record, what string) error {
	var bad []string
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			bad = append(bad, k)
			continue
		}
		rec[k] = s
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return invalidf("%s attribute %q: want a string, got %s", what, bad[0], jsonKind(raw[bad[0]]))
	}
	return nil
}

// strictDecode decodes one JSON value from b as decodeBody does.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return invalidf("request body: empty; want a JSON object")
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidf("request body: data after the JSON value")
	}
	return nil
}

// fastRecord parses the plain form of a predict body, reporting false for
// anything else: escapes, other fields, values that are not strings,
// invalid UTF-8. Its strings are slices of one copy of the body.
func fastRecord(body []byte, rec perch.Record) bool {
	p, ok := jsonscan.New(body)
	if !ok || !p.Byte('{') {
		return false
	}
	if name, ok := p.Str(); !ok || name != "record" || !p.Byte(':') || !p.Record(rec) {
		return false
	}
	return p.Byte('}') && p.End()
}

// predictBatch answers up to service.MaxBatchRecords records at once.
func (a *api) predictBatch(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req struct {
		Records []perch.Record `json:"records"`
	}
	if err := strictDecode(body, &req); err != nil {
		// Name the attribute whose value is not a string.
		var raw struct {
			Records []map[string]json.RawMessage `json:"records"`
		}
		if strictDecode(body, &raw) == nil {
			for i, rr := range raw.Records {
				if e := recordFromRaw(rr, perch.Record{}, "records["+strconv.Itoa(i)+"]"); e != nil {
					err = e
					break
				}
			}
		}
		writeError(w, r, err)
		return
	}
	if req.Records == nil {
		writeError(w, r, invalidf(`records: required; want {"records":[{"attribute":"value",…},…]}`))
		return
	}
	ps, err := a.svc.PredictBatch(r.Context(), r.PathValue("id"), req.Records)
	if err != nil {
		writeError(w, r, err)
		return
	}
	b := make([]byte, 0, 32+len(ps)*160)
	b = append(b, `{"predictions":[`...)
	for i := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = ps[i].AppendJSON(b)
	}
	b = append(b, "]}\n"...)
	writeRaw(w, http.StatusOK, b)
}

// explain answers a prediction with its explanation: per margin (class),
// each attribute's contribution and the expected margin they start from.
// The prediction itself carries them too, in details.
func (a *api) explain(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, nil)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rec := perch.Record{}
	if err := parseRecord(body, rec); err != nil {
		writeError(w, r, err)
		return
	}
	var p perch.Prediction
	if err := a.svc.Explain(r.Context(), r.PathValue("id"), rec, &p); err != nil {
		writeError(w, r, err)
		return
	}
	type margin struct {
		Class         string             `json:"class,omitempty"`
		Expected      float64            `json:"expected"`
		Contributions map[string]float64 `json:"contributions"`
	}
	out := struct {
		Prediction  json.RawMessage `json:"prediction"`
		Explanation []margin        `json:"explanation"`
	}{Prediction: p.AppendJSON(nil)}
	for _, m := range p.Contributions.Margins {
		byName := make(map[string]float64, len(m.Values))
		for i, n := range p.Contributions.Names {
			byName[n] = m.Values[i]
		}
		class := m.Class
		if class == "" && p.Type == perch.BinaryModel {
			class = "1"
		}
		out.Explanation = append(out.Explanation, margin{class, m.Expected, byName})
	}
	respond(w, r, http.StatusOK, out, nil)
}
