package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/awssnssqs"  // awssqs:// and awssns://
	_ "gocloud.dev/pubsub/mempubsub"  // mem://, within the process
	"gocloud.dev/pubsub/rabbitpubsub" // rabbit://, with RABBIT_SERVER_URL

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// isNATS reports whether a stream URL is read with nats.go, for
// JetStream's own acknowledgements and duplicate window; any other
// scheme is opened through gocloud.dev/pubsub.
func isNATS(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "nats" || p.Scheme == "tls")
}

const pubsubSchemes = "kafka://, mem://, rabbit://, awssqs:// (sinks also awssns://)"

// checkPubsub validates a stream URL opened through gocloud.dev/pubsub.
// The topic or queue is in the URL, so a subject or JetStream stream
// would be silently ignored: they are refused instead.
func checkPubsub(field, u, subject, stream string, topic bool) error {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return perch.Errorf(perch.EInvalid, "%s.url %q: want nats://host:port or %s", field, u, pubsubSchemes)
	}
	mux := pubsub.DefaultURLMux()
	ok := mux.ValidSubscriptionScheme(p.Scheme)
	if topic {
		ok = mux.ValidTopicScheme(p.Scheme)
	}
	if !ok {
		return perch.Errorf(perch.EInvalid, "%s.url %q: want nats://host:port or %s", field, u, pubsubSchemes)
	}
	if p.Host+p.Path == "" {
		return perch.Errorf(perch.EInvalid, "%s.url %q: want the topic or queue after %s://", field, u, p.Scheme)
	}
	if subject != "" || stream != "" {
		return perch.Errorf(perch.EInvalid, "%s: the topic or queue is in the URL; subject and stream are for nats:// only", field)
	}
	return nil
}

// checkStreamSource validates a stream source of any kind.
func checkStreamSource(field string, s *perch.StreamSource) error {
	if isKafka(s.URL) {
		return checkKafka(field, s.URL, s.Subject, s.Stream, true)
	}
	if p, err := url.Parse(s.URL); err == nil && !isNATS(s.URL) && pubsub.DefaultURLMux().ValidSubscriptionScheme(p.Scheme) {
		return checkPubsub(field, s.URL, s.Subject, s.Stream, false)
	}
	return checkStream(field, s.URL, s.Subject)
}

// checkStreamSink validates a stream sink of any kind.
func checkStreamSink(field string, s *perch.StreamSink) error {
	if isKafka(s.URL) {
		return checkKafka(field, s.URL, s.Subject, "", false)
	}
	if p, err := url.Parse(s.URL); err == nil && !isNATS(s.URL) && pubsub.DefaultURLMux().ValidTopicScheme(p.Scheme) {
		return checkPubsub(field, s.URL, s.Subject, "", true)
	}
	return checkStream(field, s.URL, s.Subject)
}

// memSubs keeps mem:// subscriptions for the life of the process. A
// broker keeps what a stopped consumer left unacknowledged for the next
// one; an in-process topic can only do that if its subscription outlives
// the consumer.
var memSubs struct {
	sync.Mutex
	m map[string]*pubsub.Subscription
}

// openSubscription opens a gocloud subscription; release lets it go.
func openSubscription(ctx context.Context, u string) (*pubsub.Subscription, func(), error) {
	if strings.HasPrefix(u, "mem://") {
		memSubs.Lock()
		defer memSubs.Unlock()
		if s := memSubs.m[u]; s != nil {
			return s, func() {}, nil
		}
		s, err := pubsub.OpenSubscription(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		if memSubs.m == nil {
			memSubs.m = map[string]*pubsub.Subscription{}
		}
		memSubs.m[u] = s
		return s, func() {}, nil
	}
	if strings.HasPrefix(u, "rabbit://") {
		return openRabbit(ctx, u)
	}
	s, err := pubsub.OpenSubscription(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	return s, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(sctx) // flushes the acknowledgements sent so far
	}, nil
}

// openRabbit opens a RabbitMQ subscription on a connection of its own.
// The driver shares one connection and never closes a subscription's
// channel, so what a stopped consumer left unacknowledged would stay
// with it until the process ends; closing the connection hands it back
// to the queue at once.
func openRabbit(ctx context.Context, u string) (*pubsub.Subscription, func(), error) {
	server := os.Getenv("RABBIT_SERVER_URL")
	if server == "" {
		return nil, nil, errors.New("RABBIT_SERVER_URL is not set")
	}
	pu, err := url.Parse(u)
	if err != nil {
		return nil, nil, err
	}
	conn, err := amqp.Dial(server)
	if err != nil {
		if su, perr := url.Parse(server); perr == nil {
			server = su.Redacted()
		}
		return nil, nil, fmt.Errorf("RabbitMQ at %s: %w", server, err)
	}
	s, err := (&rabbitpubsub.URLOpener{Connection: conn}).OpenSubscriptionURL(ctx, pu)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return s, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(sctx)
		conn.Close()
	}, nil
}

var keyBad = regexp.MustCompile(`[^A-Za-z0-9._/-]`)

// pubsubKey is what a gocloud stream's records are keyed by in the
// sinks and the dead letter, as a NATS stream's are by subject and
// stream: the topic or queue, and the scheme.
func pubsubKey(u string) (key, version string) {
	p, err := url.Parse(u)
	if err != nil {
		return "stream", ""
	}
	key = strings.Trim(keyBad.ReplaceAllString(p.Host+p.Path, "_"), "/")
	return cmp.Or(key, "stream"), p.Scheme
}

// messageRow is a message's row in the sinks: the same on every
// delivery, so a message delivered again overwrites its own rows. It is
// mem's message number, else a hash of the broker's message id (AMQP's
// message-id, since a delivery tag changes when a message is delivered
// again), else a hash of the body.
func messageRow(scheme string, m *pubsub.Message) int64 {
	id := m.LoggableID
	var d amqp.Delivery
	if m.As(&d) {
		id = d.MessageId
	}
	if scheme == "mem" {
		if n, ok := strings.CutPrefix(id, "msg #"); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				return v + 1
			}
		}
	}
	h := fnv.New64a()
	if id != "" {
		h.Write([]byte("id:" + id))
	} else {
		h.Write([]byte("body:"))
		h.Write(m.Body)
	}
	return int64(h.Sum64() >> 1)
}

// receiveBatch receives up to size messages, waiting at most wait for
// them; it returns what it has when the wait is over.
func receiveBatch(ctx context.Context, sub *pubsub.Subscription, size int, wait time.Duration) ([]*pubsub.Message, error) {
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var msgs []*pubsub.Message
	for len(msgs) < size {
		m, err := sub.Receive(rctx)
		if err != nil {
			if rctx.Err() != nil && ctx.Err() == nil {
				return msgs, nil
			}
			return msgs, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// consumePubsub is Consume for a stream opened through gocloud.dev/pubsub:
// a batch is acknowledged once every sink has committed it; when a sink
// fails it is refused (where the broker can be told) so that it comes
// again at once, and a consumer stopped before that leaves it to come
// again after the broker's ack deadline.
func (e *Engine) consumePubsub(ctx context.Context, p *perch.Pipeline) error {
	src := p.Source.Stream
	pred, err := e.Predictor(ctx, p.Model)
	if err != nil {
		return err
	}
	sub, release, err := openSubscription(ctx, src.URL)
	if err != nil {
		return fmt.Errorf("stream %s: %w", src.URL, err)
	}
	defer release()
	dlb, err := objects.Open(ctx, p.DeadLetter)
	if err != nil {
		return err
	}
	defer dlb.Close()
	key, version := pubsubKey(src.URL)
	layout := NewLayout(pred.Model())
	st, err := openStreamSinks(ctx, p, layout, key, version, pred)
	if err != nil {
		return err
	}
	defer closeSinks(st.sinks)
	sinks, kinds, bp, rd := st.sinks, st.kinds, &st.batch, st.reader
	size := cmp.Or(e.BatchRows, 1000)
	runs := e.streamRuns(p, key)
	defer runs.flush(ctx)
	var results []Result
	for ctx.Err() == nil {
		msgs, err := receiveBatch(ctx, sub, size, 250*time.Millisecond)
		start := time.Now()
		if err != nil && ctx.Err() == nil {
			nack(msgs)
			return fmt.Errorf("stream %s: %w", src.URL, err)
		}
		if len(msgs) == 0 {
			runs.flush(ctx) // quiet: what was counted is stored
			continue
		}
		if ctx.Err() != nil {
			continue // not acknowledged: delivered again
		}
		results = results[:0]
		var dead []DeadLetter
		for _, m := range msgs {
			text := strings.TrimRight(string(m.Body), "\r\n")
			row := messageRow(version, m)
			rec := Record{Row: row, Line: 1, Raw: text}
			if rd.jsonl {
				rec.Fields, rec.Err = rd.parseJSON(text, 1)
			} else {
				rec.Fields, rec.Err = rd.parseCSV(text, 1)
			}
			if rec.Err != nil {
				dead = append(dead, DeadLetter{Pipeline: p.ID, Object: key, Version: version, Row: row, Line: 1, Raw: text, Error: rec.Err.Error()})
				continue
			}
			results = append(results, Result{Record: rec})
			pred.Predict(rec.Fields, &results[len(results)-1].Prediction)
		}
		if streamBeforeCommit != nil {
			streamBeforeCommit()
		}
		if ctx.Err() != nil {
			return nil // not acknowledged: delivered again
		}
		if err := e.commitPubsub(ctx, p, bp, sinks, kinds, layout, dlb, key, version, results, dead); err != nil {
			nack(msgs)
			return err
		}
		for _, m := range msgs {
			m.Ack()
		}
		mRecords.WithLabelValues(p.ID, "predicted").Add(float64(len(results)))
		mRecords.WithLabelValues(p.ID, "dead_letter").Add(float64(len(dead)))
		runs.add(ctx, int64(len(results)), int64(len(dead)), deadErrors(dead), time.Since(start))
	}
	return nil
}

// commitPubsub writes a batch to every sink and its dead letters.
func (e *Engine) commitPubsub(ctx context.Context, p, bp *perch.Pipeline, sinks []sink, kinds []string, layout *Layout, dlb *objects.Bucket, key, version string, results []Result, dead []DeadLetter) error {
	for i, s := range sinks {
		t := time.Now()
		if err := s.write(ctx, results); err != nil {
			return err
		}
		mBatch.WithLabelValues(kinds[i]).Observe(time.Since(t).Seconds())
	}
	if len(bp.Sinks) > 0 && len(results) > 0 {
		obs, _, _, err := openSinks(ctx, bp, layout, fmt.Sprintf("%s/%019d", key, results[0].Row), version, "")
		if err != nil {
			return err
		}
		defer closeSinks(obs)
		for _, s := range obs {
			if err = s.write(ctx, results); err == nil {
				err = s.finish(ctx)
			}
			if err != nil {
				return err
			}
		}
	}
	for _, d := range dead {
		k := fmt.Sprintf("%s/%s/%s-%019d.jsonl", p.ID, key, version, d.Row)
		if err := writeDeadLetters(ctx, dlb, k, []DeadLetter{d}); err != nil {
			return err
		}
	}
	return nil
}

// nack hands messages back to the broker for another delivery, where
// the driver can; the rest come again after the ack deadline.
func nack(msgs []*pubsub.Message) {
	for _, m := range msgs {
		if m.Nackable() {
			m.Nack()
		}
	}
}

// pubsubSink publishes results to a topic opened through gocloud.dev/pubsub.
type pubsubSink struct {
	topic    *pubsub.Topic
	shared   bool // mem://: the process's own topic, not ours to shut down
	pipeline string
	key      string
	version  string
	layout   *Layout
}

func openPubsubSink(ctx context.Context, def *perch.StreamSink, l *Layout, pipelineID, key, version string) (sink, error) {
	t, err := pubsub.OpenTopic(ctx, def.URL)
	if err != nil {
		return nil, fmt.Errorf("stream sink %s: %w", def.URL, err)
	}
	return &pubsubSink{topic: t, shared: strings.HasPrefix(def.URL, "mem://"), pipeline: pipelineID, key: key, version: version, layout: l}, nil
}

func (s *pubsubSink) whole() bool { return false }

// write publishes rs and waits until the broker has them all. Brokers
// other than JetStream keep no duplicate window, so each message names
// its record in its metadata (pipeline, id; AMQP's message-id too) for
// consumers to drop a result published again.
func (s *pubsubSink) write(ctx context.Context, rs []Result) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
		sem  = make(chan struct{}, 64)
	)
	for i := range rs {
		body := appendHTTPResult(nil, s.pipeline, s.key, s.version, &rs[i], s.layout)
		id := fmt.Sprintf("%s/%s/%s/%d", s.pipeline, s.key, versionTag(s.version), rs[i].Row)
		m := &pubsub.Message{
			Body:     body,
			Metadata: map[string]string{"pipeline": s.pipeline, "id": id},
			BeforeSend: func(as func(any) bool) error {
				var pub *amqp.Publishing
				if as(&pub) {
					pub.MessageId = id
				}
				return nil
			},
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.topic.Send(ctx, m); err != nil {
				mu.Lock()
				errs = cmp.Or(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if errs != nil {
		return fmt.Errorf("stream sink: %w", errs)
	}
	return nil
}

func (s *pubsubSink) finish(context.Context) error { return nil }

func (s *pubsubSink) setKey(key string) { s.key = key }

func (s *pubsubSink) close() error {
	if s.shared {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.topic.Shutdown(ctx)
}
