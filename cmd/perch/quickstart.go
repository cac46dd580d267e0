package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/service"
)

// foundingRecord is the record the quickstart predicts.
const foundingRecord = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"

// The quickstart's entities have fixed ids, so that running it again
// finds what the last run made.
const (
	qsTrain      = "adult-train"
	qsTest       = "adult-test"
	qsModel      = "adult-income"
	qsEvaluation = "adult-income-test"
	qsPipeline   = "income-inbox"
)

// runQuickstart starts the server on embedded defaults, loads the bundled
// Adult example through the service (data sources, model, evaluation,
// endpoint), prints how to predict with curl, and keeps serving.
func runQuickstart(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	cfg := serverFlags(fs)
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	ctx := context.Background()
	s, err := startServer(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "perch is serving on %s (data in %s)\n", s.url, s.dataDir)
	s.printRootKey(stdout)
	if err := s.quickstart(ctx, stdout); err != nil {
		s.shutdown(10 * time.Second)
		return err
	}
	return s.serveUntilStopped()
}

// quickstart creates (or finds) the Adult example's entities and prints
// the evaluation and a curl command that predicts the founding record.
// The log says at Info what it does, step by step.
func (s *server) quickstart(ctx context.Context, w io.Writer) error {
	svc := s.svc
	begun := time.Now()
	for _, name := range []string{"train.csv.gz", "test.csv.gz"} {
		key := "examples/adult/" + name
		if ok, err := s.bucket.Exists(ctx, key); err != nil {
			return err
		} else if !ok {
			b, err := examples.FS.ReadFile("adult/" + name)
			if err != nil {
				return err
			}
			if err := s.bucket.Write(ctx, key, bytes.NewReader(b), "application/gzip"); err != nil {
				return err
			}
			s.log.Info("quickstart: wrote the bundled example", "key", key)
		}
	}
	start := time.Now()
	train, err := ensure(s, "data source "+qsTrain, func() (*perch.DataSource, error) { return svc.GetDataSource(ctx, qsTrain) },
		func() (*perch.DataSource, error) {
			return svc.CreateDataSource(ctx, service.DataSourceInput{
				ID: qsTrain, Name: "Adult census income: training data", DataURL: "examples/adult/train.csv.gz",
				TargetAttributeName: "income", ComputeStatistics: true,
			})
		})
	if err != nil {
		return err
	}
	if train, err = waitDone(ctx, "data source "+qsTrain, func() (*perch.DataSource, error) { return svc.GetDataSource(ctx, qsTrain) }); err != nil {
		return err
	}
	if _, err := ensure(s, "data source "+qsTest, func() (*perch.DataSource, error) { return svc.GetDataSource(ctx, qsTest) },
		func() (*perch.DataSource, error) {
			return svc.CreateDataSource(ctx, service.DataSourceInput{
				ID: qsTest, Name: "Adult census income: test data", DataURL: "examples/adult/test.csv.gz",
				Schema: train.Schema,
			})
		}); err != nil {
		return err
	}
	m, err := ensure(s, "model "+qsModel, func() (*perch.MLModel, error) { return svc.GetMLModel(ctx, qsModel) },
		func() (*perch.MLModel, error) {
			return svc.CreateMLModel(ctx, service.MLModelInput{
				ID: qsModel, Name: "Income above 50K", Type: perch.BinaryModel, TrainingDataSourceID: qsTrain,
			})
		})
	if err != nil {
		return err
	}
	fresh := m.Status != perch.StatusCompleted
	if m, err = waitDone(ctx, "model "+qsModel, func() (*perch.MLModel, error) { return svc.GetMLModel(ctx, qsModel) }); err != nil {
		return err
	}
	if fresh {
		fmt.Fprintf(w, "trained model %s (BINARY, income >50K) on %d rows in %s\n", qsModel, train.Records, time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "reusing model %s\n", qsModel)
	}
	if _, err := ensure(s, "evaluation "+qsEvaluation, func() (*perch.Evaluation, error) { return svc.GetEvaluation(ctx, qsEvaluation) },
		func() (*perch.Evaluation, error) {
			return svc.CreateEvaluation(ctx, service.EvaluationInput{
				ID: qsEvaluation, Name: "Income model on the held-out test data", MLModelID: qsModel, DataSourceID: qsTest,
			})
		}); err != nil {
		return err
	}
	ev, err := waitDone(ctx, "evaluation "+qsEvaluation, func() (*perch.Evaluation, error) { return svc.GetEvaluation(ctx, qsEvaluation) })
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "evaluation %s: BinaryAUC %s on the held-out test data\n", qsEvaluation, ev.PerformanceMetrics["BinaryAUC"])
	if m, err = svc.CreateEndpoint(ctx, qsModel, 0); err != nil {
		return err
	}
	s.log.Info("quickstart: real-time endpoint", "model", qsModel, "url", m.Endpoint.URL)
	body, err := foundingBody(m.ID, train.Schema)
	if err != nil {
		return err
	}
	var rec struct{ Record perch.Record }
	json.Unmarshal(body, &rec)
	var p perch.Prediction
	if err := svc.Predict(ctx, qsModel, rec.Record, &p); err != nil {
		return err
	}
	keyPath := filepath.Join(s.dataDir, access.RootKeyFile)
	fmt.Fprintf(w, "endpoint: %s\n\n", m.Endpoint.URL)
	fmt.Fprintf(w, "predict the record %q:\n\n", foundingRecord)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $(cat %s)\" -H 'Content-Type: application/json' \\\n    -d '%s' \\\n    %s\n\n",
		shellQuote(keyPath), body, m.Endpoint.URL)
	fmt.Fprintf(w, "answer: {\"prediction\":%s}\n\n", p.AppendJSON(nil))
	if err := s.quickstartPipeline(ctx, w); err != nil {
		return err
	}
	s.log.Info("quickstart: ready", "duration", time.Since(begun).Round(time.Millisecond))
	fmt.Fprintf(w, "perch keeps serving; stop it with Ctrl-C.\n")
	return nil
}

// quickstartPipeline creates (or finds) the founding pipeline: every file
// copied into <data-dir>/inbox/ is predicted into a SQLite table and an
// output file, with unreadable records kept as dead letters. It writes a
// sample to copy in and prints how.
func (s *server) quickstartPipeline(ctx context.Context, w io.Writer) error {
	inbox := filepath.Join(s.dataDir, "inbox")
	outbox := filepath.Join(s.dataDir, "outbox")
	dead := filepath.Join(s.dataDir, "dead-letter")
	results := filepath.Join(s.dataDir, "results.db")
	sample := filepath.Join(s.dataDir, "samples", "adult-1000.csv")
	for _, d := range []string{inbox, outbox, dead, filepath.Dir(sample)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := writeSample(sample, 1000); err != nil {
		return err
	}
	fileURL := func(p string) string { return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String() }
	if _, err := ensure(s, "pipeline "+qsPipeline, func() (*perch.Pipeline, error) { return s.svc.GetPipeline(ctx, qsPipeline) },
		func() (*perch.Pipeline, error) {
			return s.svc.CreatePipeline(ctx, service.PipelineInput{
				ID: qsPipeline, Name: "Income of every record that lands in the inbox", Model: qsModel,
				Source: perch.PipelineSource{Objects: fileURL(inbox)},
				Sinks: []perch.PipelineSink{
					{SQL: &perch.SQLSink{URL: "sqlite://" + results, Table: "predictions"}},
					{Objects: &perch.ObjectSink{URL: fileURL(outbox), Format: "csv"}},
				},
				DeadLetter: fileURL(dead),
			})
		}); err != nil {
		return err
	}
	fmt.Fprintf(w, "pipeline %s: every CSV or JSON Lines file copied into %s/ is predicted\n", qsPipeline, inbox)
	fmt.Fprintf(w, "into %s (table predictions) and %s/;\nrecords it cannot read go to %s/. Try it:\n\n", results, outbox, dead)
	fmt.Fprintf(w, "  cp %s %s/\n\n", shellQuote(sample), shellQuote(inbox))
	fmt.Fprintf(w, "and see what each file gave (rows, predictions, dead letters):\n\n")
	fmt.Fprintf(w, "  perch pipeline runs %s --server %s --data-dir %s\n\n", qsPipeline, s.url, shellQuote(s.dataDir))
	return nil
}

// writeSample writes the header and the first n records of the Adult
// test data to path, unless the file is there.
func writeSample(path string, n int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b, err := examples.ReadAll("adult/test.csv")
	if err != nil {
		return err
	}
	end := 0
	for i := 0; i <= n && end < len(b); i++ {
		j := bytes.IndexByte(b[end:], '\n')
		if j < 0 {
			end = len(b)
			break
		}
		end += j + 1
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b[:end], 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// foundingBody is the predict request for the founding record, keyed by
// the schema's attribute names.
func foundingBody(_ string, s *perch.Schema) ([]byte, error) {
	fields, err := csvRecord(s, foundingRecord)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"record":{`)
	first := true
	for i, a := range s.Attributes {
		if i == s.Target() || fields[i] == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(a.Name)
		v, _ := json.Marshal(fields[i])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ensure returns the entity get finds, or the one create makes when there
// is none yet, and logs which; what names the entity ("model m-1").
func ensure[T any](s *server, what string, get, create func() (*T, error)) (*T, error) {
	v, err := get()
	if perch.Code(err) == perch.ENotFound {
		s.log.Info("quickstart: creating " + what)
		return create()
	}
	if err == nil {
		s.log.Info("quickstart: reusing " + what)
	}
	return v, err
}

// statusOf reads the status of any entity.
func statusOf(v any) (perch.Status, string) {
	switch e := v.(type) {
	case *perch.DataSource:
		return e.Status, e.Message
	case *perch.MLModel:
		return e.Status, e.Message
	case *perch.Evaluation:
		return e.Status, e.Message
	case *perch.BatchPrediction:
		return e.Status, e.Message
	}
	return "", ""
}

// waitDone polls an entity until its job is done, failing unless it
// COMPLETED.
func waitDone[T any](ctx context.Context, what string, get func() (*T, error)) (*T, error) {
	for {
		v, err := get()
		if err != nil {
			return nil, err
		}
		st, msg := statusOf(v)
		switch st {
		case perch.StatusCompleted:
			return v, nil
		case perch.StatusFailed, perch.StatusDeleted:
			return nil, fmt.Errorf("%s is %s: %s (start afresh with another --data-dir)", what, st, msg)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
