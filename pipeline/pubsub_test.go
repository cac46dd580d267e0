package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/pubsub"

	"github.com/perchml/perch"
)

// streamLines is 100 records as stream messages: CSV lines in schema
// order, with a malformed one before the 51st.
func streamLines(t *testing.T) []string {
	lines := strings.Split(strings.TrimSpace(string(testRows(t, 100))), "\n")[1:]
	return append(lines[:50:50], append([]string{"not, a, record"}, lines[50:]...)...)
}

// counted is a counter's value.
func counted(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

var memTopics atomic.Int64

// memTopic names a mem:// topic of the test's own: the process keeps
// them, and their message numbers, across tests.
func memTopic(name string) string {
	return fmt.Sprintf("%s.%d", name, memTopics.Add(1))
}

// consumeTwice runs a stream pipeline whose first consumer is stopped
// between predicting a batch and committing it, then a second one, and
// checks that every record was written once, from the messages
// delivered again, and counted once in the runs of source.
func consumeTwice(t *testing.T, e *env, p *perch.Pipeline, source string, ready func() bool, publish func(i int, line string)) {
	t.Helper()
	ctx := context.Background()
	predicted := mRecords.WithLabelValues(p.ID, "predicted")
	base := counted(predicted)
	var stops atomic.Int32
	first, cancel := context.WithCancel(ctx)
	streamBeforeCommit = func() {
		if stops.Add(1) == 1 {
			cancel() // the consumer dies between predict and commit
		}
	}
	defer func() { streamBeforeCommit = nil }()
	done := make(chan error, 1)
	go func() { done <- e.engine.Consume(first, p) }()
	for deadline := time.Now().Add(5 * time.Second); !ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the consumer did not subscribe")
		}
	}
	for i, l := range streamLines(t) {
		publish(i, l)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first consumer did not stop")
	}
	if n, _, _ := e.count(); n != 0 {
		t.Fatalf("the stopped consumer committed %d rows", n)
	}
	second, cancel2 := context.WithCancel(ctx)
	done2 := make(chan error, 1)
	go func() { done2 <- e.engine.Consume(second, p) }()
	waitRows(t, e, 100)
	// Rows are in the table before the other sinks have them: stop once
	// every batch is acknowledged.
	for deadline := time.Now().Add(5 * time.Second); counted(predicted)-base < 100; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v records acknowledged", counted(predicted)-base)
		}
	}
	cancel2()
	if err := <-done2; err != nil {
		t.Error(err)
	}
	if n, distinct := e.rows(t); n != 100 || distinct != 100 {
		t.Errorf("%d rows, %d distinct", n, distinct)
	}
	if stops.Load() < 2 {
		t.Errorf("%d batches", stops.Load())
	}
	if dl := e.deadLetters(t); len(dl) != 1 || dl[0].Raw != "not, a, record" {
		t.Errorf("dead letters %+v", dl)
	}
	checkStreamRuns(t, e, p, source)
}

// TestPubsubMem predicts records from a mem:// topic into a table, an
// object a batch and another mem:// topic, through a consumer stopped
// before it commits: what it left unacknowledged comes again after the
// ack deadline.
func TestPubsubMem(t *testing.T) {
	e := newEnv(t)
	e.engine.BatchRows = 40
	ctx := context.Background()
	topic := memTopic("records")
	in, err := pubsub.OpenTopic(ctx, "mem://"+topic)
	if err != nil {
		t.Fatal(err)
	}
	outURL := "mem://" + memTopic("predictions")
	if _, err := pubsub.OpenTopic(ctx, outURL); err != nil { // made before a subscription can read it
		t.Fatal(err)
	}
	results, err := pubsub.OpenSubscription(ctx, outURL)
	if err != nil {
		t.Fatal(err)
	}
	defer results.Shutdown(ctx)
	src := "mem://" + topic + "?ackdeadline=1s"
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: src}}
		p.Sinks = append(p.Sinks, perch.PipelineSink{Stream: &perch.StreamSink{URL: outURL}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	ready := func() bool {
		memSubs.Lock()
		defer memSubs.Unlock()
		return memSubs.m[src] != nil
	}
	consumeTwice(t, e, p, topic, ready, func(_ int, l string) {
		if err := in.Send(ctx, &pubsub.Message{Body: []byte(l)}); err != nil {
			t.Fatal(err)
		}
	})
	if dl := e.deadLetters(t); len(dl) != 1 || dl[0].Row != 51 || dl[0].Object != topic || dl[0].Version != "mem" {
		t.Errorf("dead letters %+v", dl)
	}
	// Every record published, each naming itself.
	ids := map[string]bool{}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for len(ids) < 100 {
		m, err := results.Receive(rctx)
		if err != nil {
			t.Fatalf("%d results: %v", len(ids), err)
		}
		m.Ack()
		var r map[string]any
		if err := json.Unmarshal(m.Body, &r); err != nil {
			t.Fatal(err)
		}
		if m.Metadata["pipeline"] != p.ID || !strings.HasPrefix(m.Metadata["id"], p.ID+"/"+topic+"/") || r["source_row"] == nil {
			t.Fatalf("result %s %v", m.Body, m.Metadata)
		}
		ids[m.Metadata["id"]] = true
	}
}

// TestPubsubSink publishes an object's results to a mem:// topic.
func TestPubsubSink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	outURL := "mem://" + memTopic("sink")
	if _, err := pubsub.OpenTopic(ctx, outURL); err != nil {
		t.Fatal(err)
	}
	sub, err := pubsub.OpenSubscription(ctx, outURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Sinks = []perch.PipelineSink{{Stream: &perch.StreamSink{URL: outURL}}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	e.p = p
	r := e.drop(t, "a.csv", testRows(t, 50))
	if err := e.engine.Run(ctx, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ids := map[string]bool{}
	for len(ids) < 50 {
		m, err := sub.Receive(rctx)
		if err != nil {
			t.Fatalf("%d results: %v", len(ids), err)
		}
		m.Ack()
		var res struct {
			Key string `json:"source_key"`
		}
		if err := json.Unmarshal(m.Body, &res); err != nil || res.Key != "a.csv" {
			t.Fatalf("result %s (%v)", m.Body, err)
		}
		if m.Metadata["pipeline"] != p.ID || !strings.HasPrefix(m.Metadata["id"], p.ID+"/a.csv/") {
			t.Fatalf("metadata %v", m.Metadata)
		}
		ids[m.Metadata["id"]] = true
	}
}

// TestPubsubCheck takes the URLs of gocloud's drivers, with the topic in
// the URL.
func TestPubsubCheck(t *testing.T) {
	for _, c := range []struct {
		src, sink, subject string
		ok                 bool
	}{
		{"mem://records", "mem://out", "", true},
		{"rabbit://queue", "rabbit://exchange", "", true},
		{"awssqs://sqs.us-east-2.amazonaws.com/123/q?region=us-east-2", "awssns:///arn:aws:sns:us-east-2:123:t?region=us-east-2", "", true},
		{"mem://records", "mem://out", "s", false}, // a subject would be ignored
		{"mem://", "mem://out", "", false},
		{"kafka://g?topic=t", "mem://out", "", false}, // the topic is the path
		{"http://h", "mem://out", "", false},
	} {
		p := perch.Pipeline{Model: "m", DeadLetter: "file:///srv/dead",
			Source: perch.PipelineSource{Stream: &perch.StreamSource{URL: c.src, Subject: c.subject}},
			Sinks:  []perch.PipelineSink{{Stream: &perch.StreamSink{URL: c.sink}}}}
		if err := Check(&p); (err == nil) != c.ok {
			t.Errorf("%s -> %s (subject %q): %v", c.src, c.sink, c.subject, err)
		}
	}
}

// rabbitURL is the local RabbitMQ, or the skip reason.
func rabbitURL(t *testing.T) string {
	u := os.Getenv("RABBIT_SERVER_URL")
	if u == "" {
		u = "amqp://guest:guest@127.0.0.1:5672/"
		t.Setenv("RABBIT_SERVER_URL", u)
	}
	conn, err := amqp.Dial(u)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ at RABBIT_SERVER_URL: %v", err)
		}
		t.Skipf("RabbitMQ not reachable at RABBIT_SERVER_URL (%v); start one (amqp://guest:guest@127.0.0.1:5672/) to run this test", err)
	}
	conn.Close()
	return u
}

// TestPubsubRabbit reads a RabbitMQ queue: a consumer stopped before it
// commits leaves its messages to the broker, which gives them to the
// next one.
func TestPubsubRabbit(t *testing.T) {
	u := rabbitURL(t)
	conn, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	name := fmt.Sprintf("perch-test-%d", time.Now().UnixNano())
	if err := ch.ExchangeDeclare(name, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer ch.QueueDelete(name, false, false, false)
	defer ch.ExchangeDelete(name, false, false)
	if err := ch.QueueBind(name, "", name, false, nil); err != nil {
		t.Fatal(err)
	}
	out := name + "-out"
	if err := ch.ExchangeDeclare(out, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(out, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer ch.QueueDelete(out, false, false, false)
	defer ch.ExchangeDelete(out, false, false)
	if err := ch.QueueBind(out, "", out, false, nil); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.engine.BatchRows = 40
	ctx := context.Background()
	in, err := pubsub.OpenTopic(ctx, "rabbit://"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Shutdown(ctx)
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: "rabbit://" + name}}
		p.Sinks = append(p.Sinks, perch.PipelineSink{Stream: &perch.StreamSink{URL: "rabbit://" + out}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	// The queue holds what is published before the consumer comes.
	consumeTwice(t, e, p, name, func() bool { return true }, func(i int, l string) {
		m := &pubsub.Message{Body: []byte(l), BeforeSend: func(as func(any) bool) error {
			var pub *amqp.Publishing
			if as(&pub) {
				pub.MessageId = fmt.Sprintf("m%d", i) // the producer names each record
			}
			return nil
		}}
		if err := in.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	})
	if q, err := ch.QueueDeclarePassive(name, false, false, false, false, nil); err != nil || q.Messages != 0 {
		t.Errorf("queue after: %+v (%v)", q, err)
	}
	// Every result published, named by its message-id and headers.
	ids := map[string]bool{}
	for deadline := time.Now().Add(5 * time.Second); len(ids) < 100; {
		d, ok, err := ch.Get(out, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if time.Now().After(deadline) {
				t.Fatalf("%d results", len(ids))
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if d.MessageId == "" || d.Headers["id"] != d.MessageId || d.Headers["pipeline"] != p.ID {
			t.Fatalf("result %s: message-id %q, headers %v", d.Body, d.MessageId, d.Headers)
		}
		ids[d.MessageId] = true
	}
}

// TestPubsubNack refuses a batch a sink fails on: it comes again at
// once, long before the ack deadline, to the consumer started next.
func TestPubsubNack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	topic := memTopic("nack")
	in, err := pubsub.OpenTopic(ctx, "mem://"+topic)
	if err != nil {
		t.Fatal(err)
	}
	src := "mem://" + topic + "?ackdeadline=10m"
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: src}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(e.dir, "outbox")
	os.RemoveAll(outbox)
	if err := os.WriteFile(outbox, nil, 0o600); err != nil { // a file where the outbox goes
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.engine.Consume(ctx, p) }()
	for !func() bool { memSubs.Lock(); defer memSubs.Unlock(); return memSubs.m[src] != nil }() {
		time.Sleep(10 * time.Millisecond)
	}
	for _, l := range streamLines(t)[:20] {
		if err := in.Send(ctx, &pubsub.Message{Body: []byte(l)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the consumer went on without its outbox")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer did not fail")
	}
	os.Remove(outbox)
	os.MkdirAll(outbox, 0o700)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.engine.Consume(cctx, p)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if entries, _ := os.ReadDir(outbox); len(entries) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused batch did not come again")
		}
	}
	if n, distinct := e.rows(t); n != 20 || distinct != 20 {
		t.Errorf("%d rows, %d distinct", n, distinct)
	}
}
