package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/perchml/perch"
)

// FailedError is an entity whose job ended without completing: it FAILED,
// or it was DELETED while waited for.
type FailedError struct {
	Resource string // DataSources, MLModels, Evaluations or BatchPredictions
	ID       string
	Status   perch.Status
	Message  string // the entity's message: why it failed
}

func (e *FailedError) Error() string {
	s := fmt.Sprintf("%s %s %s", noun(e.Resource), e.ID, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// resourcePath maps the names a resource goes by (the REST path's, AML's,
// singular or plural) to the REST path's.
func resourcePath(resource string) (string, error) {
	switch strings.ToLower(resource) {
	case "datasources", "datasource":
		return DataSources, nil
	case "models", "model", "mlmodels", "mlmodel":
		return MLModels, nil
	case "evaluations", "evaluation":
		return Evaluations, nil
	case "batchpredictions", "batchprediction":
		return BatchPredictions, nil
	}
	return "", perch.Errorf(perch.EInvalid, "resource type %q: want datasources, models, evaluations or batchpredictions", resource)
}

func noun(resource string) string {
	switch resource {
	case DataSources:
		return "data source"
	case MLModels:
		return "model"
	case Evaluations:
		return "evaluation"
	case BatchPredictions:
		return "batch prediction"
	}
	return resource
}

// maxPollFailures is how many polls in a row may fail to reach the server
// (a restart, a proxy hiccup) before Wait gives up.
const maxPollFailures = 5

// Wait polls an entity until its job is done: nil when it is COMPLETED, a
// *FailedError carrying its message when it FAILED or was DELETED, or the
// context's error. The polls start quick, so a short job is not waited on
// for long, and slow down to one every interval (0: one second). A poll
// that does not reach the server is tried again, a few times, so a server
// restart does not end a long wait.
func (c *Client) Wait(ctx context.Context, resource, id string, every time.Duration) error {
	return c.WaitWatching(ctx, resource, id, every, nil)
}

// WaitWatching is Wait, calling watch with the entity at every poll that
// reaches the server, so that a caller can show its progress.
func (c *Client) WaitWatching(ctx context.Context, resource, id string, every time.Duration, watch func(*perch.Meta)) error {
	res, err := resourcePath(resource)
	if err != nil {
		return err
	}
	if every <= 0 {
		every = time.Second
	}
	delay := max(every/16, min(every, 10*time.Millisecond))
	failures := 0
	for {
		m, err := one[perch.Meta](ctx, c, http.MethodGet, res, id, "", nil)
		switch {
		case err == nil:
			failures = 0
			if watch != nil {
				watch(m)
			}
			switch m.Status {
			case perch.StatusCompleted:
				return nil
			case perch.StatusFailed, perch.StatusDeleted:
				return &FailedError{Resource: res, ID: id, Status: m.Status, Message: m.Message}
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case !transient(err):
			return err
		default:
			if failures++; failures >= maxPollFailures {
				return err
			}
			delay = every // give a restarting server time
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, every)
	}
}

// transient reports whether an error may pass if the request is made
// again: the server was not reached, or a gateway in front of it failed.
func transient(err error) bool {
	if _, ok := errors.AsType[*transportError](err); ok {
		return true
	}
	e, ok := errors.AsType[*Error](err)
	if !ok {
		return false
	}
	switch e.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
