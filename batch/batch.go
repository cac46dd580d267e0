// Package batch predicts every record of a CSV stream and writes AML's
// batch-prediction columns. Input is cut into chunks at record boundaries;
// chunks are parsed and predicted on every core and written back in order,
// so the output has one row per input record, in the same order.
//
// Records are read as data.CSVReader reads them: the same fields, missing
// values, blank lines, size limit and errors, with errors naming lines of
// the whole input.
package batch

import (
	"bufio"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

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
	// NoTarget says the input is unlabelled: its records lack the model's
	// target column (they have one field fewer, the others in schema
	// order), and the output has no trueLabel column. With Header, a
	// header naming every attribute but the target sets it.
	NoTarget bool
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
func Columns(m *model.Model) []string { return columns(m, false) }

func columns(m *model.Model, noTarget bool) []string {
	var cols []string
	switch m.Type {
	case perch.BinaryModel:
		cols = []string{"bestAnswer", "score"}
	case perch.MulticlassModel:
		cols = append(cols, m.Classes...)
	default:
		cols = []string{"score"}
	}
	if m.Schema.Target() >= 0 && !noTarget {
		cols = append(cols, "trueLabel")
	}
	if m.Schema.RowID != nil && *m.Schema.RowID != "" {
		cols = append(cols, "tag")
	}
	return cols
}

// Run reads CSV records from r, predicts each with p, and writes a CSV of
// predictions with a header line to w. A record that cannot be read gets
// empty columns and is counted in Result.Invalid; a header that does not
// match the model's schema, or a read or write error, ends the run.
func Run(p *model.Predictor, r io.Reader, w io.Writer, opt Options) (Result, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = 1 << 20
	}
	m := p.Model()
	if m.Schema.Target() < 0 {
		opt.NoTarget = false
	}
	var sp *splitter
	var inPool sync.Pool
	sp = newSplitter(r, opt.ChunkBytes, perch.MaxRecordBytes, &inPool)
	if opt.Header {
		h, line, err := sp.header()
		if err != nil {
			return Result{}, err
		}
		noTarget, err := checkHeader(h, line, m.Schema)
		if err != nil {
			return Result{}, err
		}
		opt.NoTarget = noTarget
	}
	sh := newShared(p, opt)
	sh.inPool = &inPool
	bw := bufio.NewWriterSize(w, 64<<10)
	writeHeader(bw, m, opt.NoTarget)

	// Chunks flow splitter → workers → writer; the writer waits on each
	// chunk in sequence, so output order is input order.
	work := make(chan *chunk, opt.Workers)
	order := make(chan *chunk, opt.Workers*2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := newWorker(sh)
			for c := range work {
				wk.process(c)
				close(c.ready)
			}
		}()
	}
	var readErr error
	go func() {
		defer close(work)
		defer close(order)
		for {
			c, err := sp.next()
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				return
			}
			c.ready = make(chan struct{})
			select {
			case <-stop:
				return
			default:
			}
			select {
			case order <- c:
			case <-stop:
				return
			}
			work <- c
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
			if _, writeErr = bw.Write(c.out); writeErr != nil {
				close(stop)
			}
		}
		sh.putOut(c.out)
	}
	wg.Wait()
	if writeErr != nil {
		return res, writeErr
	}
	if readErr != nil {
		return res, readErr
	}
	return res, bw.Flush()
}

func writeHeader(w *bufio.Writer, m *model.Model, noTarget bool) {
	for i, c := range columns(m, noTarget) {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(appendCSV(nil, c))
	}
	w.WriteByte('\n')
}

// checkHeader checks the header record h, which began on line line, against
// the schema's attribute names, with or without the target's: noTarget
// says it is without.
func checkHeader(h string, line int, s *perch.Schema) (noTarget bool, err error) {
	rd, off := subReader(h, line, data.Options{Header: true, Fields: -1})
	names, err := rd.Header()
	if err != nil {
		return false, perch.Errorf(perch.EInvalid, "header: %s", globalError(err, off))
	}
	want := make([]string, 0, len(s.Attributes))
	for _, a := range s.Attributes {
		want = append(want, a.Name)
	}
	if t := s.Target(); t >= 0 && len(names) == len(want)-1 {
		want = append(want[:t:t], want[t+1:]...)
		noTarget = true
	}
	if len(names) != len(want) {
		return false, perch.Errorf(perch.EInvalid, "line %d: header has %d columns, the model's schema has %d", line, len(names), len(s.Attributes))
	}
	for i, n := range names {
		if n != want[i] {
			return false, perch.Errorf(perch.EInvalid, "line %d: header column %d is %q, the model's schema says %q", line, i+1, n, want[i])
		}
	}
	return noTarget, nil
}

// subReader returns a reader of text, the records of the input from line
// line on, and what to add to its line numbers to make them the input's.
// A reader drops a byte order mark where its input starts, which only the
// input's first line may have, so other text starting with one is read
// after a blank line.
func subReader(text string, line int, opt data.Options) (*data.CSVReader, int) {
	off := line - 1
	if line > 1 && strings.HasPrefix(text, bom) {
		text = "\n" + text
		off--
	}
	return data.NewCSVReader(strings.NewReader(text), opt), off
}

// globalError returns err's message with its line made a line of the whole
// input, off lines after the reader's.
func globalError(err error, off int) string {
	if pe, ok := err.(*data.ParseError); ok {
		e := *pe
		e.Line += off
		return e.Error()
	}
	return err.Error()
}

// shared is what a run's workers share.
type shared struct {
	p       *model.Predictor
	m       *model.Model
	opt     Options
	names   []string
	missing []string // markers read as missing, besides ""
	target  int
	skip    int // the target's column when the input lacks it, else -1
	rowID   int
	width   int
	blank   []byte     // the output of a record that could not be read
	inPool  *sync.Pool // the splitter's chunk buffers, returned after processing
	outPool sync.Pool
}

func newShared(p *model.Predictor, opt Options) *shared {
	m := p.Model()
	sh := &shared{p: p, m: m, opt: opt, target: m.Schema.Target(), skip: -1, rowID: -1, width: p.Width()}
	if opt.NoTarget {
		sh.skip = sh.target
	}
	for _, a := range m.Schema.Attributes {
		sh.names = append(sh.names, a.Name)
	}
	missing := opt.Missing
	if missing == nil {
		missing = data.DefaultMissing
	}
	for _, v := range missing {
		if v != "" {
			sh.missing = append(sh.missing, v)
		}
	}
	if m.Schema.RowID != nil && *m.Schema.RowID != "" {
		sh.rowID = m.Schema.Index(*m.Schema.RowID)
	}
	if n := len(columns(m, opt.NoTarget)); n > 1 {
		sh.blank = append([]byte(strings.Repeat(",", n-1)), '\n')
	} else {
		sh.blank = []byte("\"\"\n") // not a blank line, which readers skip
	}
	return sh
}

func (sh *shared) getOut(size int) []byte {
	if b, ok := sh.outPool.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

func (sh *shared) putOut(b []byte) {
	if cap(b) > 0 {
		sh.outPool.Put(&b)
	}
}

// worker is one worker's reusable state.
type worker struct {
	*shared
	fields []string
	scores []float64
}

func newWorker(sh *shared) *worker {
	return &worker{shared: sh, fields: make([]string, sh.width), scores: make([]float64, sh.p.Outputs())}
}

// process reads, predicts and writes the records of c.
func (wk *worker) process(c *chunk) {
	if c.tooLong {
		c.out = append(wk.getOut(len(wk.blank)), wk.blank...)
		wk.fail(c, &data.ParseError{Line: c.line, Err: errTooLong}, 0)
		return
	}
	// The chunk is read in place: nothing made from s outlives this call
	// (fields are predicted and written out, errors are formatted anew),
	// so its buffer goes back to the pool when the call returns.
	in := c.in
	s := unsafe.String(unsafe.SliceData(in), len(in))
	c.in = nil
	defer wk.inPool.Put(&in)
	out := wk.getOut(len(s)/3 + 256)
	line := c.line
	for p := 0; p < len(s); {
		l, next := s[p:], len(s)
		if i := strings.IndexByte(l, '\n'); i >= 0 {
			l, next = l[:i], p+i+1
		}
		l = strings.TrimSuffix(l, "\r")
		if line == 1 {
			l = strings.TrimPrefix(l, bom)
		}
		if wk.split(l) {
			c.res.Records++
			out = wk.appendRow(out, wk.fields)
			p, line = next, line+1
			continue
		}
		if blank(l) {
			p, line = next, line+1
			continue
		}
		// A record with quotes or errors: the reader's own.
		end, lines := recordEnd(s, p, line)
		out = wk.slow(c, out, s[p:end], line)
		p, line = end, line+lines
	}
	c.out = out
}

// split splits a line that has no quotes and is not over the size limit
// into wk.fields, trimmed, with missing values as "", as data.CSVReader
// does. It reports false for any other line, and for one that does not
// have the schema's number of fields.
func (wk *worker) split(l string) bool {
	if len(l) > perch.MaxRecordBytes || strings.IndexByte(l, '"') >= 0 || blank(l) {
		return false
	}
	f := wk.fields
	n := 0
	for {
		if n == wk.skip {
			f[n] = "" // unlabelled input: the target is missing
			n++
		}
		if n == len(f) {
			return false
		}
		v := l
		i := strings.IndexByte(l, ',')
		if i >= 0 {
			v = l[:i]
		}
		v = trimSpace(v)
		if v != "" {
			for _, m := range wk.missing {
				if v == m {
					v = ""
					break
				}
			}
		}
		f[n] = v
		n++
		if i < 0 {
			if n == wk.skip && n == len(f)-1 {
				f[n] = ""
				n++
			}
			return n == len(f)
		}
		l = l[i+1:]
	}
}

// slow reads the records of text, which began on line line, with a
// data.CSVReader.
func (wk *worker) slow(c *chunk, out []byte, text string, line int) []byte {
	width, names := wk.width, wk.names
	if wk.skip >= 0 {
		width, names = width-1, slices.Delete(slices.Clone(names), wk.skip, wk.skip+1)
	}
	rd, off := subReader(text, line, data.Options{Fields: width, Names: names, Missing: wk.opt.Missing})
	for {
		fields, err := rd.Read()
		if err == nil && wk.skip >= 0 {
			fields = slices.Insert(fields, wk.skip, "")
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, wk.blank...)
			wk.fail(c, err, off)
			continue
		}
		c.res.Records++
		out = wk.appendRow(out, fields)
	}
}

// fail counts a record that could not be read.
func (wk *worker) fail(c *chunk, err error, off int) {
	c.res.Records++
	c.res.Invalid++
	if len(c.res.Errors) < maxErrors {
		c.res.Errors = append(c.res.Errors, globalError(err, off))
	}
}

// appendRow predicts fields and writes the output row. The label is chosen
// as model.Predictor.Predict chooses it; Score alone skips the checks of
// numeric values that the output has no column for.
func (wk *worker) appendRow(b []byte, fields []string) []byte {
	sc := wk.scores
	wk.p.Score(fields, sc)
	switch wk.m.Type {
	case perch.BinaryModel:
		c := 0
		if sc[0] >= wk.m.ScoreThreshold {
			c = 1
		}
		b = append(b, wk.m.Classes[c]...)
		b = append(b, ',')
		b = AppendScore(b, sc[0])
	case perch.MulticlassModel:
		for i, v := range sc {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendScore(b, v)
		}
	default:
		b = AppendScore(b, sc[0])
	}
	if wk.target >= 0 && wk.skip < 0 {
		b = append(b, ',')
		b = appendCSV(b, fields[wk.target])
	}
	if wk.rowID >= 0 {
		b = append(b, ',')
		b = appendCSV(b, fields[wk.rowID])
	}
	return append(b, '\n')
}

// AppendScore writes x the way AML's batch output did: the shortest
// decimal that reads back as the same float32, in scientific notation with
// a bare exponent (8.944209E-1, 1E0, 5E-7).
func AppendScore(b []byte, x float64) []byte {
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], x, 'E', -1, 32)
	e := len(s) - 1
	for e >= 0 && s[e] != 'E' {
		e--
	}
	if e < 0 || e+2 >= len(s) { // NaN, ±Inf
		return append(b, s...)
	}
	// strconv writes E-01 or E+00; AML wrote E-1 and E0.
	b = append(b, s[:e+1]...)
	if s[e+1] == '-' {
		b = append(b, '-')
	}
	d := s[e+2:]
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	return append(b, d...)
}

// appendCSV writes s as a CSV field, quoting it when a reader would not
// read it back as s.
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
	return s != "" && (isSpace(s[0]) || isSpace(s[len(s)-1]))
}

const bom = "\xEF\xBB\xBF"

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// blank reports whether a line holds no record: it is empty or only
// spaces and tabs.
func blank[T string | []byte](l T) bool {
	for i := 0; i < len(l); i++ {
		if !isSpace(l[i]) {
			return false
		}
	}
	return true
}
