package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// The resource names of the REST paths (/v1/{resource}/{id}), as Tags and
// Wait take them.
const (
	DataSources      = "datasources"
	MLModels         = "models"
	Evaluations      = "evaluations"
	BatchPredictions = "batchpredictions"
)

func create[T any](ctx context.Context, c *Client, resource string, in any) (*T, error) {
	v := new(T)
	if err := c.call(ctx, http.MethodPost, "/v1/"+resource, nil, in, v); err != nil {
		return nil, err
	}
	return v, nil
}

// one calls a method on /v1/{resource}/{id}[/suffix] and decodes the
// entity it answers with.
func one[T any](ctx context.Context, c *Client, method, resource, id, suffix string, in any) (*T, error) {
	p, err := escapeID(id)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := c.call(ctx, method, "/v1/"+resource+"/"+p+suffix, nil, in, v); err != nil {
		return nil, err
	}
	return v, nil
}

func rawOf(ctx context.Context, c *Client, resource, id, suffix string) (json.RawMessage, error) {
	p, err := escapeID(id)
	if err != nil {
		return nil, err
	}
	return c.raw(ctx, "/v1/"+resource+"/"+p+suffix)
}

// CreateDataSource creates a data source; its job reads the data in the
// background (see Wait).
func (c *Client) CreateDataSource(ctx context.Context, in service.DataSourceInput) (*perch.DataSource, error) {
	return create[perch.DataSource](ctx, c, DataSources, in)
}

// GetDataSource returns a data source.
func (c *Client) GetDataSource(ctx context.Context, id string) (*perch.DataSource, error) {
	return one[perch.DataSource](ctx, c, http.MethodGet, DataSources, id, "", nil)
}

// ListDataSources returns one page of data sources and the token of the
// next ("" after the last).
func (c *Client) ListDataSources(ctx context.Context, f perch.Filter) ([]*perch.DataSource, string, error) {
	return list[*perch.DataSource](ctx, c, "/v1/"+DataSources, f)
}

// UpdateDataSource renames a data source.
func (c *Client) UpdateDataSource(ctx context.Context, id string, u service.Update) (*perch.DataSource, error) {
	return one[perch.DataSource](ctx, c, http.MethodPatch, DataSources, id, "", u)
}

// DeleteDataSource marks a data source DELETED and returns it.
func (c *Client) DeleteDataSource(ctx context.Context, id string) (*perch.DataSource, error) {
	return one[perch.DataSource](ctx, c, http.MethodDelete, DataSources, id, "", nil)
}

// DataSourceStatistics returns the statistics of a data source created
// with ComputeStatistics, as the server's JSON.
func (c *Client) DataSourceStatistics(ctx context.Context, id string) (json.RawMessage, error) {
	return rawOf(ctx, c, DataSources, id, "/statistics")
}

// CreateMLModel creates a model; it trains in the background (see Wait).
func (c *Client) CreateMLModel(ctx context.Context, in service.MLModelInput) (*perch.MLModel, error) {
	return create[perch.MLModel](ctx, c, MLModels, in)
}

// GetMLModel returns a model.
func (c *Client) GetMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	return one[perch.MLModel](ctx, c, http.MethodGet, MLModels, id, "", nil)
}

// ListMLModels returns one page of models and the token of the next.
func (c *Client) ListMLModels(ctx context.Context, f perch.Filter) ([]*perch.MLModel, string, error) {
	return list[*perch.MLModel](ctx, c, "/v1/"+MLModels, f)
}

// UpdateMLModel renames a model or sets its score threshold.
func (c *Client) UpdateMLModel(ctx context.Context, id string, u service.Update) (*perch.MLModel, error) {
	return one[perch.MLModel](ctx, c, http.MethodPatch, MLModels, id, "", u)
}

// DeleteMLModel marks a model DELETED (closing its endpoint) and returns
// it.
func (c *Client) DeleteMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	return one[perch.MLModel](ctx, c, http.MethodDelete, MLModels, id, "", nil)
}

// CreateEndpoint opens a COMPLETED model to real-time predictions, sized
// for peak requests per second (0: the server's default).
func (c *Client) CreateEndpoint(ctx context.Context, id string, peak int) (*perch.MLModel, error) {
	in := struct {
		Peak int `json:"peakRequestsPerSecond"`
	}{peak}
	return one[perch.MLModel](ctx, c, http.MethodPost, MLModels, id, "/endpoint", in)
}

// DeleteEndpoint closes a model's real-time endpoint.
func (c *Client) DeleteEndpoint(ctx context.Context, id string) (*perch.MLModel, error) {
	return one[perch.MLModel](ctx, c, http.MethodDelete, MLModels, id, "/endpoint", nil)
}

// CreateEvaluation creates an evaluation; it runs in the background.
func (c *Client) CreateEvaluation(ctx context.Context, in service.EvaluationInput) (*perch.Evaluation, error) {
	return create[perch.Evaluation](ctx, c, Evaluations, in)
}

// GetEvaluation returns an evaluation.
func (c *Client) GetEvaluation(ctx context.Context, id string) (*perch.Evaluation, error) {
	return one[perch.Evaluation](ctx, c, http.MethodGet, Evaluations, id, "", nil)
}

// ListEvaluations returns one page of evaluations and the token of the
// next.
func (c *Client) ListEvaluations(ctx context.Context, f perch.Filter) ([]*perch.Evaluation, string, error) {
	return list[*perch.Evaluation](ctx, c, "/v1/"+Evaluations, f)
}

// UpdateEvaluation renames an evaluation.
func (c *Client) UpdateEvaluation(ctx context.Context, id string, u service.Update) (*perch.Evaluation, error) {
	return one[perch.Evaluation](ctx, c, http.MethodPatch, Evaluations, id, "", u)
}

// DeleteEvaluation marks an evaluation DELETED and returns it.
func (c *Client) DeleteEvaluation(ctx context.Context, id string) (*perch.Evaluation, error) {
	return one[perch.Evaluation](ctx, c, http.MethodDelete, Evaluations, id, "", nil)
}

// EvaluationReport returns the full report of a COMPLETED evaluation (ROC,
// threshold table, confusion matrix, …) as the server's JSON.
func (c *Client) EvaluationReport(ctx context.Context, id string) (json.RawMessage, error) {
	return rawOf(ctx, c, Evaluations, id, "/report")
}

// CreateBatchPrediction creates a batch prediction; it runs in the
// background.
func (c *Client) CreateBatchPrediction(ctx context.Context, in service.BatchPredictionInput) (*perch.BatchPrediction, error) {
	return create[perch.BatchPrediction](ctx, c, BatchPredictions, in)
}

// GetBatchPrediction returns a batch prediction.
func (c *Client) GetBatchPrediction(ctx context.Context, id string) (*perch.BatchPrediction, error) {
	return one[perch.BatchPrediction](ctx, c, http.MethodGet, BatchPredictions, id, "", nil)
}

// ListBatchPredictions returns one page of batch predictions and the
// token of the next.
func (c *Client) ListBatchPredictions(ctx context.Context, f perch.Filter) ([]*perch.BatchPrediction, string, error) {
	return list[*perch.BatchPrediction](ctx, c, "/v1/"+BatchPredictions, f)
}

// UpdateBatchPrediction renames a batch prediction.
func (c *Client) UpdateBatchPrediction(ctx context.Context, id string, u service.Update) (*perch.BatchPrediction, error) {
	return one[perch.BatchPrediction](ctx, c, http.MethodPatch, BatchPredictions, id, "", u)
}

// DeleteBatchPrediction marks a batch prediction DELETED and returns it.
func (c *Client) DeleteBatchPrediction(ctx context.Context, id string) (*perch.BatchPrediction, error) {
	return one[perch.BatchPrediction](ctx, c, http.MethodDelete, BatchPredictions, id, "", nil)
}

type tagsBody struct {
	Tags map[string]string `json:"tags"`
}

func tagsPath(resource, id string) (string, error) {
	p, err := escapeID(id)
	if err != nil {
		return "", err
	}
	res, err := resourcePath(resource)
	if err != nil {
		return "", err
	}
	return "/v1/" + res + "/" + p + "/tags", nil
}

// Tags returns the tags of an entity; resource is DataSources, MLModels,
// Evaluations or BatchPredictions (or AML's name of the kind, MLModel…).
func (c *Client) Tags(ctx context.Context, resource, id string) (map[string]string, error) {
	return c.tags(ctx, http.MethodGet, resource, id, nil, nil)
}

// AddTags adds tags to an entity, replacing the values of keys it has, and
// returns all its tags.
func (c *Client) AddTags(ctx context.Context, resource, id string, tags map[string]string) (map[string]string, error) {
	return c.tags(ctx, http.MethodPost, resource, id, nil, tagsBody{tags})
}

// DeleteTags removes the tags with the given keys from an entity and
// returns the tags left.
func (c *Client) DeleteTags(ctx context.Context, resource, id string, keys []string) (map[string]string, error) {
	return c.tags(ctx, http.MethodDelete, resource, id, url.Values{"key": keys}, nil)
}

func (c *Client) tags(ctx context.Context, method, resource, id string, q url.Values, in any) (map[string]string, error) {
	path, err := tagsPath(resource, id)
	if err != nil {
		return nil, err
	}
	var out tagsBody
	if err := c.call(ctx, method, path, q, in, &out); err != nil {
		return nil, err
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out.Tags, nil
}

// keyInput is a key to make: policy is a policy document, or a JSON
// string naming a ready-made policy; none makes a key that may only read
// itself.
type keyInput struct {
	Name   string          `json:"name"`
	AWS    bool            `json:"aws,omitempty"`
	Policy json.RawMessage `json:"policy,omitempty"`
}

// CreateKey makes an API key that may do what policy allows (a policy
// document, or a JSON string naming a ready-made policy; nil: nothing but
// read itself) and returns it with its record; the key is shown this
// once, as the server keeps only its hash.
func (c *Client) CreateKey(ctx context.Context, name string, policy json.RawMessage) (string, *perch.Key, error) {
	in := keyInput{Name: name, Policy: policy}
	var out struct {
		Key string `json:"key"`
		keyRecord
	}
	if err := c.call(ctx, http.MethodPost, "/v1/keys", nil, in, &out); err != nil {
		return "", nil, err
	}
	return out.Key, &out.keyRecord, nil
}

// CreateAWSKey makes an access key pair for AML's protocol (SigV4) and
// returns its id and secret with its record; the secret is shown this
// once.
func (c *Client) CreateAWSKey(ctx context.Context, name string, policy json.RawMessage) (id, secret string, k *perch.Key, err error) {
	in := keyInput{Name: name, AWS: true, Policy: policy}
	var out struct {
		Secret string `json:"secretAccessKey"`
		keyRecord
	}
	if err := c.call(ctx, http.MethodPost, "/v1/keys", nil, in, &out); err != nil {
		return "", "", nil, err
	}
	return out.AccessKeyID, out.Secret, &out.keyRecord, nil
}

// keyRecord lets the answer to CreateKey hold both the key ("key") and
// the record's fields, at one level, as the server sends them.
type keyRecord = perch.Key

// ListKeys returns one page of keys (their hints, never the keys).
func (c *Client) ListKeys(ctx context.Context, f perch.Filter) ([]*perch.Key, string, error) {
	return list[*perch.Key](ctx, c, "/v1/keys", f)
}

// SetKeyPolicy replaces a key's policy (a document, or a JSON string
// naming a ready-made one) and returns its record.
func (c *Client) SetKeyPolicy(ctx context.Context, id string, policy json.RawMessage) (*perch.Key, error) {
	var k perch.Key
	if err := c.call(ctx, http.MethodPut, "/v1/keys/"+url.PathEscape(id)+"/policy", nil, policy, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// DeleteKey revokes a key by id and returns its record.
func (c *Client) DeleteKey(ctx context.Context, id string) (*perch.Key, error) {
	return one[perch.Key](ctx, c, http.MethodDelete, "keys", id, "", nil)
}

// SimulatePolicy asks whether a key may do an action on a resource, and
// which statement of its policy decides, without doing it.
func (c *Client) SimulatePolicy(ctx context.Context, in service.SimulateInput) (*service.SimulateResult, error) {
	var out service.SimulateResult
	if err := c.call(ctx, http.MethodPost, "/v1/policy/simulate", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
