package pipeline

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// natsServer starts an in-process NATS server with JetStream.
func natsServer(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// TestStream predicts records published to a JetStream subject into a
// table and another subject. The first consumer is stopped between
// predicting a batch and committing it: its messages are delivered again
// to the next one, and every record is written once.
func TestStream(t *testing.T) {
	u := natsServer(t)
	e := newEnv(t)
	e.engine.AckWait = time.Second
	e.engine.BatchRows = 40
	ctx := context.Background()
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Stream: &perch.StreamSource{URL: u, Subject: "records.income"}}
		p.Sinks = append(p.Sinks, perch.PipelineSink{Stream: &perch.StreamSink{URL: u, Subject: "predictions.income"}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	// The stream exists once a consumer made it; publish after that.
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
	nc, js, err := connect(u)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for {
		if _, err := js.Stream(ctx, streamName(p)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(string(testRows(t, 100))), "\n")[1:]
	for i, l := range lines {
		if i == 50 {
			js.Publish(ctx, "records.income", []byte("not, a, record"))
		}
		if _, err := js.Publish(ctx, "records.income", []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _, _ := e.count(); n != 0 {
		t.Fatalf("the stopped consumer committed %d rows", n)
	}
	// The next consumer gets the messages again, after the ack wait.
	second, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	go e.engine.Consume(second, p)
	waitRows(t, e, 100)
	if stops.Load() < 2 {
		t.Errorf("%d batches", stops.Load())
	}
	if dl := e.deadLetters(t); len(dl) != 1 || dl[0].Raw != "not, a, record" || dl[0].Row != 51 {
		t.Errorf("dead letters %+v", dl)
	}
	checkStreamRuns(t, e, p, "records.income")
	// Every message acknowledged, every result published once.
	cons, err := js.Consumer(ctx, streamName(p), "perch-"+p.ID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer: %d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := js.Stream(ctx, "perch-out-"+p.ID)
	if err != nil {
		t.Fatal(err)
	}
	info, err := out.Info(ctx)
	if err != nil || info.State.Msgs != 100 {
		t.Errorf("%v results published (%v)", info.State.Msgs, err)
	}
}

// TestS3EventsFromStream takes an object of an S3 bucket when its event
// notification arrives on a JetStream subject, as MinIO publishes them.
func TestS3EventsFromStream(t *testing.T) {
	u := natsServer(t)
	s3url := fakeS3(t, "inbox", "outbox", "dead")
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Objects: s3url("inbox"), Events: &perch.StreamSource{URL: u, Subject: "minio.events"}}
		p.Sinks[1].Objects.URL = s3url("outbox")
		p.DeadLetter = s3url("dead")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	go e.engine.Events(ctx, p, func(ctx context.Context, id string, attempt int) error {
		return e.engine.Run(ctx, id, attempt)
	})
	in, err := objects.Open(ctx, s3url("inbox"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Write(ctx, "a.csv", bytes.NewReader(testRows(t, 500)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	nc, js, err := connect(u)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for {
		if _, err := js.StreamNameBySubject(ctx, "minio.events"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	event := `{"EventName":"s3:ObjectCreated:Put","Key":"inbox/a.csv","Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"inbox"},"object":{"key":"a.csv"}}}]}`
	for range 2 {
		if _, err := js.Publish(ctx, "minio.events", []byte(event)); err != nil {
			t.Fatal(err)
		}
	}
	waitRows(t, e, 500)
	time.Sleep(100 * time.Millisecond)
	runs, _, err := e.store.ListPipelineRuns(ctx, perch.Filter{Variable: "PipelineId", Op: perch.OpEQ, Value: p.ID})
	if err != nil || len(runs) != 1 || runs[0].Status != perch.StatusCompleted {
		t.Errorf("runs %+v (%v)", runs, err)
	}
}
