package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/objects"
)

func checkStream(field, u, subject string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "nats" && p.Scheme != "tls") || p.Host == "" {
		return perch.Errorf(perch.EInvalid, "%s.url %q: want nats://host:port", field, u)
	}
	if subject == "" || strings.ContainsAny(subject, " \t\r\n*>") {
		return perch.Errorf(perch.EInvalid, "%s.subject %q: want a subject without spaces or wildcards", field, subject)
	}
	return nil
}

var streamNameBad = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// streamName is the JetStream stream a source reads: its own, or one
// made for the pipeline.
func streamName(p *perch.Pipeline) string {
	if p.Source.Stream.Stream != "" {
		return p.Source.Stream.Stream
	}
	return "perch-" + streamNameBad.ReplaceAllString(p.ID, "_")
}

// jetStreamConsumer returns the durable consumer named durable on subject:
// on stream when it is given, else on a stream named durable that it makes
// for the subject. what names the source in errors.
func (e *Engine) jetStreamConsumer(ctx context.Context, js jetstream.JetStream, what, url, stream, subject, durable string, maxAckPending int) (jetstream.Consumer, error) {
	if stream == "" {
		stream = durable
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subject}}); err != nil {
			return nil, fmt.Errorf("%s %s: making stream %s for %s: %w", what, url, stream, subject, err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cmp.Or(e.AckWait, 30*time.Second),
		MaxAckPending: maxAckPending,
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: consumer on %s: %w", what, url, stream, err)
	}
	return cons, nil
}

// connect opens a connection that reconnects on its own.
func connect(u string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(u, nats.Name("perch"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", u, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("stream %s: %w", u, err)
	}
	return nc, js, nil
}

// streamBeforeCommit, when set, is called with each batch read from a
// stream before any sink is written; tests stop a consumer there.
var streamBeforeCommit func()

// Consume reads a stream pipeline's records until ctx is done, a batch
// at a time: predicts them, writes every sink, and only then acknowledges
// the messages. A consumer stopped before that leaves its messages to be
// delivered again (after the ack wait), to it or another server; the
// sinks' keys (the stream's sequence number is the row) make the second
// delivery write nothing twice. A record that cannot be read is a dead
// letter of its own, keyed by its sequence number.
func (e *Engine) Consume(ctx context.Context, p *perch.Pipeline) error {
	src := p.Source.Stream
	if isKafka(src.URL) {
		return e.consumeKafka(ctx, p)
	}
	if !isNATS(src.URL) {
		return e.consumePubsub(ctx, p)
	}
	pred, err := e.Predictor(ctx, p.Model)
	if err != nil {
		return err
	}
	nc, js, err := connect(src.URL)
	if err != nil {
		return err
	}
	defer nc.Close()
	name := streamName(p)
	cons, err := e.jetStreamConsumer(ctx, js, "stream", src.URL, src.Stream, src.Subject,
		"perch-"+streamNameBad.ReplaceAllString(p.ID, "_"), 20000)
	if err != nil {
		return err
	}
	dlb, err := objects.Open(ctx, p.DeadLetter)
	if err != nil {
		return err
	}
	defer dlb.Close()
	layout := NewLayout(pred.Model())
	// The sinks are opened once, with the subject as the key and the
	// stream as the version; an objects sink writes an object a batch.
	st, err := openStreamSinks(ctx, p, layout, src.Subject, name, pred)
	if err != nil {
		return err
	}
	defer closeSinks(st.sinks)
	sinks, kinds, perBatch, bp, rd := st.sinks, st.kinds, st.perBatch, &st.batch, st.reader
	size := cmp.Or(e.BatchRows, 1000)
	runs := e.streamRuns(p, src.Subject)
	defer runs.flush(ctx)
	var results []Result
	for ctx.Err() == nil {
		batch, err := cons.Fetch(size, jetstream.FetchMaxWait(250*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("stream %s: %w", src.URL, err)
		}
		var msgs []jetstream.Msg
		results = results[:0]
		var dead []DeadLetter
		var start time.Time
		for m := range batch.Messages() {
			if start.IsZero() {
				start = time.Now()
			}
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			msgs = append(msgs, m)
			text := strings.TrimRight(string(m.Data()), "\r\n")
			seq := int64(md.Sequence.Stream)
			rec := Record{Row: seq, Line: 1, Raw: text}
			if rd.jsonl {
				rec.Fields, rec.Err = rd.parseJSON(text, 1)
			} else {
				rec.Fields, rec.Err = rd.parseCSV(text, 1)
			}
			if rec.Err != nil {
				dead = append(dead, DeadLetter{Pipeline: p.ID, Object: src.Subject, Version: name, Row: seq, Line: 1, Raw: text, Error: rec.Err.Error()})
				continue
			}
			results = append(results, Result{Record: rec})
			pred.Predict(rec.Fields, &results[len(results)-1].Prediction)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			e.log().Warn("stream fetch", "pipeline", p.ID, "err", err)
		}
		if len(msgs) == 0 {
			runs.flush(ctx) // quiet: what was counted is stored
			continue
		}
		if streamBeforeCommit != nil {
			streamBeforeCommit()
		}
		if ctx.Err() != nil {
			return nil // not acknowledged: delivered again
		}
		for i, s := range sinks {
			t := time.Now()
			if err := s.write(ctx, results); err != nil {
				return err
			}
			mBatch.WithLabelValues(kinds[i]).Observe(time.Since(t).Seconds())
		}
		if len(perBatch) > 0 && len(results) > 0 {
			obs, _, _, err := openSinks(ctx, bp, layout, fmt.Sprintf("%s/%012d", src.Subject, results[0].Row), name, "")
			if err != nil {
				return err
			}
			for _, s := range obs {
				if err = s.write(ctx, results); err == nil {
					err = s.finish(ctx)
				}
				if err != nil {
					closeSinks(obs)
					return err
				}
			}
			closeSinks(obs)
		}
		for _, d := range dead {
			key := fmt.Sprintf("%s/%s/%s-%012d.jsonl", p.ID, src.Subject, name, d.Row)
			if err := writeDeadLetters(ctx, dlb, key, []DeadLetter{d}); err != nil {
				return err
			}
		}
		for i, m := range msgs {
			var err error
			if i == len(msgs)-1 {
				err = m.DoubleAck(ctx) // the last waits for the server's word
			} else {
				err = m.Ack()
			}
			if err != nil {
				return fmt.Errorf("stream %s: ack: %w", src.URL, err)
			}
		}
		mRecords.WithLabelValues(p.ID, "predicted").Add(float64(len(results)))
		mRecords.WithLabelValues(p.ID, "dead_letter").Add(float64(len(dead)))
		runs.add(ctx, int64(len(results)), int64(len(dead)), deadErrors(dead), time.Since(start))
	}
	return nil
}

// deadErrors is the errors of dead letters, for a run's record.
func deadErrors(dead []DeadLetter) []string {
	var errs []string
	for _, d := range dead[:min(len(dead), maxErrors)] {
		errs = append(errs, d.Error)
	}
	return errs
}

// streamSink publishes results to a JetStream subject.
type streamSink struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	subject  string
	pipeline string
	key      string
	version  string
	layout   *Layout
}

func openStreamSink(ctx context.Context, def *perch.StreamSink, l *Layout, pipelineID, key, version string) (sink, error) {
	if isKafka(def.URL) {
		return openKafkaSink(def, l, pipelineID, key, version)
	}
	if !isNATS(def.URL) {
		return openPubsubSink(ctx, def, l, pipelineID, key, version)
	}
	nc, js, err := connect(def.URL)
	if err != nil {
		return nil, err
	}
	if _, err := js.StreamNameBySubject(ctx, def.Subject); err != nil {
		name := "perch-out-" + streamNameBad.ReplaceAllString(pipelineID, "_")
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{def.Subject}}); err != nil {
			nc.Close()
			return nil, fmt.Errorf("stream sink %s: making stream %s for %s: %w", def.URL, name, def.Subject, err)
		}
	}
	return &streamSink{nc: nc, js: js, subject: def.Subject, pipeline: pipelineID, key: key, version: version, layout: l}, nil
}

func (s *streamSink) whole() bool { return false }

// write publishes rs and waits for the stream to have them all. Each
// message's id names its record, so a batch published again within the
// stream's duplicate window is dropped there.
func (s *streamSink) write(ctx context.Context, rs []Result) error {
	var futures []jetstream.PubAckFuture
	var b []byte
	for i := range rs {
		b = appendHTTPResult(b[:0], s.pipeline, s.key, s.version, &rs[i], s.layout)
		id := fmt.Sprintf("%s/%s/%s/%d", s.pipeline, s.key, versionTag(s.version), rs[i].Row)
		f, err := s.js.PublishAsync(s.subject, append([]byte(nil), b...), jetstream.WithMsgID(id))
		if err != nil {
			return fmt.Errorf("stream sink: %w", err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("stream sink: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *streamSink) finish(context.Context) error { return nil }

func (s *streamSink) setKey(key string) { s.key = key }

func (s *streamSink) close() error {
	s.nc.Close()
	return nil
}

// streamSinks is what a stream consumer writes through: the sinks opened
// once for the stream, those (objects) opened anew for each batch, and
// the reader of a message's record.
type streamSinks struct {
	sinks    []sink
	kinds    []string
	perBatch []perch.PipelineSink
	batch    perch.Pipeline // p with only the per-batch sinks
	reader   *Reader
}

// openStreamSinks opens p's sinks for a stream whose results are keyed by
// key and version; an objects sink writes one object a batch, so it is
// left for the batch to open.
func openStreamSinks(ctx context.Context, p *perch.Pipeline, layout *Layout, key, version string, pred *model.Predictor) (*streamSinks, error) {
	st := &streamSinks{}
	var keep []perch.PipelineSink
	for _, s := range p.Sinks {
		if s.Objects != nil {
			st.perBatch = append(st.perBatch, s)
		} else {
			keep = append(keep, s)
		}
	}
	kp := *p
	kp.Sinks = keep
	var err error
	if st.sinks, st.kinds, _, err = openSinks(ctx, &kp, layout, key, version, ""); err != nil {
		return nil, err
	}
	st.batch = *p
	st.batch.Sinks = st.perBatch
	st.batch.Source.Prefix = ""
	schema := pred.Model().Schema
	st.reader = &Reader{schema: schema, width: len(schema.Attributes), target: schema.Target(),
		jsonl: strings.EqualFold(p.Source.Format, "jsonl")}
	for _, a := range schema.Attributes {
		st.reader.names = append(st.reader.names, a.Name)
	}
	return st, nil
}
