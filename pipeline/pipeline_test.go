package pipeline

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/internal/testdb"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/sqlstore"
)

var (
	adultOnce sync.Once
	adultPred *model.Predictor
	adultErr  error
)

// adult returns a model trained on the first rows of the Adult data, by
// the default algorithm or the one PERCH_PIPELINE_ALGORITHM names.
func adult(t testing.TB) *model.Predictor {
	t.Helper()
	adultOnce.Do(func() {
		b, err := examples.ReadAll("adult/train.csv")
		if err != nil {
			adultErr = err
			return
		}
		b = head(b, 3001)
		s, err := data.InferSchema(bytes.NewReader(b), data.InferOptions{Target: "income"})
		if err != nil {
			adultErr = err
			return
		}
		s.DataFileContainsHeader = true
		tab, err := data.Load(bytes.NewReader(b), s, nil, data.Options{Header: true})
		if err != nil {
			adultErr = err
			return
		}
		var params map[string]string
		if alg := os.Getenv("PERCH_PIPELINE_ALGORITHM"); alg != "" {
			params = map[string]string{"algorithm": alg}
		}
		m, err := learn.Train(tab, learn.Options{Type: perch.BinaryModel, Params: params})
		if err != nil {
			adultErr = err
			return
		}
		adultPred, adultErr = model.Compile(m)
	})
	if adultErr != nil {
		t.Fatal(adultErr)
	}
	return adultPred
}

// head returns the first n lines of b.
func head(b []byte, n int) []byte {
	end := 0
	for i := 0; i < n && end < len(b); i++ {
		j := bytes.IndexByte(b[end:], '\n')
		if j < 0 {
			return b
		}
		end += j + 1
	}
	return b[:end]
}

// testRows returns the Adult test data's header and first n records.
func testRows(t testing.TB, n int) []byte {
	t.Helper()
	b, err := examples.ReadAll("adult/test.csv")
	if err != nil {
		t.Fatal(err)
	}
	return head(b, n+1)
}

// malformed are three records no reader takes, each on its own line.
const malformed = "1, 2, 3\n" +
	"25, Pri\"vate, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States\n" +
	"38, Private, 89814, HS-grad, 9, Married-civ-spouse, Farming-fishing, Husband, White, Male, 0, 0, 50, United-States, <=50K, extra\n"

func readAll(t *testing.T, in, key, format string) (good, bad []Record) {
	t.Helper()
	rd, err := NewReader(strings.NewReader(in), key, format, adult(t).Model().Schema)
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Err != nil {
			bad = append(bad, r)
		} else {
			good = append(good, r)
		}
	}
}

func TestReader(t *testing.T) {
	s := adult(t).Model().Schema
	rec := "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States"
	header := "age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,capital_gain,capital_loss,hours_per_week,native_country"

	// With the target, without it, with a header in another order.
	good, bad := readAll(t, rec+", <=50K\n"+rec+"\n", "a.csv", "csv")
	if len(good) != 2 || len(bad) != 0 {
		t.Fatalf("good %d bad %v", len(good), bad)
	}
	if good[0].Fields[s.Target()] != "<=50K" || good[1].Fields[s.Target()] != "" || good[1].Fields[13] != "United-States" {
		t.Errorf("fields %q / %q", good[0].Fields, good[1].Fields)
	}
	good, _ = readAll(t, "native_country,age\r\nPeru,33\n\n\"Cuba\",\"4\n\"\n", "a.csv", "csv")
	if len(good) != 2 || good[0].Fields[0] != "33" || good[0].Fields[13] != "Peru" || good[1].Line != 4 || good[1].Fields[0] != "4\n" {
		t.Errorf("reordered header: %+v", good)
	}
	// Malformed records are refused one by one, naming their lines.
	good, bad = readAll(t, header+"\n"+rec+"\n"+malformed+rec+"\n", "a.csv", "csv")
	if len(good) != 2 || len(bad) != 3 {
		t.Fatalf("good %d, bad %d: %+v", len(good), len(bad), bad)
	}
	for i, b := range bad {
		if b.Line != 3+i || b.Row != int64(2+i) || !strings.Contains(b.Err.Error(), "line ") || b.Raw != strings.Split(malformed, "\n")[i] {
			t.Errorf("bad record %d: %+v", i, b)
		}
	}
	if good[1].Line != 6 || good[1].Row != 5 {
		t.Errorf("record after the bad ones: line %d row %d", good[1].Line, good[1].Row)
	}
	// An unterminated quote runs to the end of the input.
	_, bad = readAll(t, rec+"\n\"open, 1\n2\n", "a.csv", "csv")
	if len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Raw, "\n2") {
		t.Errorf("unterminated: %+v", bad)
	}
	// A header naming no attribute fails the object.
	rd, _ := NewReader(strings.NewReader("age,salary\n1,2\n"), "a.csv", "csv", s)
	if _, err := rd.Next(); perch.Code(err) != perch.EInvalid {
		t.Errorf("bad header: %v", err)
	}

	// JSON Lines, gzipped.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"age": 31, "native_country": "Peru"}` + "\n\n" + `[1]` + "\n" + `{"age": "4"`))
	zw.Close()
	good, bad = readAll(t, z.String(), "in/a.jsonl.gz", Format("", "in/a.jsonl.gz"))
	if len(good) != 1 || good[0].Fields[0] != "31" || good[0].Fields[13] != "Peru" || len(bad) != 2 || bad[0].Line != 3 || bad[1].Line != 4 {
		t.Errorf("jsonl: good %+v bad %+v", good, bad)
	}
}

func TestQuoteOpen(t *testing.T) {
	for _, c := range []struct {
		line string
		open bool
		want bool
	}{
		{`a,b`, false, false},
		{`a,"b`, false, true},
		{`a, "b,c",d`, false, false},
		{`a,b"c,"d`, false, true},
		{`x",y`, true, false},
		{`x"",y`, true, true},
		{`"a"b,"c`, false, false},
		{`"a" ,"c`, false, true},
	} {
		if got := quoteOpen([]byte(c.line), c.open); got != c.want {
			t.Errorf("quoteOpen(%q, %v) = %v", c.line, c.open, got)
		}
	}
}

func TestCheck(t *testing.T) {
	good := perch.Pipeline{
		Model:      "m",
		Source:     perch.PipelineSource{Objects: "file:///srv/inbox"},
		Sinks:      []perch.PipelineSink{{SQL: &perch.SQLSink{URL: "sqlite:///srv/r.db", Table: "predictions"}}},
		DeadLetter: "file:///srv/dead",
	}
	if err := Check(&good); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(p *perch.Pipeline){
		"no model":   func(p *perch.Pipeline) { p.Model = "" },
		"no source":  func(p *perch.Pipeline) { p.Source.Objects = "" },
		"relative":   func(p *perch.Pipeline) { p.Source.Objects = "inbox" },
		"format":     func(p *perch.Pipeline) { p.Source.Format = "xml" },
		"no sinks":   func(p *perch.Pipeline) { p.Sinks = nil },
		"two in one": func(p *perch.Pipeline) { p.Sinks[0].Objects = &perch.ObjectSink{URL: "file:///o"} },
		"table":      func(p *perch.Pipeline) { p.Sinks[0].SQL.Table = "drop table x;" },
		"sql url":    func(p *perch.Pipeline) { p.Sinks[0].SQL.URL = "mysql://x" },
		"no dead":    func(p *perch.Pipeline) { p.DeadLetter = "" },
		"output loops": func(p *perch.Pipeline) {
			p.Sinks[0] = perch.PipelineSink{Objects: &perch.ObjectSink{URL: "file:///srv/inbox"}}
		},
		"object format": func(p *perch.Pipeline) {
			p.Sinks[0] = perch.PipelineSink{Objects: &perch.ObjectSink{URL: "file:///o", Format: "xls"}}
		},
		"two sources": func(p *perch.Pipeline) {
			p.Source.Stream = &perch.StreamSource{URL: "nats://h:4222", Subject: "s"}
		},
		"stream url": func(p *perch.Pipeline) {
			p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: "http://h", Subject: "s"}}
		},
		"subject": func(p *perch.Pipeline) {
			p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: "nats://h:4222", Subject: "a.>"}}
		},
		"http url": func(p *perch.Pipeline) { p.Sinks[0] = perch.PipelineSink{HTTP: &perch.HTTPSink{URL: "ftp://x"}} },
		"poll":     func(p *perch.Pipeline) { p.Source.Poll = "10ms" },
	} {
		p := good
		p.Sinks = []perch.PipelineSink{{SQL: &perch.SQLSink{URL: "sqlite:///srv/r.db", Table: "predictions"}}}
		change(&p)
		if err := Check(&p); perch.Code(err) != perch.EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// fileURL is the file:// URL of a local folder.
func fileURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

// env is a store, a model and folders for a pipeline.
type env struct {
	store  perch.Store
	engine *Engine
	dir    string
	p      *perch.Pipeline
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.Open(context.Background(), filepath.Join(dir, "perch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pred := adult(t)
	e := &env{store: st, dir: dir}
	e.engine = &Engine{Store: st, Predictor: func(context.Context, string) (*model.Predictor, error) { return pred, nil }}
	e.p = &perch.Pipeline{
		Meta:   perch.Meta{ID: "income", Status: perch.StatusCompleted},
		Model:  "m",
		Source: perch.PipelineSource{Objects: fileURL(filepath.Join(dir, "inbox"))},
		Sinks: []perch.PipelineSink{
			{SQL: &perch.SQLSink{URL: "sqlite://" + filepath.Join(dir, "results.db"), Table: "predictions"}},
			{Objects: &perch.ObjectSink{URL: fileURL(filepath.Join(dir, "outbox"))}},
		},
		DeadLetter: fileURL(filepath.Join(dir, "dead")),
		State:      perch.PipelineRunning,
	}
	if err := Check(e.p); err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePipeline(context.Background(), e.p); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"inbox", "outbox", "dead"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	return e
}

// drop writes an object into the inbox and returns its run, stored.
func (e *env) drop(t *testing.T, key string, b []byte) *perch.PipelineRun {
	t.Helper()
	path := filepath.Join(e.dir, "inbox", key)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bk, err := objects.Open(context.Background(), fileURL(filepath.Join(e.dir, "inbox")))
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	a, err := bk.Attributes(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	r := &perch.PipelineRun{Meta: perch.Meta{ID: RunID(e.p.ID, key, a.ETag)}, Pipeline: e.p.ID, Key: key, Version: a.ETag}
	if err := e.store.CreatePipelineRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// rows counts the results table's rows, and its distinct keys.
func (e *env) rows(t *testing.T) (n, distinct int) {
	t.Helper()
	n, distinct, err := e.count()
	if err != nil {
		t.Fatal(err)
	}
	return n, distinct
}

func (e *env) count() (n, distinct int, err error) {
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "results.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	err = db.QueryRow("SELECT count(*), count(DISTINCT pipeline || source_key || source_version || source_row) FROM predictions").Scan(&n, &distinct)
	return n, distinct, err
}

// deadLetters reads every dead letter.
func (e *env) deadLetters(t *testing.T) []DeadLetter {
	t.Helper()
	var out []DeadLetter
	filepath.WalkDir(filepath.Join(e.dir, "dead"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, _ := os.Open(p)
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var dl DeadLetter
			if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			out = append(out, dl)
		}
		return nil
	})
	return out
}

func TestRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.drop(t, "a.csv", append(testRows(t, 1000), malformed...))
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.GetPipelineRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != perch.StatusCompleted || got.Rows != 1003 || got.Predicted != 1000 || got.DeadLetters != 3 || len(got.Errors) != 3 || len(got.Output) != 1 {
		t.Errorf("run %+v", got)
	}
	if n, _ := e.rows(t); n != 1000 {
		t.Errorf("%d rows in the table", n)
	}
	dl := e.deadLetters(t)
	if len(dl) != 3 || dl[0].Line != 1002 || dl[2].Line != 1004 || dl[0].Object != "a.csv" || dl[0].Raw != "1, 2, 3" {
		t.Errorf("dead letters %+v", dl)
	}
	out, err := os.ReadFile(filepath.Join(e.dir, "outbox", "a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1001 || !strings.HasPrefix(lines[0], "source_row,source_line,age,") || !strings.HasSuffix(lines[0], ",predicted_label,predicted_original_label,score,invalid_attributes") {
		t.Errorf("output: %d lines, header %s", len(lines), lines[0])
	}
	// A run done is not done again.
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rows(t); n != 1000 {
		t.Errorf("%d rows after a second run", n)
	}
}

// stopAfter is a store whose run updates cancel a context after n.
type stopAfter struct {
	perch.Store
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) UpdatePipelineRun(ctx context.Context, id string, fn func(*perch.PipelineRun) error) (*perch.PipelineRun, error) {
	s.n--
	if s.n == 0 {
		s.cancel()
	}
	return s.Store.UpdatePipelineRun(ctx, id, fn)
}

// TestResume stops runs part way, again and again, as a crash would,
// and checks that the run resumes and writes every result once, into
// SQLite and PostgreSQL.
func TestResume(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testResume(t, "") })
	t.Run("postgres", func(t *testing.T) { testResume(t, testdb.Postgres(t)) })
}

func testResume(t *testing.T, dsn string) {
	e := newEnv(t)
	if dsn != "" {
		e.p.Sinks[0].SQL.URL = dsn
		if _, err := e.store.UpdatePipeline(context.Background(), e.p.ID, func(p *perch.Pipeline) error {
			p.Sinks = e.p.Sinks
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.engine.BatchRows = 100
	r := e.drop(t, "a.csv.gz", gz(append(testRows(t, 1000), malformed...)))
	for i := 0; ; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		eng := *e.engine
		eng.Store = &stopAfter{Store: e.store, n: 4, cancel: cancel}
		err := eng.Run(ctx, r.ID, 1)
		cancel()
		got, gerr := e.store.GetPipelineRun(context.Background(), r.ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if err == nil {
			if got.Status != perch.StatusCompleted || got.Predicted != 1000 || got.DeadLetters != 3 {
				t.Errorf("run %+v", got)
			}
			if i < 3 {
				t.Errorf("finished after %d stops", i)
			}
			break
		}
		if got.Status != perch.StatusPending || got.Rows%100 != 0 {
			t.Fatalf("stopped run: %+v", got)
		}
		if i > 20 {
			t.Fatal("the run does not get anywhere")
		}
	}
	if dsn == "" {
		if n, distinct := e.rows(t); n != 1000 || distinct != 1000 {
			t.Errorf("%d rows, %d distinct", n, distinct)
		}
	} else {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n, distinct int
		if err := db.QueryRow("SELECT count(*), count(DISTINCT (source_key, source_version, source_row)) FROM predictions").Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != 1000 || distinct != 1000 {
			t.Errorf("%d rows, %d distinct", n, distinct)
		}
	}
	if dl := e.deadLetters(t); len(dl) != 3 {
		t.Errorf("%d dead letters", len(dl))
	}
	out, _ := os.ReadFile(filepath.Join(e.dir, "outbox", "a.csv"))
	if n := bytes.Count(out, []byte("\n")); n != 1001 {
		t.Errorf("output has %d lines", n)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestWatch drops objects into a watched folder: each version is run
// once.
func TestWatch(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	runs := map[string]int{}
	w := &Watcher{Engine: e.engine, Poll: 20 * time.Millisecond, Enqueue: func(ctx context.Context, id string, attempt int) error {
		mu.Lock()
		runs[id]++
		mu.Unlock()
		return e.engine.Run(ctx, id, attempt)
	}}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	in := filepath.Join(e.dir, "inbox")
	os.WriteFile(filepath.Join(in, "a.csv"), testRows(t, 10), 0o600)
	os.WriteFile(filepath.Join(in, ".b.csv.partial"), testRows(t, 10), 0o600)
	waitRows(t, e, 10)
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(in, "a.csv"), testRows(t, 20), 0o600) // a new version
	waitRows(t, e, 30)
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 2 {
		t.Errorf("runs %v", runs)
	}
	for id, n := range runs {
		if n != 1 {
			t.Errorf("run %s enqueued %d times", id, n)
		}
	}
}

// TestWatchStalledCopy writes a file in two halves with a pause longer
// than the settle time between them: it is predicted once, whole.
func TestWatchStalledCopy(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	const settle = 200 * time.Millisecond
	var mu sync.Mutex
	var runs []string
	w := &Watcher{Engine: e.engine, Poll: 20 * time.Millisecond, Settle: settle, Enqueue: func(ctx context.Context, id string, attempt int) error {
		mu.Lock()
		runs = append(runs, id)
		mu.Unlock()
		return e.engine.Run(ctx, id, attempt)
	}}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)

	b := testRows(t, 100)
	f, err := os.Create(filepath.Join(e.dir, "inbox", "slow.csv"))
	if err != nil {
		t.Fatal(err)
	}
	half := len(b) / 2
	f.Write(b[:half])
	time.Sleep(settle * 3 / 2) // the copy stalls
	f.Write(b[half:])
	f.Close()
	waitRows(t, e, 100)
	time.Sleep(2 * settle)
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 1 {
		t.Fatalf("%d runs: %v", len(runs), runs)
	}
	r, err := e.store.GetPipelineRun(ctx, runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != perch.StatusCompleted || r.Predicted != 100 || r.DeadLetters != 0 {
		t.Errorf("run %+v", r)
	}
	if n, distinct := e.rows(t); n != 100 || distinct != 100 {
		t.Errorf("%d rows, %d distinct", n, distinct)
	}
}

// TestWatchFutureModTime takes a file whose modification time is ahead
// of the clock once two listings agree on it.
func TestWatchFutureModTime(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{Engine: e.engine, Poll: 20 * time.Millisecond, Enqueue: e.engine.Run}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	path := filepath.Join(e.dir, "inbox", "ahead.csv")
	tmp := filepath.Join(e.dir, "ahead.csv")
	os.WriteFile(tmp, testRows(t, 10), 0o600)
	ahead := time.Now().Add(time.Hour)
	if err := os.Chtimes(tmp, ahead, ahead); err != nil {
		t.Fatal(err)
	}
	os.Rename(tmp, path)
	waitRows(t, e, 10)
}

func waitRows(t *testing.T, e *env, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _, err := e.count()
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows, want %d (%v)", n, want, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSQLSinkRewrite writes batches again into both dialects: rows stay
// one per key, also when a batch copied straight into PostgreSQL meets
// rows already there.
func TestSQLSinkRewrite(t *testing.T) {
	pred := adult(t)
	rd, err := NewReader(bytes.NewReader(testRows(t, 30)), "a.csv", "csv", pred.Model().Schema)
	if err != nil {
		t.Fatal(err)
	}
	var rs []Result
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		rs = append(rs, Result{Record: rec})
		pred.Predict(rec.Fields, &rs[len(rs)-1].Prediction)
	}
	for name, dsn := range map[string]func() string{
		"sqlite":   func() string { return "sqlite://" + filepath.Join(t.TempDir(), "r.db") },
		"postgres": func() string { return testdb.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := openSQLSink(ctx, &perch.SQLSink{URL: dsn(), Table: "predictions"}, NewLayout(pred.Model()), "p", "a.csv", "v1")
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			for _, b := range [][]Result{rs[:10], rs[10:20], rs[:15], rs[5:30]} {
				if err := s.write(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			var score float64
			var label string
			if err := s.db.QueryRow("SELECT count(*) FROM predictions").Scan(&n); err != nil || n != 30 {
				t.Errorf("%d rows (%v)", n, err)
			}
			if err := s.db.QueryRow("SELECT predicted_original_label, score FROM predictions WHERE source_row = 3").Scan(&label, &score); err != nil || label != rs[2].Prediction.Original || score != rs[2].Prediction.Scores[0].Value {
				t.Errorf("row 3: %s %v (%v)", label, score, err)
			}
			// Moved to another key (a stream's partition), a sink writes
			// that key's rows, also through the statement it prepared.
			s.perStmt = 10
			if err := s.write(ctx, rs[:10]); err != nil || s.stmt == nil && !s.postgres {
				t.Fatalf("%v (statement %v)", err, s.stmt)
			}
			s.setKey("a.csv/1")
			if err := s.write(ctx, rs[:20]); err != nil {
				t.Fatal(err)
			}
			if err := s.db.QueryRow("SELECT count(*) FROM predictions WHERE source_key = 'a.csv/1'").Scan(&n); err != nil || n != 20 {
				t.Errorf("%d rows of the new key (%v)", n, err)
			}
			if err := s.db.QueryRow("SELECT count(*) FROM predictions").Scan(&n); err != nil || n != 50 {
				t.Errorf("%d rows (%v)", n, err)
			}
		})
	}
}

// TestAbandoned finds a run left INPROGRESS by a server that stopped: it
// moves on to its next attempt, which alone may work it.
func TestAbandoned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.drop(t, "a.csv", testRows(t, 10))
	if _, err := e.store.UpdatePipelineRun(ctx, r.ID, func(r *perch.PipelineRun) error {
		r.Status = perch.StatusInProgress
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []int
	w := &Watcher{Engine: e.engine, Enqueue: func(_ context.Context, id string, attempt int) error {
		got = append(got, attempt)
		return nil
	}}
	if err := w.sweep(ctx, time.Minute); err != nil || len(got) != 1 || got[0] != 1 {
		t.Fatalf("a live run: enqueued %v (%v)", got, err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := w.sweep(ctx, 10*time.Millisecond); err != nil || len(got) != 2 || got[1] != 2 {
		t.Fatalf("an abandoned run: enqueued %v (%v)", got, err)
	}
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := e.count(); n != 0 {
		t.Errorf("the superseded attempt wrote %d rows", n)
	}
	if err := e.engine.Run(ctx, r.ID, 2); err != nil {
		t.Fatal(err)
	}
	run, _ := e.store.GetPipelineRun(ctx, r.ID)
	if run.Status != perch.StatusCompleted || run.Attempt != 2 || run.Predicted != 10 {
		t.Errorf("run %+v", run)
	}
}

// TestReplay fixes a dead letter in place and replays: it reaches the
// sinks under its own row, the others stay dead letters.
func TestReplay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.drop(t, "a.csv", append(testRows(t, 100), malformed...))
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	res, err := e.engine.Replay(ctx, e.p)
	if err != nil || res.Objects != 1 || res.Replayed != 0 || res.Remaining != 3 {
		t.Fatalf("replay with nothing fixed: %+v (%v)", res, err)
	}
	// The operator fixes the record with too many fields.
	var path string
	filepath.WalkDir(filepath.Join(e.dir, "dead"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			path = p
		}
		return err
	})
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte(`<=50K, extra`), []byte(`<=50K`), 1)
	os.WriteFile(path, b, 0o600)
	res, err = e.engine.Replay(ctx, e.p)
	if err != nil || res.Replayed != 1 || res.Remaining != 2 {
		t.Fatalf("replay: %+v (%v)", res, err)
	}
	if n, distinct := e.rows(t); n != 101 || distinct != 101 {
		t.Errorf("%d rows, %d distinct", n, distinct)
	}
	if dl := e.deadLetters(t); len(dl) != 2 || dl[0].Line != 102 || dl[1].Line != 103 || dl[0].Header == "" {
		t.Errorf("dead letters %+v", dl)
	}
	run, _ := e.store.GetPipelineRun(ctx, r.ID)
	if run.Predicted != 101 || run.DeadLetters != 2 {
		t.Errorf("run %+v", run)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "outbox", "a.replayed-103.csv")); err != nil {
		t.Errorf("replayed output: %v", err)
	}
	// Again: nothing more, nothing twice.
	res, err = e.engine.Replay(ctx, e.p)
	if err != nil || res.Replayed != 0 || res.Remaining != 2 {
		t.Fatalf("replay again: %+v (%v)", res, err)
	}
	if n, _ := e.rows(t); n != 101 {
		t.Errorf("%d rows", n)
	}
}

// TestSinkDown runs against a database that cannot be opened: the run
// fails with the reason in its record, stays to be tried again, and
// leaves no output object; once the database is back it completes.
func TestSinkDown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	db := filepath.Join(e.dir, "results.db")
	if err := os.Mkdir(db, 0o700); err != nil { // a folder where the database goes
		t.Fatal(err)
	}
	r := e.drop(t, "a.csv", testRows(t, 50))
	if err := e.engine.Run(ctx, r.ID, 1); err == nil {
		t.Fatal("the run succeeded without its database")
	}
	got, _ := e.store.GetPipelineRun(ctx, r.ID)
	if got.Status != perch.StatusPending || !strings.Contains(got.Message, "sql sink") || got.Rows != 0 {
		t.Errorf("run %+v", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "outbox")); len(entries) != 0 {
		t.Errorf("outbox holds %d entries", len(entries))
	}
	os.Remove(db)
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rows(t); n != 50 {
		t.Errorf("%d rows", n)
	}
}

// TestGone runs a version that is no longer there: the run fails at once,
// saying why, and is not tried again.
func TestGone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.drop(t, "a.csv", testRows(t, 10))
	time.Sleep(5 * time.Millisecond)
	e.drop(t, "a.csv", testRows(t, 20)) // a new version, with a run of its own
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := e.store.GetPipelineRun(ctx, r.ID)
	if got.Status != perch.StatusFailed || !strings.Contains(got.Message, "changed") {
		t.Errorf("superseded run %+v", got)
	}
	r2 := e.drop(t, "b.csv", testRows(t, 10))
	os.Remove(filepath.Join(e.dir, "inbox", "b.csv"))
	if err := e.engine.Run(ctx, r2.ID, 1); err != nil {
		t.Fatal(err)
	}
	got, _ = e.store.GetPipelineRun(ctx, r2.ID)
	if got.Status != perch.StatusFailed || !strings.Contains(got.Message, "deleted") {
		t.Errorf("run of a deleted object %+v", got)
	}
}

// TestWatchFailedState checks that a pipeline whose source cannot be
// read is FAILED, saying why, and RUNNING again once it can be.
func TestWatchFailedState(t *testing.T) {
	e := newEnv(t)
	in := filepath.Join(e.dir, "inbox")
	// A file where the folder should be cannot be listed.
	if err := os.Remove(in); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{Engine: e.engine, Poll: 20 * time.Millisecond, Enqueue: e.engine.Run}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitState := func(want perch.PipelineState) *perch.Pipeline {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, err := e.store.GetPipeline(context.Background(), e.p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.State == want {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("pipeline state %s (%q), want %s", p.State, p.Message, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if p := waitState(perch.PipelineFailed); p.Message == "" {
		t.Error("a FAILED pipeline without a message")
	}
	os.Remove(in)
	os.MkdirAll(in, 0o700)
	if p := waitState(perch.PipelineRunning); p.Message != "" {
		t.Errorf("RUNNING again, message %q", p.Message)
	}
	os.WriteFile(filepath.Join(in, "a.csv"), testRows(t, 10), 0o600)
	waitRows(t, e, 10)
}
