package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/perchml/perch"
	"github.com/perchml/perch/pipeline"
	"github.com/perchml/perch/service"
)

// Pipelines is the resource name of pipelines in REST paths.
const Pipelines = "pipelines"

// CreatePipeline creates a pipeline (with the root key); it is RUNNING at
// once.
func (c *Client) CreatePipeline(ctx context.Context, in service.PipelineInput) (*perch.Pipeline, error) {
	return create[perch.Pipeline](ctx, c, Pipelines, in)
}

// CreatePipelineFrom creates a pipeline from its definition as written:
// JSON, or YAML when yaml is set.
func (c *Client) CreatePipelineFrom(ctx context.Context, def []byte, yaml bool) (*perch.Pipeline, error) {
	ctype := "application/json"
	if yaml {
		ctype = "application/yaml"
	}
	resp, err := c.send(ctx, request{method: http.MethodPost, path: "/v1/" + Pipelines, body: bytes.NewReader(def), ctype: ctype, size: int64(len(def))})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var p perch.Pipeline
	if err := decode(resp, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetPipeline returns a pipeline.
func (c *Client) GetPipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	return one[perch.Pipeline](ctx, c, http.MethodGet, Pipelines, id, "", nil)
}

// ListPipelines returns one page of pipelines and the token of the next
// ("" after the last).
func (c *Client) ListPipelines(ctx context.Context, f perch.Filter) ([]*perch.Pipeline, string, error) {
	return list[*perch.Pipeline](ctx, c, "/v1/"+Pipelines, f)
}

// PausePipeline stops a pipeline from starting runs until it resumes.
func (c *Client) PausePipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	return one[perch.Pipeline](ctx, c, http.MethodPost, Pipelines, id, "/pause", nil)
}

// ResumePipeline makes a paused pipeline RUNNING again.
func (c *Client) ResumePipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	return one[perch.Pipeline](ctx, c, http.MethodPost, Pipelines, id, "/resume", nil)
}

// DeletePipeline stops a pipeline for good (with the root key).
func (c *Client) DeletePipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	return one[perch.Pipeline](ctx, c, http.MethodDelete, Pipelines, id, "", nil)
}

// ListPipelineRuns returns one page of a pipeline's runs; only f's sort,
// limit and page token apply.
func (c *Client) ListPipelineRuns(ctx context.Context, id string, f perch.Filter) ([]*perch.PipelineRun, string, error) {
	p, err := escapeID(id)
	if err != nil {
		return nil, "", err
	}
	f.Variable, f.Op, f.Value = "", "", ""
	return list[*perch.PipelineRun](ctx, c, "/v1/"+Pipelines+"/"+p+"/runs", f)
}

// ReplayPipeline reads a pipeline's dead letters again, after a fix.
func (c *Client) ReplayPipeline(ctx context.Context, id string) (*pipeline.ReplayResult, error) {
	return one[pipeline.ReplayResult](ctx, c, http.MethodPost, Pipelines, id, "/replay", nil)
}

// TestPipeline runs a pipeline on r, read as an object named key would be
// (its extension picks the format), and returns what the sinks would
// get; nothing is written.
func (c *Client) TestPipeline(ctx context.Context, id, key string, r io.Reader) (*pipeline.Preview, error) {
	p, err := escapeID(id)
	if err != nil {
		return nil, err
	}
	body := struct{ io.Reader }{r}
	resp, err := c.send(ctx, request{method: http.MethodPost, path: "/v1/" + Pipelines + "/" + p + "/test",
		query: url.Values{"key": {key}}, body: body, ctype: "application/octet-stream", size: sizeOf(r)})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var pv pipeline.Preview
	if err := decode(resp, &pv); err != nil {
		return nil, err
	}
	return &pv, nil
}
