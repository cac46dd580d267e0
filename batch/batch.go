// Package batch predicts every record of a CSV stream and writes AML's
// batch-prediction columns. Input is cut into chunks at record boundaries;
// chunks are parsed and predicted on every core and written back in order,
// so the output has one row per input row, in the same order.
package batch

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strconv"
	"sync"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/model"
)

// Options control a batch run.
type Options struct {
	// Header says the input's first line names its columns. The columns
	// must then be the model's schema attributes, in order.
	Header bool
	// Workers is how many chunks are predicted at once; 0 means GOMAXPROCS.
	Workers int
	// ChunkBytes is the size of the pieces the input is cut into; 0 means 1 MiB.
	ChunkBytes int
	// Missing are the values read as missing; nil means data.DefaultMissing.
	Missing []string
}

// Result counts what a run saw.
type Result struct {
	Records int64 `json:"totalRecordCount"`
	Invalid int64 `json:"invalidRecordCount"`
	// Errors holds the first few records that could not be read, each
	// naming its line; such records get empty output columns.
	Errors []string `json:"errors,omitempty"`
}

const maxErrors = 10

// Columns returns the header of the output: AML's bestAnswer,score for
// BINARY; one column per class for MULTICLASS; score for REGRESSION; then
// trueLabel when the input carries the target and tag when the schema has
// a rowId.
func Columns(m *model.Model) []string {
	var cols []string
	switch m.Type {
	case perch.BinaryModel:
		cols = []string{"bestAnswer", "score"}
	case perch.MulticlassModel:
		cols = append(cols, m.Classes...)
	default:
		cols = []string{"score"}
	}
	if m.Schema.Target() >= 0 {
		cols = append(cols, "trueLabel")
	}
	if m.Schema.RowID != nil && *m.Schema.RowID != "" {
		cols = append(cols, "tag")
	}
	return cols
}

type chunk struct {
	seq   int
	line  int // line number of the chunk's first line
	in    []byte
	out   []byte
	res   Result
	ready chan struct{}
}

// Run reads CSV records from r, predicts each with p, and writes a CSV of
// predictions with a header line to w.
func Run(p *model.Predictor, r io.Reader, w io.Writer, opt Options) (Result, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = 1 << 20
	}
	m := p.Model()
	br := bufio.NewReaderSize(r, 1<<16)
	bw := bufio.NewWriterSize(w, 1<<16)
	line := 1
	if opt.Header {
		h, err := readRecordBytes(br)
		if err != nil && !(errors.Is(err, io.EOF) && len(h) > 0) {
			if errors.Is(err, io.EOF) {
				return Result{}, perch.Errorf(perch.EInvalid, "input is empty")
			}
			return Result{}, err
		}
		if err := checkHeader(h, m.Schema); err != nil {
			return Result{}, err
		}
		line += bytes.Count(h, []byte{'\n'})
	}
	writeHeader(bw, m)

	// Chunks flow reader → workers → writer; the writer waits on each
	// chunk in sequence, so output order is input order.
	work := make(chan *chunk, opt.Workers)
	order := make(chan *chunk, opt.Workers*2)
	var wg sync.WaitGroup
	for i := 0; i < opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := newPredictRun(p, opt)
			for c := range work {
				pr.process(c)
				close(c.ready)
			}
		}()
	}
	var readErr error
	go func() {
		defer close(work)
		defer close(order)
		seq := 0
		for {
			in, err := readChunk(br, opt.ChunkBytes)
			if len(in) > 0 {
				c := &chunk{seq: seq, line: line, in: in, ready: make(chan struct{})}
				line += bytes.Count(in, []byte{'\n'})
				seq++
				order <- c
				work <- c
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
		}
	}()
	var res Result
	var writeErr error
	for c := range order {
		<-c.ready
		res.Records += c.res.Records
		res.Invalid += c.res.Invalid
		for _, e := range c.res.Errors {
			if len(res.Errors) < maxErrors {
				res.Errors = append(res.Errors, e)
			}
		}
		if writeErr == nil {
			_, writeErr = bw.Write(c.out)
		}
	}
	wg.Wait()
	if readErr != nil {
		return res, readErr
	}
	if writeErr != nil {
		return res, writeErr
	}
	return res, bw.Flush()
}

func writeHeader(w *bufio.Writer, m *model.Model) {
	for i, c := range Columns(m) {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(appendCSV(nil, c))
	}
	w.WriteByte('\n')
}

func checkHeader(h []byte, s *perch.Schema) error {
	rd := data.NewCSVReader(bytes.NewReader(h), data.Options{Fields: -1, Missing: []string{}})
	names, err := rd.Read()
	if err != nil {
		return perch.Errorf(perch.EInvalid, "header: %v", err)
	}
	if len(names) != len(s.Attributes) {
		return perch.Errorf(perch.EInvalid, "line 1: header has %d columns, the model's schema has %d", len(names), len(s.Attributes))
	}
	for i, n := range names {
		if n != s.Attributes[i].Name {
			return perch.Errorf(perch.EInvalid, "line 1: header column %d is %q, the model's schema says %q", i+1, n, s.Attributes[i].Name)
		}
	}
	return nil
}

// readRecordBytes reads one record: up to a newline outside quotes.
func readRecordBytes(br *bufio.Reader) ([]byte, error) {
	var rec []byte
	quoted := false
	for {
		b, err := br.ReadSlice('\n')
		rec = append(rec, b...)
		quoted = quoteState(quoted, b)
		if err == bufio.ErrBufferFull || (err == nil && quoted) {
			continue
		}
		return rec, err
	}
}

// readChunk reads about size bytes, ending at a newline that is not inside
// a quoted field, so every chunk holds whole records.
func readChunk(br *bufio.Reader, size int) ([]byte, error) {
	buf := make([]byte, 0, size+4096)
	quoted := false
	for {
		b, err := br.ReadSlice('\n')
		buf = append(buf, b...)
		quoted = quoteState(quoted, b)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, err
		}
		if !quoted && len(buf) >= size {
			return buf, nil
		}
	}
}

// quoteState returns whether a quoted field is still open after b, given
// that one was open before it. Doubled quotes toggle twice, so counting
// quote bytes is enough.
func quoteState(open bool, b []byte) bool {
	for {
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			return open
		}
		open = !open
		b = b[i+1:]
	}
}

// predictRun is one worker's reusable state.
type predictRun struct {
	p      *model.Predictor
	m      *model.Model
	opt    Options
	pred   perch.Prediction
	target int
	rowID  int
	width  int
	blank  []byte // the output of a record that could not be read
}

func newPredictRun(p *model.Predictor, opt Options) *predictRun {
	m := p.Model()
	pr := &predictRun{p: p, m: m, opt: opt, target: m.Schema.Target(), rowID: -1, width: p.Width()}
	if m.Schema.RowID != nil {
		pr.rowID = m.Schema.Index(*m.Schema.RowID)
	}
	n := len(Columns(m))
	pr.blank = append(bytes.Repeat([]byte{','}, n-1), '\n')
	return pr
}

func (pr *predictRun) process(c *chunk) {
	rd := data.NewCSVReader(bytes.NewReader(c.in), data.Options{Fields: -1, Missing: pr.opt.Missing})
	out := make([]byte, 0, len(c.in)/2+64)
	for {
		fields, err := rd.Read()
		if err == io.EOF {
			break
		}
		c.res.Records++
		if err == nil && len(fields) != pr.width {
			err = perch.Errorf(perch.EInvalid, "record has %d fields, want %d", len(fields), pr.width)
		}
		if err != nil {
			c.res.Invalid++
			if len(c.res.Errors) < maxErrors {
				c.res.Errors = append(c.res.Errors, "line "+strconv.Itoa(c.line+rd.Line()-1)+": "+trimLine(err.Error()))
			}
			out = append(out, pr.blank...)
			var pe *data.ParseError
			if errors.As(err, &pe) || perch.Code(err) == perch.EInvalid {
				continue
			}
			break
		}
		pr.p.Predict(fields, &pr.pred)
		out = pr.appendRow(out, fields)
	}
	c.out = out
	c.in = nil
}

// trimLine drops a reader's own "line N" prefix: the chunk's reader counts
// lines from the chunk, and the caller names the line in the whole input.
func trimLine(msg string) string {
	if len(msg) > 5 && msg[:5] == "line " {
		for i := 5; i < len(msg); i++ {
			if msg[i] == ':' || msg[i] == ',' {
				j := i + 1
				for j < len(msg) && msg[j] == ' ' {
					j++
				}
				return msg[j:]
			}
			if msg[i] < '0' || msg[i] > '9' {
				break
			}
		}
	}
	return msg
}

func (pr *predictRun) appendRow(b []byte, fields []string) []byte {
	pred := &pr.pred
	switch pr.m.Type {
	case perch.BinaryModel:
		b = append(b, pred.Label...)
		b = append(b, ',')
		b = AppendScore(b, pred.Scores[0].Value)
	case perch.MulticlassModel:
		for i, s := range pred.Scores {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendScore(b, s.Value)
		}
	default:
		b = AppendScore(b, pred.Value)
	}
	if pr.target >= 0 {
		b = append(b, ',')
		b = appendCSV(b, fields[pr.target])
	}
	if pr.rowID >= 0 {
		b = append(b, ',')
		b = appendCSV(b, fields[pr.rowID])
	}
	return append(b, '\n')
}

// AppendScore writes x the way AML's batch output did: seven significant
// digits in scientific notation with a bare exponent (8.944209E-1).
func AppendScore(b []byte, x float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, x, 'E', -1, 32)
	// strconv writes E-01 or E+00; AML wrote E-1 and E0.
	e := bytes.LastIndexByte(b[start:], 'E')
	if e < 0 {
		return b
	}
	e += start + 1
	j := e
	if b[j] == '+' {
		b = append(b[:j], b[j+1:]...)
	} else if b[j] == '-' {
		j++
	}
	for j < len(b)-1 && b[j] == '0' {
		b = append(b[:j], b[j+1:]...)
	}
	return b
}

// appendCSV writes s as a CSV field, quoting it when it needs quotes.
func appendCSV(b []byte, s string) []byte {
	if !needsQuote(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			return true
		}
	}
	return s != "" && (s[0] == ' ' || s[len(s)-1] == ' ')
}
