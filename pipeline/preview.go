package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/perchml/perch"
)

// Preview is what a pipeline would write for one object, computed without
// writing anything.
type Preview struct {
	Object      string  `json:"object"`
	Records     int64   `json:"records"`
	Predicted   int64   `json:"predicted"`
	DeadLetters int64   `json:"deadLetters"`
	Writes      []Write `json:"writes"`
}

// Write is what one sink would get.
type Write struct {
	Sink   string `json:"sink"`   // sql, objects, http, stream or dead_letter
	Target string `json:"target"` // the table, object or URL
	Rows   int64  `json:"rows"`
	// Content is the text written: the rows as CSV with the table's
	// columns for sql, the object for objects and dead letters, the JSON
	// results for http; cut at MaxPreviewBytes.
	Content   string `json:"content"`
	Truncated bool   `json:"truncated,omitempty"`
}

// MaxPreviewBytes bounds the content a preview shows of one write.
const MaxPreviewBytes = 1 << 20

// capped is a buffer that keeps the first MaxPreviewBytes written to it.
type capped struct {
	b    bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := MaxPreviewBytes - c.b.Len(); len(p) > room {
		c.b.Write(p[:max(room, 0)])
		c.over = true
		return len(p), nil
	}
	return c.b.Write(p)
}

// Preview reads r as the object key would be read, predicts every record
// and returns what each sink would get, writing nothing.
func (e *Engine) Preview(ctx context.Context, p *perch.Pipeline, key string, r io.Reader) (*Preview, error) {
	pred, err := e.Predictor(ctx, p.Model)
	if err != nil {
		return nil, err
	}
	rd, err := NewReader(r, key, Format(p.Source.Format, key), pred.Model().Schema)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	layout := NewLayout(pred.Model())
	const version = "preview"
	type out struct {
		w   Write
		buf capped
		enc *encoder
	}
	outs := make([]*out, len(p.Sinks))
	sqlCols := append(append(append([]string{}, sourceColumns...), layout.Attributes...), layout.Predicted...)
	for i, s := range p.Sinks {
		o := &out{}
		switch {
		case s.SQL != nil:
			o.w = Write{Sink: "sql", Target: s.SQL.URL + " table " + s.SQL.Table}
			for j, c := range sqlCols {
				if j > 0 {
					o.buf.Write([]byte{','})
				}
				o.buf.Write(appendCSV(nil, c))
			}
			o.buf.Write([]byte{'\n'})
		case s.Objects != nil:
			format := strings.ToLower(s.Objects.Format)
			if format == "" {
				format = "csv"
			}
			o.w = Write{Sink: "objects", Target: strings.TrimSuffix(s.Objects.URL, "/") + "/" + OutputKey(key, p.Source.Prefix, format)}
			o.enc = &encoder{jsonl: format == "jsonl", layout: layout}
			o.buf.Write(o.enc.header(nil))
		case s.HTTP != nil:
			o.w = Write{Sink: "http", Target: s.HTTP.URL}
		case s.Stream != nil:
			o.w = Write{Sink: "stream", Target: s.Stream.URL + " " + s.Stream.Subject}
		}
		outs[i] = o
	}
	dead := &out{w: Write{Sink: "dead_letter", Target: strings.TrimSuffix(p.DeadLetter, "/") + "/" + deadLetterKey(p.ID, key, version, 1)}}
	pv := &Preview{Object: key}
	var vals []any
	var line []byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		pv.Records++
		if rec.Err != nil {
			pv.DeadLetters++
			dead.w.Rows++
			b, _ := json.Marshal(DeadLetter{Pipeline: p.ID, Object: key, Version: version, Row: rec.Row, Line: rec.Line, Raw: rec.Raw, Error: rec.Err.Error()})
			dead.buf.Write(append(b, '\n'))
			continue
		}
		pv.Predicted++
		res := Result{Record: rec}
		pred.Predict(rec.Fields, &res.Prediction)
		for i, s := range p.Sinks {
			o := outs[i]
			o.w.Rows++
			line = line[:0]
			switch {
			case s.SQL != nil:
				vals = append(vals[:0], p.ID, key, version, rec.Row, int64(rec.Line))
				for _, f := range rec.Fields {
					vals = append(vals, f)
				}
				vals = layout.predicted(&res.Prediction, vals)
				for j, v := range vals {
					if j > 0 {
						line = append(line, ',')
					}
					line = appendCSV(line, text(v))
				}
				line = append(line, '\n')
			case s.Objects != nil:
				line = o.enc.row(line, &res)
			case s.HTTP != nil, s.Stream != nil:
				line = appendHTTPResult(line, p.ID, key, version, &res, layout)
				line = append(line, '\n')
			}
			o.buf.Write(line)
		}
	}
	for _, o := range append(outs, dead) {
		if o == dead && dead.w.Rows == 0 {
			continue
		}
		o.w.Content, o.w.Truncated = o.buf.b.String(), o.buf.over
		pv.Writes = append(pv.Writes, o.w)
	}
	if pv.Records == 0 {
		return pv, perch.Errorf(perch.EInvalid, "%s: no records", key)
	}
	return pv, nil
}

// appendHTTPResult appends one result as the HTTP sink posts it.
func appendHTTPResult(b []byte, pipelineID, key, version string, r *Result, l *Layout) []byte {
	b = append(b, `{"pipeline":`...)
	b = perch.AppendJSONString(b, pipelineID)
	b = append(b, `,"source_key":`...)
	b = perch.AppendJSONString(b, key)
	b = append(b, `,"source_version":`...)
	b = perch.AppendJSONString(b, version)
	b = append(b, fmt.Sprintf(`,"source_row":%d,"source_line":%d,"record":{`, r.Row, r.Line)...)
	first := true
	for j, f := range r.Fields {
		if f == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = perch.AppendJSONString(b, l.Attributes[j])
		b = append(b, ':')
		b = perch.AppendJSONString(b, f)
	}
	b = append(b, `},"prediction":`...)
	b = r.Prediction.AppendJSON(b)
	return append(b, '}')
}
