package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/perchml/perch"
)

// kafkaCluster starts an in-process Kafka cluster with the topics given,
// two partitions each, and returns its brokers as a URL's host list.
func kafkaCluster(t *testing.T, topics ...string) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

// TestKafka predicts records from a Kafka topic of two partitions into a
// table, an object a batch and another topic. The first consumer is
// stopped between predicting a batch and committing its offsets: the
// group's next consumer reads the batch again, and every record is
// written once.
func TestKafka(t *testing.T) {
	brokers := kafkaCluster(t, "records", "predictions")
	e := newEnv(t)
	e.engine.BatchRows = 40
	ctx := context.Background()
	src := "kafka://" + brokers + "/records?group=perch-test"
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: src}}
		p.Sinks = append(p.Sinks, perch.PipelineSink{Stream: &perch.StreamSink{URL: "kafka://" + brokers + "/predictions"}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	pub, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	consumeTwice(t, e, p, "records", func() bool { return true }, func(i int, l string) {
		r := &kgo.Record{Topic: "records", Partition: int32(i % 2), Value: []byte(l)}
		if err := pub.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	})
	// The malformed line was the 51st message, the 26th of partition 0.
	if dl := e.deadLetters(t); len(dl) != 1 || dl[0].Object != "records/0" || dl[0].Row != 25 || dl[0].Version != "kafka" {
		t.Errorf("dead letters %+v", dl)
	}
	// Both partitions are keys of their own, each record's row its offset.
	rows := e.query(t, "SELECT source_key, count(*), min(source_row), max(source_row) FROM predictions GROUP BY source_key ORDER BY source_key")
	if want := "records/0 50 0 50\nrecords/1 50 0 49\n"; rows != want {
		t.Errorf("rows by partition:\n%swant\n%s", rows, want)
	}
	// The group's offsets are at the end of both partitions.
	sub, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumerGroup("perch-test"), kgo.ConsumeTopics("records"))
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	if fs := sub.PollFetches(pctx); len(fs.Records()) != 0 {
		t.Errorf("%d records not committed", len(fs.Records()))
	}
	cancel()
	sub.Close()
	// Every result published once, its key naming it.
	out, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumeTopics("predictions"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ids := map[string]int{}
	deadline := time.Now().Add(5 * time.Second)
	for n := 0; n < 100 && time.Now().Before(deadline); {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		for _, r := range out.PollFetches(pctx).Records() {
			var res map[string]any
			if err := json.Unmarshal(r.Value, &res); err != nil || res["source_row"] == nil {
				t.Fatalf("result %s (%v)", r.Value, err)
			}
			key, _ := res["source_key"].(string)
			if (key != "records/0" && key != "records/1") || len(r.Headers) != 2 || string(r.Headers[1].Value) != string(r.Key) || !strings.HasPrefix(string(r.Key), p.ID+"/"+key+"/") {
				t.Fatalf("result key %s, headers %v", r.Key, r.Headers)
			}
			ids[string(r.Key)]++
			n++
		}
		cancel()
	}
	if len(ids) != 100 {
		t.Errorf("%d results published", len(ids))
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s published %d times", id, n)
		}
	}
}

// TestKafkaJSON reads a topic of JSON records, one a message.
func TestKafkaJSON(t *testing.T) {
	brokers := kafkaCluster(t, "records")
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Format: "jsonl", Stream: &perch.StreamSource{URL: "kafka://" + brokers + "/records"}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.DefaultProduceTopic("records"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, v := range []string{`{"age": 31, "native_country": "Peru"}`, `{"age": "52", "workclass": "Private"}` + "\n", `[1]`} {
		if err := pub.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- e.engine.Consume(ctx, p) }()
	waitRows(t, e, 2)
	if got := e.query(t, "SELECT source_key, source_row, age FROM predictions ORDER BY source_row"); got != "records/1 0 31\nrecords/1 1 52\n" {
		t.Errorf("rows:\n%s", got)
	}
	for deadline := time.Now().Add(5 * time.Second); len(e.deadLetters(t)) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if dl := e.deadLetters(t); len(dl) != 1 || dl[0].Raw != "[1]" || dl[0].Row != 2 {
		t.Errorf("dead letters %+v", dl)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestKafkaCheck takes Kafka URLs with the brokers, the topic and the
// group in them.
func TestKafkaCheck(t *testing.T) {
	for _, c := range []struct {
		src, sink, subject string
		ok                 bool
	}{
		{"kafka://h1:9092,h2:9092/records?group=perch-income", "kafka://h1:9092/out", "", true},
		{"kafka://h1/records", "kafka://[::1]:9093/out?tls=true", "", true},
		{"kafka://h1/records", "kafka://h1/out?group=g", "", false}, // a sink has no group
		{"kafka://h1/records", "kafka://h1/out", "s", false},
		{"kafka://h1:9092", "kafka://h1/out", "", false}, // no topic
		{"kafka:///records", "kafka://h1/out", "", false},
		{"kafka://h1:x/records", "kafka://h1/out", "", false},
		{"kafka://h1,/records", "kafka://h1/out", "", false},
		{"kafka://h1/rec/ords", "kafka://h1/out", "", false},
		{"kafka://h1/records?grop=g", "kafka://h1/out", "", false},
		{"kafka://h1/records?tls=maybe", "kafka://h1/out", "", false},
	} {
		p := perch.Pipeline{Model: "m", DeadLetter: "file:///srv/dead",
			Source: perch.PipelineSource{Stream: &perch.StreamSource{URL: c.src, Subject: c.subject}},
			Sinks:  []perch.PipelineSink{{Stream: &perch.StreamSink{URL: c.sink}}}}
		if err := Check(&p); (err == nil) != c.ok {
			t.Errorf("%s -> %s (subject %q): %v", c.src, c.sink, c.subject, err)
		}
	}
}

// query runs a query on the results table, one line a row, its columns
// apart by spaces.
func (e *env) query(t *testing.T, q string) string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "results.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		v := make([]any, len(cols))
		ptr := make([]any, len(cols))
		for i := range v {
			ptr[i] = &v[i]
		}
		if err := rows.Scan(ptr...); err != nil {
			t.Fatal(err)
		}
		for i, x := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprint(&b, x)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestKafkaDown: a consumer whose brokers do not answer, or whose topic
// is not there, stops with the reason instead of waiting without a word,
// and a sink whose brokers do not take a batch fails it.
func TestKafkaDown(t *testing.T) {
	old := kafkaWait
	kafkaWait = time.Second
	defer func() { kafkaWait = old }()
	brokers := kafkaCluster(t, "records")
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for u, want := range map[string]string{
		"kafka://127.0.0.1:1/records":     "no broker answered",
		"kafka://" + brokers + "/missing": "topic missing: UNKNOWN_TOPIC_OR_PARTITION",
	} {
		p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
			p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: u}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.engine.Consume(ctx, p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", u, err, want)
		}
	}
	s, err := openKafkaSink(&perch.StreamSink{URL: "kafka://127.0.0.1:1/out"}, NewLayout(adult(t).Model()), "p", "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	start := time.Now()
	if err := s.write(ctx, []Result{{Record: Record{Row: 1}}}); err == nil || ctx.Err() != nil {
		t.Errorf("a write to no broker: %v after %s", err, time.Since(start))
	}
}
