package perch

import "time"

// PipelineState says whether a pipeline takes new objects.
type PipelineState string

// A pipeline is RUNNING when created; PAUSED stops it from starting runs
// (objects that land meanwhile are taken when it resumes). FAILED means
// its source cannot be read (its message says why): it is tried again
// and is RUNNING once it can be. A deleted pipeline is DELETED.
const (
	PipelineRunning PipelineState = "RUNNING"
	PipelinePaused  PipelineState = "PAUSED"
	PipelineFailed  PipelineState = "FAILED"
	PipelineDeleted PipelineState = "DELETED"
)

// UnmarshalText reads a state, taking ACTIVE, which pipelines stored by
// earlier versions hold, as RUNNING.
func (s *PipelineState) UnmarshalText(b []byte) error {
	if string(b) == "ACTIVE" {
		*s = PipelineRunning
		return nil
	}
	*s = PipelineState(b)
	return nil
}

// Pipeline predicts every record that lands in its source with one model
// and writes the results to its sinks. Its definition is what a user
// writes (in YAML or JSON), so its fields carry those names.
//
// Its Status is COMPLETED once the definition is accepted and DELETED
// after it is deleted; State says whether it runs.
type Pipeline struct {
	Meta
	Model      string         `json:"model"`
	Source     PipelineSource `json:"source"`
	Sinks      []PipelineSink `json:"sinks"`
	DeadLetter string         `json:"dead_letter"`
	State      PipelineState  `json:"state"`
}

// PipelineSource is where records come from: objects under a prefix of a
// bucket, each new object (or new version of one) read once; or a stream
// of records. A file in a folder is read once it has stopped changing
// (see pipeline.DefaultSettle); a writer that may pause mid-file writes
// it under a hidden name (.name) and renames it into place.
type PipelineSource struct {
	Objects string `json:"objects,omitempty"` // bucket URL: file:///srv/inbox, s3://bucket?endpoint=…
	Prefix  string `json:"prefix,omitempty"`  // only keys starting with it
	// Format is "csv" (a header naming the schema's attributes, or
	// fields in schema order, with or without the target) or "jsonl";
	// empty means by the key's extension, csv otherwise. A key ending in
	// .gz is gunzipped. Stream messages are CSV lines in schema order
	// (no header) unless the format is jsonl.
	Format string `json:"format,omitempty"`
	// Poll is how often the bucket is listed, as a Go duration ("2s");
	// empty means 250ms for a folder and 1s for S3, whose listings are
	// billed.
	Poll string `json:"poll,omitempty"`
	// Stream, instead of Objects, takes records from a stream, one
	// record a message; a message is acknowledged once its result is
	// committed to every sink.
	Stream *StreamSource `json:"stream,omitempty"`
	// Events, with Objects, is a JetStream subject that carries the
	// bucket's S3 event notifications (as MinIO publishes them): the
	// objects they name are taken at once, besides the listing.
	Events *StreamSource `json:"events,omitempty"`
}

// StreamSource is where records are published: a NATS JetStream
// subject (nats://host:4222 and a subject); a Kafka topic, by URL alone:
// kafka://host1:9092,host2:9092/topic?group=perch-income (the group is
// perch-<pipeline id> if not given, read from the start of the topic;
// tls=true for TLS), where each partition is a key of its own
// (topic/partition) and a record's row is its offset; or a queue or
// subscription opened through gocloud.dev/pubsub by URL alone:
// rabbit://queue (the server in RABBIT_SERVER_URL),
// awssqs://sqs.region.amazonaws.com/acct/queue, mem://topic within the
// process. Those brokers keep no sequence number, so a message's row is
// derived from the broker's message id (for RabbitMQ, the message-id its
// producer sets; without one, the body, and equal bodies are one record),
// the same on every delivery.
type StreamSource struct {
	URL     string `json:"url"`     // nats://host:4222, kafka://host:9092/topic, rabbit://queue, awssqs://…, mem://topic
	Subject string `json:"subject"` // nats:// only
	// Stream names the JetStream stream that holds the subject; empty
	// means one made for the pipeline (perch-<pipeline id>).
	Stream string `json:"stream,omitempty"`
}

// StreamSink publishes each result as a JSON message: to a NATS
// JetStream subject, with a message id naming its record, so that a
// result published again is dropped by the stream; to a Kafka topic
// (kafka://host:9092/topic, made if the cluster allows), each record's
// key naming its result (a compacted topic keeps one of each), with
// headers "pipeline" and "id"; or to a topic opened through
// gocloud.dev/pubsub by URL (rabbit://exchange, awssns://…, awssqs://…,
// mem://topic). Brokers other than JetStream drop nothing, so each message
// carries metadata "pipeline" and "id" (AMQP's message-id too) for
// consumers to drop a result published again.
type StreamSink struct {
	URL     string `json:"url"`
	Subject string `json:"subject"` // nats:// only
}

// PipelineSink is one place results go; exactly one field is set.
type PipelineSink struct {
	SQL     *SQLSink    `json:"sql,omitempty"`
	Objects *ObjectSink `json:"objects,omitempty"`
	HTTP    *HTTPSink   `json:"http,omitempty"`
	Stream  *StreamSink `json:"stream,omitempty"`
}

// SQLSink writes one row per record into a table, created if absent:
// sqlite:///path/results.db or postgres://….
type SQLSink struct {
	URL   string `json:"url"`
	Table string `json:"table"`
}

// ObjectSink writes one output object per input object, as CSV or JSON
// Lines.
type ObjectSink struct {
	URL    string `json:"url"`
	Format string `json:"format,omitempty"` // csv (default) or jsonl
}

// HTTPSink posts results in batches of JSON.
type HTTPSink struct {
	URL   string `json:"url"`
	Batch int    `json:"batch,omitempty"` // results per request; 0 means 500
	// AllowPrivate lets the sink reach loopback, link-local and private
	// addresses, which it refuses by default.
	AllowPrivate bool `json:"allow_private,omitempty"`
}

// PipelineRun is one object version going through a pipeline: created
// the first time the pipeline sees the object's key with that ETag, so
// its id is the durable record that the version was taken. Its counts are
// the checkpoint a run resumes from.
//
// A stream pipeline's run is a minute of its stream instead, keyed
// stream:<subject, topic or queue>@2026-11-26T13:40Z (the minute is its
// Version and Landed): COMPLETED from its first batch, its counts and
// duration grow as batches are committed within the minute.
type PipelineRun struct {
	Meta
	Pipeline string `json:"pipelineId"`
	Key      string `json:"key"`
	Version  string `json:"version"` // the object's ETag
	Size     int64  `json:"size"`
	// Landed is the object's modification time when the run was made.
	Landed time.Time `json:"landedAt,omitzero"`
	// Rows is how many records have been read and committed to every
	// sink; a run that starts again skips their writes.
	Rows        int64    `json:"rows"`
	Predicted   int64    `json:"predicted"`
	DeadLetters int64    `json:"deadLetters"`
	Errors      []string `json:"errors,omitempty"` // the first few dead letters' errors
	DurationMS  int64    `json:"durationMs,omitempty"`
	Output      []string `json:"outputs,omitempty"` // objects written
}
