package pipeline

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// Kafka is read and written with franz-go: gocloud's Kafka driver is not
// part of the build, and franz-go is pure Go with an in-process fake
// cluster for tests.

// isKafka reports whether a stream URL names a Kafka topic.
func isKafka(u string) bool { return strings.HasPrefix(u, "kafka://") }

// kafkaURL is a stream URL of the form
// kafka://host1:9092,host2:9092/topic?group=perch-income&tls=true: the
// seed brokers, the topic, and for a source the consumer group (by
// default perch-<pipeline id>, so that each pipeline reads the whole
// topic).
type kafkaURL struct {
	brokers []string
	topic   string
	group   string
	tls     bool
}

// kafkaTopic is what Kafka allows a topic's name to be.
var kafkaTopic = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

const kafkaForm = "want kafka://host:9092[,host:9092…]/topic[?group=…][&tls=true]"

func parseKafka(u string, source bool) (*kafkaURL, error) {
	rest, ok := strings.CutPrefix(u, "kafka://")
	if !ok {
		return nil, fmt.Errorf("%s", kafkaForm)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, topic, _ := strings.Cut(rest, "/")
	k := &kafkaURL{topic: topic}
	for h := range strings.SplitSeq(hosts, ",") {
		if h == "" {
			return nil, fmt.Errorf("an empty broker: %s", kafkaForm)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil { // no port: Kafka's own
			host, port = h, "9092"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			return nil, fmt.Errorf("broker %q: %s", h, kafkaForm)
		}
		k.brokers = append(k.brokers, net.JoinHostPort(host, port))
	}
	if !kafkaTopic.MatchString(topic) || topic == "." || topic == ".." {
		return nil, fmt.Errorf("topic %q: want 1 to 249 letters, digits, '.', '_' or '-': %s", topic, kafkaForm)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, kafkaForm)
	}
	for name, v := range q {
		switch {
		case name == "group" && source:
			if k.group = v[0]; k.group == "" {
				return nil, fmt.Errorf("an empty group: %s", kafkaForm)
			}
		case name == "tls":
			if k.tls, err = strconv.ParseBool(v[0]); err != nil {
				return nil, fmt.Errorf("tls=%q: want true or false", v[0])
			}
		default:
			return nil, fmt.Errorf("unknown parameter %q: %s", name, kafkaForm)
		}
	}
	return k, nil
}

// checkKafka validates a kafka:// stream URL. The topic is in the URL,
// so a subject or JetStream stream is refused rather than ignored.
func checkKafka(field, u, subject, stream string, source bool) error {
	if _, err := parseKafka(u, source); err != nil {
		return perch.Errorf(perch.EInvalid, "%s.url %q: %v", field, u, err)
	}
	if subject != "" || stream != "" {
		return perch.Errorf(perch.EInvalid, "%s: the topic is in the URL; subject and stream are for nats:// only", field)
	}
	return nil
}

func (k *kafkaURL) opts(more ...kgo.Opt) []kgo.Opt {
	o := []kgo.Opt{kgo.SeedBrokers(k.brokers...), kgo.ClientID("perch")}
	if k.tls {
		o = append(o, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return append(o, more...)
}

// consumeKafka is Consume for a Kafka topic, read by the pipeline's
// consumer group from the start of the topic. A batch's offsets are
// committed once every sink has committed it; a consumer stopped before
// that leaves the batch to be read again, by it or by another member of
// the group. Each partition is a key of its own in the sinks
// (topic/partition) and a record's row is its offset, so a record read
// again overwrites its own rows.
func (e *Engine) consumeKafka(ctx context.Context, p *perch.Pipeline) error {
	src := p.Source.Stream
	k, err := parseKafka(src.URL, true)
	if err != nil {
		return err
	}
	pred, err := e.Predictor(ctx, p.Model)
	if err != nil {
		return err
	}
	group := cmp.Or(k.group, "perch-"+streamNameBad.ReplaceAllString(p.ID, "_"))
	cl, err := kgo.NewClient(k.opts(
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(k.topic),
		kgo.DisableAutoCommit(),
		// A batch is committed before the partitions it came from can
		// move to another member.
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(250*time.Millisecond),
	)...)
	if err != nil {
		return fmt.Errorf("stream %s: %w", src.URL, err)
	}
	defer cl.CloseAllowingRebalance() // leaves the group, committing nothing
	// A client waits for brokers and topics to come without a word; a
	// consumer that cannot start says why instead.
	if err := kafkaTopicExists(ctx, cl, k.topic); err != nil {
		return fmt.Errorf("stream %s: %w", src.URL, err)
	}
	dlb, err := objects.Open(ctx, p.DeadLetter)
	if err != nil {
		return err
	}
	defer dlb.Close()
	const version = "kafka"
	layout := NewLayout(pred.Model())
	// One set of sinks serves every partition, moved to a partition's key
	// before its records are written.
	st, err := openStreamSinks(ctx, p, layout, kafkaKey(k.topic, 0), version, pred)
	if err != nil {
		return err
	}
	defer closeSinks(st.sinks)
	for _, s := range st.sinks {
		if _, ok := s.(rekeyer); !ok {
			return fmt.Errorf("stream %s: a sink of kind %T cannot take a partition's key", src.URL, s)
		}
	}
	rd := st.reader
	type partBatch struct {
		results []Result
		dead    []DeadLetter
	}
	size := cmp.Or(e.BatchRows, 1000)
	runs := e.streamRuns(p, k.topic)
	defer runs.flush(ctx)
	for ctx.Err() == nil {
		// A poll waits for records; it gives up now and then so that a
		// quiet stream's counts are stored.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollRecords(pctx, size)
		quiet := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		recs := fs.Records()
		if err := fs.Err(); err != nil && !(quiet && errors.Is(err, context.DeadlineExceeded)) {
			if len(recs) == 0 {
				return fmt.Errorf("stream %s: %w", src.URL, err)
			}
			e.log().Warn("stream fetch", "pipeline", p.ID, "err", err)
		}
		if len(recs) == 0 {
			cl.AllowRebalance()
			runs.flush(ctx)
			continue
		}
		start := time.Now()
		batches := map[int32]*partBatch{}
		var order []int32
		var n, ndead int
		var errs []string
		for _, r := range recs {
			b := batches[r.Partition]
			if b == nil {
				b = &partBatch{}
				batches[r.Partition] = b
				order = append(order, r.Partition)
			}
			text := strings.TrimRight(string(r.Value), "\r\n")
			rec := Record{Row: r.Offset, Line: 1, Raw: text}
			if rd.jsonl {
				rec.Fields, rec.Err = rd.parseJSON(text, 1)
			} else {
				rec.Fields, rec.Err = rd.parseCSV(text, 1)
			}
			if rec.Err != nil {
				b.dead = append(b.dead, DeadLetter{Pipeline: p.ID, Object: kafkaKey(k.topic, r.Partition), Version: version, Row: r.Offset, Line: 1, Raw: text, Error: rec.Err.Error()})
				if len(errs) < maxErrors {
					errs = append(errs, rec.Err.Error())
				}
				ndead++
				continue
			}
			b.results = append(b.results, Result{Record: rec})
			pred.Predict(rec.Fields, &b.results[len(b.results)-1].Prediction)
			n++
		}
		if streamBeforeCommit != nil {
			streamBeforeCommit()
		}
		if ctx.Err() != nil {
			return nil // not committed: read again
		}
		slices.Sort(order)
		for _, part := range order {
			key, b := kafkaKey(k.topic, part), batches[part]
			for _, s := range st.sinks {
				s.(rekeyer).setKey(key)
			}
			if err := e.commitPubsub(ctx, p, &st.batch, st.sinks, st.kinds, layout, dlb, key, version, b.results, b.dead); err != nil {
				return err
			}
		}
		// The sinks have the batch: its offsets are committed even if
		// the consumer is being stopped.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := cl.CommitRecords(cctx, recs...)
		cancel()
		if err != nil {
			return fmt.Errorf("stream %s: committing offsets: %w", src.URL, err)
		}
		cl.AllowRebalance()
		mRecords.WithLabelValues(p.ID, "predicted").Add(float64(n))
		mRecords.WithLabelValues(p.ID, "dead_letter").Add(float64(ndead))
		runs.add(ctx, int64(n), int64(ndead), errs, time.Since(start))
	}
	return nil
}

// kafkaWait bounds how long a consumer waits for a broker to tell it
// about its topic, and a sink for the brokers to take a batch.
var kafkaWait = 30 * time.Second

// kafkaTopicExists asks the brokers about topic.
func kafkaTopicExists(ctx context.Context, cl *kgo.Client, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, kafkaWait)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("no broker answered: %w", err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
	}
	return nil
}

// kafkaKey is a partition's key in the sinks and the dead letters.
func kafkaKey(topic string, part int32) string {
	return topic + "/" + strconv.Itoa(int(part))
}

// kafkaSink publishes results to a Kafka topic. Kafka drops nothing
// published twice, so each record's key (and its "id" header) names the
// result, for consumers to drop one published again; a compacted topic
// keeps one of each.
type kafkaSink struct {
	cl       *kgo.Client
	pipeline string
	key      string
	version  string
	layout   *Layout
}

func openKafkaSink(def *perch.StreamSink, l *Layout, pipelineID, key, version string) (sink, error) {
	k, err := parseKafka(def.URL, false)
	if err != nil {
		return nil, err
	}
	// A batch the brokers do not take in time fails, and is written
	// again later, rather than holding its run or consumer for good.
	cl, err := kgo.NewClient(k.opts(kgo.DefaultProduceTopic(k.topic), kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(kafkaWait))...)
	if err != nil {
		return nil, fmt.Errorf("stream sink %s: %w", def.URL, err)
	}
	return &kafkaSink{cl: cl, pipeline: pipelineID, key: key, version: version, layout: l}, nil
}

func (s *kafkaSink) whole() bool { return false }

// write publishes rs and waits until the brokers have them all.
func (s *kafkaSink) write(ctx context.Context, rs []Result) error {
	recs := make([]*kgo.Record, len(rs))
	var b []byte
	for i := range rs {
		b = appendHTTPResult(b[:0], s.pipeline, s.key, s.version, &rs[i], s.layout)
		id := fmt.Sprintf("%s/%s/%s/%d", s.pipeline, s.key, versionTag(s.version), rs[i].Row)
		recs[i] = &kgo.Record{Key: []byte(id), Value: append([]byte(nil), b...), Headers: []kgo.RecordHeader{
			{Key: "pipeline", Value: []byte(s.pipeline)}, {Key: "id", Value: []byte(id)},
		}}
	}
	if err := s.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("stream sink: %w", err)
	}
	return nil
}

func (s *kafkaSink) finish(context.Context) error { return nil }

func (s *kafkaSink) setKey(key string) { s.key = key }

func (s *kafkaSink) close() error {
	s.cl.Close()
	return nil
}
