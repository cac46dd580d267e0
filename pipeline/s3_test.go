package pipeline

import (
	"bytes"
	"context"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/s3fake"
	"github.com/perchml/perch/objects"
)

// TestS3Event runs a pipeline over the S3 protocol (an in-process S3
// server spoken to by the real S3 client), triggered by a posted S3 event
// notification: the object is read from the bucket, its results and
// dead letters land in other buckets, and the same event again, or a
// listing of the bucket, starts nothing more.
func TestS3Event(t *testing.T) {
	ctx := context.Background()
	s3url := fakeS3(t, "inbox", "outbox", "dead")
	e := newEnv(t)
	if _, err := e.store.UpdatePipeline(ctx, e.p.ID, func(p *perch.Pipeline) error {
		p.Source = perch.PipelineSource{Objects: s3url("inbox"), Prefix: "incoming/"}
		p.Sinks[1].Objects.URL = s3url("outbox")
		p.DeadLetter = s3url("dead")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.store.GetPipeline(ctx, e.p.ID)
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	in, err := objects.Open(ctx, s3url("inbox"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Write(ctx, "incoming/a b.csv", bytes.NewReader(append(testRows(t, 1000), malformed...)), "text/csv"); err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"Records":[
		{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"inbox"},"object":{"key":"incoming/a+b.csv","size":1}}},
		{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"inbox"},"object":{"key":"incoming/gone.csv"}}},
		{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"other"},"object":{"key":"incoming/a+b.csv"}}}]}`)
	objs, err := ParseS3Event(event)
	if err != nil || len(objs) != 2 || objs[0].Key != "incoming/a b.csv" {
		t.Fatalf("parsed %+v (%v)", objs, err)
	}
	var runs []string
	enqueue := func(ctx context.Context, id string, attempt int) error {
		runs = append(runs, id)
		return e.engine.Run(ctx, id, attempt)
	}
	taken := 0
	for range 2 { // the same event twice
		for _, o := range objs {
			ok, err := e.engine.Notify(ctx, p, o, enqueue)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				taken++
			}
		}
	}
	if taken != 2 || len(runs) != 1 {
		t.Fatalf("taken %d, runs %v", taken, runs)
	}
	// A listing finds the version taken.
	w := &Watcher{Engine: e.engine, Enqueue: enqueue, sources: map[string]*source{}}
	if _, err := w.scan(ctx, DefaultSettle); err != nil || len(runs) != 1 {
		t.Fatalf("after a listing: runs %v (%v)", runs, err)
	}
	r, err := e.store.GetPipelineRun(ctx, runs[0])
	if err != nil || r.Status != perch.StatusCompleted || r.Predicted != 1000 || r.DeadLetters != 3 {
		t.Fatalf("run %+v (%v)", r, err)
	}
	if n, _ := e.rows(t); n != 1000 {
		t.Errorf("%d rows", n)
	}
	out, err := objects.Open(ctx, s3url("outbox"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	b, err := out.ReadAll(ctx, "a b.csv")
	if err != nil || bytes.Count(b, []byte("\n")) != 1001 {
		t.Errorf("output: %d lines (%v)", bytes.Count(b, []byte("\n")), err)
	}
	dead, err := objects.Open(ctx, s3url("dead"))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	list, err := dead.List(ctx, "")
	if err != nil || len(list) != 1 {
		t.Fatalf("dead letters: %+v (%v)", list, err)
	}
}

// fakeS3 starts an in-process S3 server with the buckets named and
// returns the URL of a bucket on it.
func fakeS3(t *testing.T, buckets ...string) func(bucket string) string {
	t.Helper()
	return s3fake.Start(t, buckets...).Bucket
}
