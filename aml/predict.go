package aml

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/jsonscan"
)

// Predict is the hot path: its input is read by hand in the common case
// (no escapes, string values), its scratch space is pooled and its answer
// written straight from it.

type predictInput struct {
	MLModelID       string `json:"MLModelId"`
	Record          perch.Record
	PredictEndpoint string
}

// predictScratch is what a Predict reuses from call to call.
type predictScratch struct {
	in   predictInput
	rec  perch.Record
	pred perch.Prediction
	out  []byte
}

var predictPool = sync.Pool{New: func() any {
	return &predictScratch{rec: make(perch.Record, 32), out: make([]byte, 0, 256)}
}}

// predict answers a Predict request whose body is read and signed.
func (h *handler) predict(ctx context.Context, w http.ResponseWriter, body []byte) error {
	sc := predictPool.Get().(*predictScratch)
	defer func() {
		if len(sc.rec) > 256 { // an unusually wide record is not kept
			sc.rec = make(perch.Record, 32)
		} else {
			clear(sc.rec)
		}
		sc.in = predictInput{}
		predictPool.Put(sc)
	}()
	in := &sc.in
	if !parsePredict(body, in, sc.rec) {
		clear(sc.rec)
		*in = predictInput{}
		if err := json.Unmarshal(body, in); err != nil {
			return &Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: "the request body is not Predict's JSON input: " + err.Error()}
		}
	}
	var c checks
	c.id("MLModelId", in.MLModelID)
	if in.Record == nil {
		c.fail("Record: required")
	}
	c.endpoint("PredictEndpoint", in.PredictEndpoint)
	if c.err != nil {
		return c.err
	}
	size := 0
	for k, v := range in.Record {
		size += len(k) + len(v)
	}
	if size > perch.MaxRecordBytes {
		return &Error{Type: "LimitExceededException", Status: http.StatusBadRequest,
			Message: "Record: " + strconv.Itoa(size) + " bytes, more than the limit of " + strconv.Itoa(perch.MaxRecordBytes)}
	}
	if err := h.svc.Predict(ctx, in.MLModelID, in.Record, &sc.pred); err != nil {
		return err
	}
	sc.out = appendPrediction(sc.out[:0], &sc.pred)
	w.Header()["Content-Type"] = contentType
	w.Write(sc.out)
	return nil
}

var contentType = []string{ContentType}

// parsePredict reads {"MLModelId":"…","Record":{"k":"v",…},"PredictEndpoint":"…"}
// (members in any order) into in, the record into rec, with one
// allocation for all the strings. It gives up, returning false, on
// anything else: escapes, other members, other types; encoding/json then
// reads the body, and names what is wrong.
func parsePredict(body []byte, in *predictInput, rec perch.Record) bool {
	p, ok := jsonscan.New(body)
	if !ok || !p.Byte('{') {
		return false
	}
	if p.Byte('}') {
		return p.End()
	}
	for {
		name, ok := p.Str()
		if !ok || !p.Byte(':') {
			return false
		}
		switch name {
		case "MLModelId":
			if in.MLModelID, ok = p.Str(); !ok {
				return false
			}
		case "PredictEndpoint":
			if in.PredictEndpoint, ok = p.Str(); !ok {
				return false
			}
		case "Record":
			in.Record = rec
			if !p.Record(rec) {
				return false
			}
		default:
			return false
		}
		if p.Byte('}') {
			return p.End()
		}
		if !p.Byte(',') {
			return false
		}
	}
}
