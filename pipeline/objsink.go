package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// objectSink writes one output object per input object. The object is
// streamed to the store as records are predicted and appears only when
// the last is written (objects' writes are atomic), so it is written
// whole on every run, also one that resumes.
type objectSink struct {
	bucket *objects.Bucket
	key    string
	enc    *encoder
	pw     *io.PipeWriter
	w      *bufio.Writer
	done   chan error
	buf    []byte
}

var errAborted = errors.New("pipeline: output abandoned")

func checkObjectSink(s *perch.ObjectSink) error {
	if s.URL == "" {
		return perch.Errorf(perch.EInvalid, "objects sink: url is required")
	}
	switch strings.ToLower(s.Format) {
	case "", "csv", "jsonl":
		return nil
	}
	return perch.Errorf(perch.EInvalid, "objects sink format %q: want csv or jsonl", s.Format)
}

// OutputKey is the key of the output of the object key, read from under
// prefix: the same path below the prefix, with the format's extension.
func OutputKey(key, prefix, format string) string {
	k := strings.TrimPrefix(key, prefix)
	k = strings.TrimLeft(k, "/")
	if k == "" {
		k = path.Base(key)
	}
	k = strings.TrimSuffix(k, ".gz")
	if ext := path.Ext(k); ext != "" {
		k = strings.TrimSuffix(k, ext)
	}
	return k + "." + format
}

func openObjectSink(ctx context.Context, def *perch.ObjectSink, l *Layout, key string) (*objectSink, error) {
	b, err := objects.Open(ctx, def.URL)
	if err != nil {
		return nil, err
	}
	format := strings.ToLower(def.Format)
	if format == "" {
		format = "csv"
	}
	s := &objectSink{bucket: b, key: key, enc: &encoder{jsonl: format == "jsonl", layout: l}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	s.pw = pw
	s.w = bufio.NewWriterSize(pw, 256<<10)
	ctype := "text/csv"
	if s.enc.jsonl {
		ctype = "application/x-ndjson"
	}
	go func() {
		err := b.Write(ctx, key, pr, ctype)
		pr.CloseWithError(err)
		s.done <- err
	}()
	s.w.Write(s.enc.header(nil))
	return s, nil
}

func (s *objectSink) whole() bool { return true }

func (s *objectSink) write(_ context.Context, rs []Result) error {
	for i := range rs {
		s.buf = s.enc.row(s.buf[:0], &rs[i])
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("objects sink: %w", err)
		}
	}
	return nil
}

// encoder writes results as an output object's lines.
type encoder struct {
	jsonl  bool
	layout *Layout
}

// header returns the CSV header line; JSON Lines have none.
func (e *encoder) header(b []byte) []byte {
	if e.jsonl {
		return b
	}
	for i, c := range append(append([]string{"source_row", "source_line"}, e.layout.Attributes...), e.layout.Predicted...) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSV(b, c)
	}
	return append(b, '\n')
}

// row appends the line of one result.
func (e *encoder) row(b []byte, r *Result) []byte {
	if e.jsonl {
		b = append(b, `{"source_row":`...)
		b = strconv.AppendInt(b, r.Row, 10)
		b = append(b, `,"source_line":`...)
		b = strconv.AppendInt(b, int64(r.Line), 10)
		b = append(b, `,"record":{`...)
		first := true
		for j, f := range r.Fields {
			if f == "" {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = perch.AppendJSONString(b, e.layout.Attributes[j])
			b = append(b, ':')
			b = perch.AppendJSONString(b, f)
		}
		b = append(b, `},"prediction":`...)
		b = r.Prediction.AppendJSON(b)
		return append(b, "}\n"...)
	}
	b = strconv.AppendInt(b, r.Row, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Line), 10)
	for _, f := range r.Fields {
		b = append(b, ',')
		b = appendCSV(b, f)
	}
	b = e.layout.appendCSV(b, &r.Prediction)
	return append(b, '\n')
}

// finish completes the object.
func (s *objectSink) finish(context.Context) error {
	if s.pw == nil {
		return nil
	}
	err := s.w.Flush()
	if err != nil {
		s.pw.CloseWithError(err)
	} else {
		s.pw.Close()
	}
	s.pw = nil
	if werr := <-s.done; werr != nil {
		return fmt.Errorf("objects sink: %w", werr)
	}
	return err
}

// close abandons an unfinished object and releases the bucket.
func (s *objectSink) close() error {
	if s.pw != nil {
		s.pw.CloseWithError(errAborted)
		s.pw = nil
		<-s.done
	}
	return s.bucket.Close()
}

// appendCSV writes a CSV field, quoted when needed.
func appendCSV(b []byte, s string) []byte {
	plain := s == "" || (s[0] != ' ' && s[0] != '\t' && s[len(s)-1] != ' ' && s[len(s)-1] != '\t')
	for i := 0; plain && i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			plain = false
		}
	}
	if plain {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// DeadLetter is a record that could not be read or predicted, as it is
// kept in the dead-letter store (one JSON object a line).
type DeadLetter struct {
	Pipeline string `json:"pipeline"`
	Object   string `json:"object"`
	Version  string `json:"version"`
	Row      int64  `json:"row"`
	Line     int    `json:"line"`
	Raw      string `json:"raw"`
	Error    string `json:"error"`
	// Header is the object's CSV header line, when it had one: a replay
	// reads the record's columns by it.
	Header string `json:"header,omitempty"`
}

// deadLetterKey is where the dead letters of one batch go: one object per
// batch, named by its first row, so a batch done again overwrites its own.
func deadLetterKey(pipelineID, key, version string, firstRow int64) string {
	return fmt.Sprintf("%s/%s/%s-%012d.jsonl", pipelineID, key, versionTag(version), firstRow)
}

func writeDeadLetters(ctx context.Context, b *objects.Bucket, key string, dl []DeadLetter) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range dl {
		if err := enc.Encode(&dl[i]); err != nil {
			return err
		}
	}
	if err := b.Write(ctx, key, &buf, "application/x-ndjson"); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return nil
}
