package perch

import "strings"

// Action is what a caller asks to do, named as IAM names it: AML's
// operations as machinelearning:NAME, so that a policy written for AML
// means the same here, and perch's own as perch:NAME. A REST route and
// its AML twin check the same action.
type Action string

// ResourceKind is the kind of resource an action is on: the first part of
// a resource name (mlmodel/ID), as AML's ARNs spell it.
type ResourceKind string

// The resource kinds. KindNone is an action on no one resource (a list, or
// the server's own data such as the audit log).
const (
	KindDataSource      ResourceKind = "datasource"
	KindMLModel         ResourceKind = "mlmodel"
	KindEvaluation      ResourceKind = "evaluation"
	KindBatchPrediction ResourceKind = "batchprediction"
	KindPipeline        ResourceKind = "pipeline"
	KindObject          ResourceKind = "object"
	KindKey             ResourceKind = "key"
	KindNone            ResourceKind = ""
)

// Resource names what an action is on: KIND/ID, or "*" for an action on
// no one resource.
func Resource(kind ResourceKind, id string) string {
	if kind == KindNone {
		return "*"
	}
	return string(kind) + "/" + id
}

// ActionInfo describes an action: the kind of resource it is on, and
// whether it changes anything (changes are kept in the audit log).
type ActionInfo struct {
	Kind   ResourceKind
	Change bool
}

const (
	aml = "machinelearning:"
	own = "perch:"
)

// Actions is every action there is; a policy naming an action that is in
// no entry (nor matches one by wildcard) is refused when it is given.
var Actions = map[Action]ActionInfo{
	aml + "CreateDataSourceFromS3":       {KindDataSource, true},
	aml + "CreateDataSourceFromRDS":      {KindDataSource, true},
	aml + "CreateDataSourceFromRedshift": {KindDataSource, true},
	aml + "GetDataSource":                {KindDataSource, false},
	aml + "DescribeDataSources":          {KindNone, false},
	aml + "UpdateDataSource":             {KindDataSource, true},
	aml + "DeleteDataSource":             {KindDataSource, true},

	aml + "CreateMLModel":          {KindMLModel, true},
	aml + "GetMLModel":             {KindMLModel, false},
	aml + "DescribeMLModels":       {KindNone, false},
	aml + "UpdateMLModel":          {KindMLModel, true},
	aml + "DeleteMLModel":          {KindMLModel, true},
	aml + "CreateRealtimeEndpoint": {KindMLModel, true},
	aml + "DeleteRealtimeEndpoint": {KindMLModel, true},
	aml + "Predict":                {KindMLModel, false},

	aml + "CreateEvaluation":    {KindEvaluation, true},
	aml + "GetEvaluation":       {KindEvaluation, false},
	aml + "DescribeEvaluations": {KindNone, false},
	aml + "UpdateEvaluation":    {KindEvaluation, true},
	aml + "DeleteEvaluation":    {KindEvaluation, true},

	aml + "CreateBatchPrediction":    {KindBatchPrediction, true},
	aml + "GetBatchPrediction":       {KindBatchPrediction, false},
	aml + "DescribeBatchPredictions": {KindNone, false},
	aml + "UpdateBatchPrediction":    {KindBatchPrediction, true},
	aml + "DeleteBatchPrediction":    {KindBatchPrediction, true},

	// Tags are on any of the four AML kinds; the resource names which.
	aml + "AddTags":      {KindNone, true},
	aml + "DeleteTags":   {KindNone, true},
	aml + "DescribeTags": {KindNone, false},

	own + "PutObject":    {KindObject, true},
	own + "GetObject":    {KindObject, false},
	own + "DeleteObject": {KindObject, true},
	own + "ListObjects":  {KindNone, false},

	own + "CreatePipeline":    {KindPipeline, true},
	own + "GetPipeline":       {KindPipeline, false},
	own + "ListPipelines":     {KindNone, false},
	own + "UpdatePipeline":    {KindPipeline, true}, // pause, resume
	own + "DeletePipeline":    {KindPipeline, true},
	own + "ReplayDeadLetters": {KindPipeline, true},
	own + "TestPipeline":      {KindPipeline, false},
	own + "SendEvents":        {KindPipeline, true}, // S3 event notifications

	own + "CreateKey":       {KindKey, true},
	own + "GetKey":          {KindKey, false},
	own + "ListKeys":        {KindNone, false},
	own + "UpdateKeyPolicy": {KindKey, true},
	own + "DeleteKey":       {KindKey, true},

	own + "ReadAudit":      {KindNone, false},
	own + "ReadUsage":      {KindNone, false},
	own + "ReadMetrics":    {KindNone, false},
	own + "SimulatePolicy": {KindNone, false},
}

// Service returns the action's service prefix: "machinelearning" or
// "perch".
func (a Action) Service() string {
	s, _, _ := strings.Cut(string(a), ":")
	return s
}
