package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/perchml/perch"
	"github.com/perchml/perch/objects"
)

// S3Object is an object an S3 event notification says was created.
type S3Object struct {
	Bucket string
	Key    string
}

// ParseS3Event reads an S3 event notification as AWS and MinIO send it
// ({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":…},
// "object":{"key":…}}}]}) and returns the objects created; events of
// other kinds are left out. Keys come URL-encoded, as S3 sends them.
func ParseS3Event(b []byte) ([]S3Object, error) {
	var n struct {
		Records []struct {
			EventName string `json:"eventName"`
			S3        struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key string `json:"key"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, perch.Errorf(perch.EInvalid, "not an S3 event notification: %v", err)
	}
	var out []S3Object
	for _, r := range n.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") && !strings.HasPrefix(r.EventName, "s3:ObjectCreated:") {
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, perch.Errorf(perch.EInvalid, "S3 event: object key %q: %v", r.S3.Object.Key, err)
		}
		out = append(out, S3Object{Bucket: r.S3.Bucket.Name, Key: key})
	}
	return out, nil
}

// Notify takes an object a notification says was created in a pipeline's
// source, as a listing would have: the run of its current version is made
// once, whichever comes first. It reports false for an object the
// pipeline does not watch (another bucket, outside the prefix, hidden).
func (e *Engine) Notify(ctx context.Context, p *perch.Pipeline, o S3Object, enqueue func(ctx context.Context, runID string, attempt int) error) (bool, error) {
	if u, err := url.Parse(p.Source.Objects); err == nil && u.Scheme == "s3" && o.Bucket != "" && o.Bucket != u.Host {
		return false, nil
	}
	if !strings.HasPrefix(o.Key, p.Source.Prefix) || strings.HasPrefix(path.Base(o.Key), ".") {
		return false, nil
	}
	b, err := objects.Open(ctx, p.Source.Objects)
	if err != nil {
		return false, err
	}
	defer b.Close()
	a, err := b.Attributes(ctx, o.Key)
	if perch.Code(err) == perch.ENotFound {
		return false, nil // deleted since
	}
	if err != nil {
		return false, err
	}
	return true, e.take(ctx, p, a, enqueue)
}

// Events takes the objects that S3 event notifications published to a
// pipeline's events subject name, until ctx is done; a notification is
// acknowledged once its objects are taken. Notifications that are not
// S3's are acknowledged and dropped, with a warning.
func (e *Engine) Events(ctx context.Context, p *perch.Pipeline, enqueue func(ctx context.Context, runID string, attempt int) error) error {
	src := p.Source.Events
	nc, js, err := connect(src.URL)
	if err != nil {
		return err
	}
	defer nc.Close()
	cons, err := e.jetStreamConsumer(ctx, js, "events", src.URL, src.Stream, src.Subject,
		"perch-events-"+streamNameBad.ReplaceAllString(p.ID, "_"), 0)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(250*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("events %s: %w", src.URL, err)
		}
		for m := range batch.Messages() {
			objs, err := ParseS3Event(m.Data())
			if err != nil {
				e.log().Warn("pipeline events: not an S3 event notification", "pipeline", p.ID, "err", err)
			}
			for _, o := range objs {
				if _, err := e.Notify(ctx, p, o, enqueue); err != nil {
					return err // not acknowledged: delivered again
				}
			}
			if err := m.Ack(); err != nil {
				return fmt.Errorf("events %s: ack: %w", src.URL, err)
			}
		}
	}
	return nil
}
