package aml

import (
	"context"
	"sort"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// operations are the 28 operations of AmazonML_20141212, by name.
var operations = map[string]operation{
	"CreateDataSourceFromS3":       op(createDataSourceFromS3),
	"CreateDataSourceFromRDS":      op(createDataSourceFromRDS),
	"CreateDataSourceFromRedshift": op(createDataSourceFromRedshift),
	"GetDataSource":                op(getDataSource),
	"DescribeDataSources":          op(describeDataSources),
	"UpdateDataSource":             op(updateDataSource),
	"DeleteDataSource":             op(deleteDataSource),

	"CreateMLModel":    op(createMLModel),
	"GetMLModel":       op(getMLModel),
	"DescribeMLModels": op(describeMLModels),
	"UpdateMLModel":    op(updateMLModel),
	"DeleteMLModel":    op(deleteMLModel),

	"CreateEvaluation":    op(createEvaluation),
	"GetEvaluation":       op(getEvaluation),
	"DescribeEvaluations": op(describeEvaluations),
	"UpdateEvaluation":    op(updateEvaluation),
	"DeleteEvaluation":    op(deleteEvaluation),

	"CreateBatchPrediction":    op(createBatchPrediction),
	"GetBatchPrediction":       op(getBatchPrediction),
	"DescribeBatchPredictions": op(describeBatchPredictions),
	"UpdateBatchPrediction":    op(updateBatchPrediction),
	"DeleteBatchPrediction":    op(deleteBatchPrediction),

	"CreateRealtimeEndpoint": op(createRealtimeEndpoint),
	"DeleteRealtimeEndpoint": op(deleteRealtimeEndpoint),
	"Predict":                nil, // served by handler.predict

	"AddTags":      op(addTags),
	"DeleteTags":   op(deleteTags),
	"DescribeTags": op(describeTags),
}

// ---- data sources

type s3DataSpec struct {
	DataLocationS3       string
	DataRearrangement    string
	DataSchema           string
	DataSchemaLocationS3 string
}

type createDataSourceFromS3Input struct {
	DataSourceID      string `json:"DataSourceId"`
	DataSourceName    string
	DataSpec          *s3DataSpec
	ComputeStatistics bool
}

func createDataSourceFromS3(ctx context.Context, h *handler, in *createDataSourceFromS3Input) (any, error) {
	var c checks
	c.id("DataSourceId", in.DataSourceID)
	c.name("DataSourceName", in.DataSourceName)
	if in.DataSpec == nil {
		c.fail("DataSpec: required")
		return nil, c.err
	}
	spec := in.DataSpec
	if c.required("DataSpec.DataLocationS3", spec.DataLocationS3) {
		c.s3("DataSpec.DataLocationS3", spec.DataLocationS3)
	}
	c.document("DataSpec.DataSchema", spec.DataSchema)
	if spec.DataSchemaLocationS3 != "" {
		c.s3("DataSpec.DataSchemaLocationS3", spec.DataSchemaLocationS3)
		if spec.DataSchema != "" {
			c.fail("DataSpec: give DataSchema or DataSchemaLocationS3, not both")
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	// A location ending in "/" names a folder of files; its key has no
	// slash at the end.
	key, err := h.svc.S3Key(strings.TrimSuffix(spec.DataLocationS3, "/"))
	if err != nil {
		return nil, invalid("DataSpec.DataLocationS3: %v", err)
	}
	schema, err := h.schema(ctx, spec.DataSchema, spec.DataSchemaLocationS3, "DataSpec.DataSchemaLocationS3")
	if err != nil {
		return nil, err
	}
	d, err := h.svc.CreateDataSourceOnce(ctx, service.DataSourceInput{
		ID:                in.DataSourceID,
		Name:              in.DataSourceName,
		DataURL:           key,
		Schema:            schema,
		Rearrangement:     spec.DataRearrangement,
		ComputeStatistics: in.ComputeStatistics,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"DataSourceId": d.ID}, nil
}

// trimPrefix drops a package's name from an error message.
func trimPrefix(err error) string {
	msg := err.Error()
	if p, ok := err.(*perch.Error); ok {
		msg = p.Message
	}
	for _, pre := range []string{"data: ", "schema: "} {
		if len(msg) > len(pre) && msg[:len(pre)] == pre {
			msg = msg[len(pre):]
		}
	}
	return msg
}

type getInput struct {
	DataSourceID      string `json:"DataSourceId"`
	MLModelID         string `json:"MLModelId"`
	EvaluationID      string `json:"EvaluationId"`
	BatchPredictionID string `json:"BatchPredictionId"`
	Verbose           bool
}

func getDataSource(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("DataSourceId", in.DataSourceID); c.err != nil {
		return nil, c.err
	}
	d, err := h.svc.GetDataSource(ctx, in.DataSourceID)
	if err != nil {
		return nil, err
	}
	o := h.dataSource(d, in.Verbose)
	o.LogURI = h.logURI("datasources", d.ID)
	if n := int64(h.svc.DataFiles(ctx, d)); n > 0 {
		o.NumberOfFiles = &n
	}
	if in.Verbose {
		o.DataSourceSchema = schemaJSON(d.Schema)
	}
	return o, nil
}

type updateInput struct {
	DataSourceID        string `json:"DataSourceId"`
	DataSourceName      *string
	MLModelID           string `json:"MLModelId"`
	MLModelName         *string
	ScoreThreshold      *float64
	EvaluationID        string `json:"EvaluationId"`
	EvaluationName      *string
	BatchPredictionID   string `json:"BatchPredictionId"`
	BatchPredictionName *string
}

func updateDataSource(ctx context.Context, h *handler, in *updateInput) (any, error) {
	var c checks
	c.id("DataSourceId", in.DataSourceID)
	if in.DataSourceName == nil {
		c.fail("DataSourceName: required")
	} else {
		c.name("DataSourceName", *in.DataSourceName)
	}
	if c.err != nil {
		return nil, c.err
	}
	d, err := h.svc.UpdateDataSource(ctx, in.DataSourceID, service.Update{Name: in.DataSourceName})
	if err != nil {
		return nil, err
	}
	return map[string]string{"DataSourceId": d.ID}, nil
}

func deleteDataSource(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("DataSourceId", in.DataSourceID); c.err != nil {
		return nil, c.err
	}
	d, err := h.svc.DeleteDataSource(ctx, in.DataSourceID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"DataSourceId": d.ID}, nil
}

// ---- models

type createMLModelInput struct {
	MLModelID            string `json:"MLModelId"`
	MLModelName          string
	MLModelType          string
	Parameters           map[string]string
	TrainingDataSourceID string `json:"TrainingDataSourceId"`
	Recipe               string
	RecipeURI            string `json:"RecipeUri"`
}

func createMLModel(ctx context.Context, h *handler, in *createMLModelInput) (any, error) {
	var c checks
	c.id("MLModelId", in.MLModelID)
	c.length("MLModelName", in.MLModelName, 0, 1024)
	if c.required("MLModelType", in.MLModelType) {
		c.enum("MLModelType", in.MLModelType, "REGRESSION", "BINARY", "MULTICLASS")
	}
	c.id("TrainingDataSourceId", in.TrainingDataSourceID)
	c.document("Recipe", in.Recipe)
	if in.RecipeURI != "" {
		c.s3("RecipeUri", in.RecipeURI)
		if in.Recipe != "" {
			c.fail("give Recipe or RecipeUri, not both")
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	rc := in.Recipe
	if in.RecipeURI != "" {
		b, err := h.svc.ReadS3(ctx, in.RecipeURI)
		if err != nil {
			return nil, invalid("RecipeUri: %v", err)
		}
		if len(b) > perch.MaxRecipeBytes {
			return nil, invalid("RecipeUri: the recipe has %d bytes, more than %d", len(b), perch.MaxRecipeBytes)
		}
		rc = string(b)
	}
	// AML's one algorithm is sgd, whatever perch's default: AML's callers
	// get the models AML trained unless they ask for perch's trees by
	// name. TrainingParameters read it back, as AML's did.
	params := map[string]string{"algorithm": "sgd"}
	for k, v := range in.Parameters {
		if k == "algorithm" && v != "sgd" && v != "gbdt" {
			return nil, invalid("Parameters: algorithm %q: AML's algorithm is sgd (perch also trains gbdt)", v)
		}
		params[k] = v
	}
	m, err := h.svc.CreateMLModelOnce(ctx, service.MLModelInput{
		ID:                   in.MLModelID,
		Name:                 in.MLModelName,
		Type:                 perch.ModelType(in.MLModelType),
		TrainingDataSourceID: in.TrainingDataSourceID,
		Recipe:               rc,
		Parameters:           params,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"MLModelId": m.ID}, nil
}

func getMLModel(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("MLModelId", in.MLModelID); c.err != nil {
		return nil, c.err
	}
	m, err := h.svc.GetMLModel(ctx, in.MLModelID)
	if err != nil {
		return nil, err
	}
	o := h.mlModel(ctx, m, h.locations())
	o.Algorithm = "" // GetMLModel's output has no Algorithm
	o.LogURI = h.logURI("models", m.ID)
	if in.Verbose {
		if o.Recipe, err = h.svc.ModelRecipe(ctx, m); err != nil {
			return nil, err
		}
		if d, err := h.svc.GetDataSource(ctx, m.TrainingDataSource); err == nil {
			o.Schema = schemaJSON(d.Schema)
		}
	}
	return o, nil
}

func updateMLModel(ctx context.Context, h *handler, in *updateInput) (any, error) {
	var c checks
	c.id("MLModelId", in.MLModelID)
	if in.MLModelName != nil {
		c.length("MLModelName", *in.MLModelName, 0, 1024)
	}
	if c.err != nil {
		return nil, c.err
	}
	m, err := h.svc.UpdateMLModel(ctx, in.MLModelID, service.Update{Name: in.MLModelName, ScoreThreshold: in.ScoreThreshold})
	if err != nil {
		return nil, err
	}
	return map[string]string{"MLModelId": m.ID}, nil
}

func deleteMLModel(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("MLModelId", in.MLModelID); c.err != nil {
		return nil, c.err
	}
	m, err := h.svc.DeleteMLModel(ctx, in.MLModelID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"MLModelId": m.ID}, nil
}

// ---- evaluations

type createEvaluationInput struct {
	EvaluationID           string `json:"EvaluationId"`
	EvaluationName         string
	MLModelID              string `json:"MLModelId"`
	EvaluationDataSourceID string `json:"EvaluationDataSourceId"`
}

func createEvaluation(ctx context.Context, h *handler, in *createEvaluationInput) (any, error) {
	var c checks
	c.id("EvaluationId", in.EvaluationID)
	c.name("EvaluationName", in.EvaluationName)
	c.id("MLModelId", in.MLModelID)
	c.id("EvaluationDataSourceId", in.EvaluationDataSourceID)
	if c.err != nil {
		return nil, c.err
	}
	e, err := h.svc.CreateEvaluationOnce(ctx, service.EvaluationInput{
		ID: in.EvaluationID, Name: in.EvaluationName, MLModelID: in.MLModelID, DataSourceID: in.EvaluationDataSourceID,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"EvaluationId": e.ID}, nil
}

func getEvaluation(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("EvaluationId", in.EvaluationID); c.err != nil {
		return nil, c.err
	}
	e, err := h.svc.GetEvaluation(ctx, in.EvaluationID)
	if err != nil {
		return nil, err
	}
	o := h.evaluation(ctx, e, h.locations())
	o.LogURI = h.logURI("evaluations", e.ID)
	return o, nil
}

func updateEvaluation(ctx context.Context, h *handler, in *updateInput) (any, error) {
	var c checks
	c.id("EvaluationId", in.EvaluationID)
	if in.EvaluationName == nil {
		c.fail("EvaluationName: required")
	} else {
		c.name("EvaluationName", *in.EvaluationName)
	}
	if c.err != nil {
		return nil, c.err
	}
	e, err := h.svc.UpdateEvaluation(ctx, in.EvaluationID, service.Update{Name: in.EvaluationName})
	if err != nil {
		return nil, err
	}
	return map[string]string{"EvaluationId": e.ID}, nil
}

func deleteEvaluation(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("EvaluationId", in.EvaluationID); c.err != nil {
		return nil, c.err
	}
	e, err := h.svc.DeleteEvaluation(ctx, in.EvaluationID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"EvaluationId": e.ID}, nil
}

// ---- batch predictions

type createBatchPredictionInput struct {
	BatchPredictionID           string `json:"BatchPredictionId"`
	BatchPredictionName         string
	MLModelID                   string `json:"MLModelId"`
	BatchPredictionDataSourceID string `json:"BatchPredictionDataSourceId"`
	OutputURI                   string `json:"OutputUri"`
}

func createBatchPrediction(ctx context.Context, h *handler, in *createBatchPredictionInput) (any, error) {
	var c checks
	c.id("BatchPredictionId", in.BatchPredictionID)
	c.name("BatchPredictionName", in.BatchPredictionName)
	c.id("MLModelId", in.MLModelID)
	c.id("BatchPredictionDataSourceId", in.BatchPredictionDataSourceID)
	if c.required("OutputUri", in.OutputURI) {
		c.outputURI("OutputUri", in.OutputURI)
	}
	if c.err != nil {
		return nil, c.err
	}
	b, err := h.svc.CreateAMLBatchPrediction(ctx, service.BatchPredictionInput{
		ID: in.BatchPredictionID, Name: in.BatchPredictionName, MLModelID: in.MLModelID,
		DataSourceID: in.BatchPredictionDataSourceID, OutputURL: in.OutputURI,
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"BatchPredictionId": b.ID}, nil
}

func getBatchPrediction(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("BatchPredictionId", in.BatchPredictionID); c.err != nil {
		return nil, c.err
	}
	b, err := h.svc.GetBatchPrediction(ctx, in.BatchPredictionID)
	if err != nil {
		return nil, err
	}
	o := h.batchPrediction(ctx, b, h.locations())
	o.LogURI = h.logURI("batchpredictions", b.ID)
	return o, nil
}

func updateBatchPrediction(ctx context.Context, h *handler, in *updateInput) (any, error) {
	var c checks
	c.id("BatchPredictionId", in.BatchPredictionID)
	if in.BatchPredictionName == nil {
		c.fail("BatchPredictionName: required")
	} else {
		c.name("BatchPredictionName", *in.BatchPredictionName)
	}
	if c.err != nil {
		return nil, c.err
	}
	b, err := h.svc.UpdateBatchPrediction(ctx, in.BatchPredictionID, service.Update{Name: in.BatchPredictionName})
	if err != nil {
		return nil, err
	}
	return map[string]string{"BatchPredictionId": b.ID}, nil
}

func deleteBatchPrediction(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("BatchPredictionId", in.BatchPredictionID); c.err != nil {
		return nil, c.err
	}
	b, err := h.svc.DeleteBatchPrediction(ctx, in.BatchPredictionID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"BatchPredictionId": b.ID}, nil
}

// ---- real-time

type endpointOut struct {
	MLModelID            string        `json:"MLModelId"`
	RealtimeEndpointInfo *endpointInfo `json:"RealtimeEndpointInfo"`
}

func createRealtimeEndpoint(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("MLModelId", in.MLModelID); c.err != nil {
		return nil, c.err
	}
	m, err := h.svc.CreateEndpoint(ctx, in.MLModelID, 0)
	if err != nil {
		return nil, err
	}
	return &endpointOut{MLModelID: m.ID, RealtimeEndpointInfo: endpointOf(m.Endpoint)}, nil
}

func deleteRealtimeEndpoint(ctx context.Context, h *handler, in *getInput) (any, error) {
	var c checks
	if c.id("MLModelId", in.MLModelID); c.err != nil {
		return nil, c.err
	}
	m, err := h.svc.DeleteEndpoint(ctx, in.MLModelID)
	if err != nil {
		return nil, err
	}
	return &endpointOut{MLModelID: m.ID, RealtimeEndpointInfo: endpointOf(m.Endpoint)}, nil
}

// ---- tags

type tag struct {
	Key   string
	Value *string `json:",omitempty"`
}

type tagsInput struct {
	ResourceID   string `json:"ResourceId"`
	ResourceType string
	Tags         []tag
	TagKeys      []string
}

type tagsOut struct {
	ResourceID   string `json:"ResourceId"`
	ResourceType string
}

func (c *checks) resource(in *tagsInput) {
	c.id("ResourceId", in.ResourceID)
	if c.required("ResourceType", in.ResourceType) {
		c.enum("ResourceType", in.ResourceType, "BatchPrediction", "DataSource", "Evaluation", "MLModel")
	}
}

func addTags(ctx context.Context, h *handler, in *tagsInput) (any, error) {
	var c checks
	c.resource(in)
	if in.Tags == nil {
		c.fail("Tags: required")
	}
	c.tags(in.Tags)
	if c.err != nil {
		return nil, c.err
	}
	m := make(map[string]string, len(in.Tags))
	for _, t := range in.Tags {
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		m[t.Key] = v
	}
	if err := h.svc.CheckTagRoom(ctx, in.ResourceType, in.ResourceID, m); err != nil {
		return nil, err
	}
	if _, err := h.svc.AddTags(ctx, in.ResourceType, in.ResourceID, m); err != nil {
		return nil, err
	}
	return &tagsOut{ResourceID: in.ResourceID, ResourceType: in.ResourceType}, nil
}

func deleteTags(ctx context.Context, h *handler, in *tagsInput) (any, error) {
	var c checks
	c.resource(in)
	if in.TagKeys == nil {
		c.fail("TagKeys: required")
	}
	if len(in.TagKeys) > 100 {
		c.fail("TagKeys: %d keys, more than 100", len(in.TagKeys))
	}
	for _, k := range in.TagKeys {
		c.tagKey(k)
	}
	if c.err != nil {
		return nil, c.err
	}
	if _, err := h.svc.DeleteTags(ctx, in.ResourceType, in.ResourceID, in.TagKeys); err != nil {
		return nil, err
	}
	return &tagsOut{ResourceID: in.ResourceID, ResourceType: in.ResourceType}, nil
}

func describeTags(ctx context.Context, h *handler, in *tagsInput) (any, error) {
	var c checks
	if c.resource(in); c.err != nil {
		return nil, c.err
	}
	tags, err := h.svc.Tags(ctx, in.ResourceType, in.ResourceID)
	if err != nil {
		return nil, err
	}
	list := []tag{}
	for k, v := range tags {
		t := tag{Key: k}
		if v != "" {
			t.Value = &v
		}
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return map[string]any{"ResourceId": in.ResourceID, "ResourceType": in.ResourceType, "Tags": list}, nil
}
