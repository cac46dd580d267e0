package perch

import (
	"context"
	"time"
)

// Status is where an entity is in AML's lifecycle: created PENDING, then
// INPROGRESS while its job runs, then COMPLETED or FAILED; DELETED marks an
// entity that stays readable but is no longer used.
type Status string

// The entity statuses of AML.
const (
	StatusPending    Status = "PENDING"
	StatusInProgress Status = "INPROGRESS"
	StatusCompleted  Status = "COMPLETED"
	StatusFailed     Status = "FAILED"
	StatusDeleted    Status = "DELETED"
)

// Valid reports whether s is one of the five statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusInProgress, StatusCompleted, StatusFailed, StatusDeleted:
		return true
	}
	return false
}

// Done reports whether s is final for the entity's job: a job never moves
// an entity out of COMPLETED, FAILED or DELETED.
func (s Status) Done() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusDeleted
}

// Meta holds the fields every entity has.
type Meta struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    Status    `json:"status"`
	Message   string    `json:"message,omitempty"` // why the entity FAILED
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// StartedAt is set when the entity enters INPROGRESS, FinishedAt when
	// it reaches COMPLETED or FAILED.
	StartedAt  *time.Time        `json:"startedAt,omitempty"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
	ComputeMS  int64             `json:"computeTime,omitempty"` // approximate CPU milliseconds spent
	Tags       map[string]string `json:"tags,omitempty"`
	// Attempt counts the runs of the entity's job: it moves on when a run
	// is found abandoned (its server stopped) and the job starts again.
	Attempt int `json:"attempt,omitempty"`
	// CreatedBy is who created the entity, as an IAM ARN
	// (arn:aws:iam::<account>:user/<name>, or …:root), when the caller was
	// known by an access key pair; AML reported it as CreatedByIamUser.
	CreatedBy string `json:"createdBy,omitempty"`
	// Progress is how far the entity's job has come, while it runs.
	Progress *Progress `json:"progress,omitempty"`
}

// Progress is how far a running job has come: the phase it is in, and
// within the phase how much of how much (Total is 0 when not known) in
// Unit: bytes (of the data read), rows, passes (of sgd) or trees. Times
// are in seconds; Remaining is an estimate from the phase's pace so far,
// 0 when there is none.
type Progress struct {
	Phase     string  `json:"phase"` // reading, training, evaluating, predicting, writing
	Done      int64   `json:"done"`
	Total     int64   `json:"total,omitempty"`
	Unit      string  `json:"unit,omitempty"`
	Elapsed   float64 `json:"elapsedSeconds"`
	Remaining float64 `json:"remainingSeconds,omitempty"`
}

// DataSource describes a data file (or a prefix of files) and how to read
// it.
type DataSource struct {
	Meta
	DataURL string  `json:"dataUrl"`
	Schema  *Schema `json:"schema,omitempty"`
	// TargetAttributeName names the target when the schema is inferred.
	TargetAttributeName string `json:"targetAttributeName,omitempty"`
	Rearrangement       string `json:"rearrangement,omitempty"` // AML's DataRearrangement JSON
	ComputeStatistics   bool   `json:"computeStatistics"`
	StatisticsURL       string `json:"statisticsUrl,omitempty"`
	SizeBytes           int64  `json:"sizeBytes,omitempty"`
	Records             int64  `json:"records,omitempty"`
	// DataSHA256 is the sha256, in hex, of the bytes the data source's job
	// read: of its object, or for a folder, of the lines
	// "<sha256 of a file>  <its name in the folder>\n" in key order (as
	// sha256sum prints them). What is built on the data source reads
	// exactly these bytes or fails saying the data changed.
	DataSHA256 string `json:"dataSha256,omitempty"`
	// Database is where the rows were queried from, for a data source
	// made of a query's rows (AML's RDS and Redshift data sources).
	Database *DatabaseSource `json:"database,omitempty"`
}

// DatabaseSource records the query a data source's rows came from, so that
// it can be shown as AML's RDSMetadata or RedshiftMetadata. It never holds
// a password: the credentials are used once, to run the query.
type DatabaseSource struct {
	Engine       string `json:"engine"`     // "redshift" or "rds"
	Identifier   string `json:"identifier"` // the cluster or instance identifier
	DatabaseName string `json:"databaseName"`
	UserName     string `json:"userName,omitempty"`
	Query        string `json:"query"`
	RoleARN      string `json:"roleArn,omitempty"`
	// ResourceRole and ServiceRole are the roles an RDS data source names.
	ResourceRole string `json:"resourceRole,omitempty"`
	ServiceRole  string `json:"serviceRole,omitempty"`
}

// EndpointStatus is the state of a model's real-time endpoint.
type EndpointStatus string

// The real-time endpoint statuses of AML. NONE means no endpoint, or a
// deleted one.
const (
	EndpointNone     EndpointStatus = "NONE"
	EndpointReady    EndpointStatus = "READY"
	EndpointUpdating EndpointStatus = "UPDATING"
	EndpointFailed   EndpointStatus = "FAILED"
)

// Endpoint is a model's real-time endpoint.
type Endpoint struct {
	Status                EndpointStatus `json:"status"`
	URL                   string         `json:"url,omitempty"`
	PeakRequestsPerSecond int            `json:"peakRequestsPerSecond"`
	CreatedAt             *time.Time     `json:"createdAt,omitempty"`
}

// MLModel is a model trained from a data source.
type MLModel struct {
	Meta
	Type               ModelType         `json:"type"`
	Algorithm          string            `json:"algorithm"` // "sgd"
	TrainingDataSource string            `json:"trainingDataSourceId"`
	Recipe             string            `json:"recipe,omitempty"`
	Parameters         map[string]string `json:"parameters,omitempty"`
	ScoreThreshold     float64           `json:"scoreThreshold"`
	// ScoreThresholdUpdatedAt is when ScoreThreshold was last changed;
	// nil while it is the default.
	ScoreThresholdUpdatedAt *time.Time `json:"scoreThresholdUpdatedAt,omitempty"`
	// InputDataURL is the training data source's location when the model
	// was created (AML's InputDataLocationS3).
	InputDataURL string `json:"inputDataUrl,omitempty"`
	// DataSHA256 is the training data source's DataSHA256, which the
	// rows the model learnt from were checked against.
	DataSHA256 string `json:"dataSha256,omitempty"`
	// IgnoredAttributes are the attributes the trained model does not
	// read: TEXT attributes given to trees, which take no text, and
	// attributes without a value in the training rows.
	IgnoredAttributes []string `json:"ignoredAttributes,omitempty"`
	ArtifactURL       string   `json:"artifactUrl,omitempty"` // the model file
	SizeBytes         int64    `json:"sizeBytes,omitempty"`
	Endpoint          Endpoint `json:"endpoint"`
}

// Evaluation measures a model on a data source.
type Evaluation struct {
	Meta
	MLModel            string            `json:"mlModelId"`
	DataSource         string            `json:"dataSourceId"`
	PerformanceMetrics map[string]string `json:"performanceMetrics,omitempty"`
	ReportURL          string            `json:"reportUrl,omitempty"`
	// InputDataURL is the data source's location when the evaluation was
	// created (AML's InputDataLocationS3).
	InputDataURL string `json:"inputDataUrl,omitempty"`
	// DataSHA256 is the data source's DataSHA256, which the rows read
	// were checked against.
	DataSHA256 string `json:"dataSha256,omitempty"`
}

// BatchPrediction predicts every record of a data source into an output
// object.
type BatchPrediction struct {
	Meta
	MLModel        string `json:"mlModelId"`
	DataSource     string `json:"dataSourceId"`
	OutputURL      string `json:"outputUrl"`
	TotalRecords   int64  `json:"totalRecords,omitempty"`
	InvalidRecords int64  `json:"invalidRecords,omitempty"`
	// InputDataURL is the data source's location when the batch
	// prediction was created (AML's InputDataLocationS3).
	InputDataURL string `json:"inputDataUrl,omitempty"`
	// DataSHA256 is the data source's DataSHA256, which the rows read
	// were checked against.
	DataSHA256 string `json:"dataSha256,omitempty"`
}

// Key is an API key as the service keeps it: the key itself is shown once,
// when it is made, and only its hash is stored. The ID is the hash in hex,
// so a request's key is found with one lookup. An AWS-style access key
// pair is a Key too, whose ID is its access key id.
type Key struct {
	Meta
	// Hint is the key's first characters, enough for a person to tell keys
	// apart in a list without the key being recoverable from it.
	Hint string `json:"hint"`
	Root bool   `json:"root,omitempty"`
	// Policy is what the key may do; the root key has none and may do
	// everything, and a key without one may only read itself.
	Policy *Policy `json:"policy,omitempty"`
	// AccessKeyID is set on an AWS-style access key pair, whose id it is
	// too; requests signed with SigV4 name it.
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// State is what the key's Status means for a key: ACTIVE, or REVOKED
	// once deleted. It is set where a key is shown.
	State KeyState `json:"state,omitempty"`
	// SealedSecret is the pair's secret access key, encrypted under the
	// server's master key: a signature can only be checked with the
	// secret itself, so it cannot be kept as a hash.
	SealedSecret string `json:"sealedSecret,omitempty"`
}

// KeyState says whether a key is accepted.
type KeyState string

// The states of a key.
const (
	KeyActive  KeyState = "ACTIVE"
	KeyRevoked KeyState = "REVOKED"
)

// FilterOp is the comparison a Filter applies, named as in AML's Describe
// operations.
type FilterOp string

// The comparisons of AML's Describe operations. Prefix applies to text
// variables only.
const (
	OpEQ     FilterOp = "EQ"
	OpGT     FilterOp = "GT"
	OpLT     FilterOp = "LT"
	OpGE     FilterOp = "GE"
	OpLE     FilterOp = "LE"
	OpNE     FilterOp = "NE"
	OpPrefix FilterOp = "Prefix"
)

// Default and largest page sizes of a list, as AML had them.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 100
)

// Filter selects and orders a list of entities as AML's Describe
// operations do: one variable, compared with one operator (and any more in
// And, all of which must hold: GE and LE give a range), sorts the result
// (ties by id), which comes in pages.
//
// Variable takes AML's FilterVariable names. Every kind has CreatedAt,
// LastUpdatedAt, Status and Name; data sources add DataLocationS3 and
// IAMUser; models add IAMUser, TrainingDataSourceId, TrainingDataURI,
// MLModelType, Algorithm and RealtimeEndpointStatus; evaluations and
// batch predictions add IAMUser, MLModelId, DataSourceId and DataURI. An
// empty Variable means CreatedAt. The value for CreatedAt and
// LastUpdatedAt is an RFC 3339 time or seconds since the epoch.
type Filter struct {
	Variable  string
	Op        FilterOp // "" lists every entity
	Value     string
	And       []Comparison // more comparisons of Variable, all applied
	Desc      bool
	Limit     int    // 1..MaxPageLimit; 0 means DefaultPageLimit
	PageToken string // from the previous page; "" for the first
}

// Comparison is one operator and its value.
type Comparison struct {
	Op    FilterOp
	Value string
}

// Store keeps the service's entities; each kind has its own ids.
//
// Create sets CreatedAt and UpdatedAt (and Status to PENDING when empty);
// it fails with EInvalid for an id that is not AML's EntityId (1 to 64 of
// [a-zA-Z0-9_.-]) and with EConflict when the id exists. Get and Update
// fail with ENotFound for a missing id. Update runs fn on the current
// entity inside a transaction, so concurrent updates do not lose one
// another, and saves it unless fn fails; the id, CreatedAt and CreatedBy
// stay, and UpdatedAt moves forward. List answers one page and the token of the next
// ("" after the last), failing with EInvalid for a bad filter.
type Store interface {
	CreateDataSource(ctx context.Context, d *DataSource) error
	GetDataSource(ctx context.Context, id string) (*DataSource, error)
	UpdateDataSource(ctx context.Context, id string, fn func(*DataSource) error) (*DataSource, error)
	ListDataSources(ctx context.Context, f Filter) ([]*DataSource, string, error)

	CreateMLModel(ctx context.Context, m *MLModel) error
	GetMLModel(ctx context.Context, id string) (*MLModel, error)
	UpdateMLModel(ctx context.Context, id string, fn func(*MLModel) error) (*MLModel, error)
	ListMLModels(ctx context.Context, f Filter) ([]*MLModel, string, error)

	CreateEvaluation(ctx context.Context, e *Evaluation) error
	GetEvaluation(ctx context.Context, id string) (*Evaluation, error)
	UpdateEvaluation(ctx context.Context, id string, fn func(*Evaluation) error) (*Evaluation, error)
	ListEvaluations(ctx context.Context, f Filter) ([]*Evaluation, string, error)

	CreateBatchPrediction(ctx context.Context, b *BatchPrediction) error
	GetBatchPrediction(ctx context.Context, id string) (*BatchPrediction, error)
	UpdateBatchPrediction(ctx context.Context, id string, fn func(*BatchPrediction) error) (*BatchPrediction, error)
	ListBatchPredictions(ctx context.Context, f Filter) ([]*BatchPrediction, string, error)

	CreateKey(ctx context.Context, k *Key) error
	GetKey(ctx context.Context, id string) (*Key, error)
	UpdateKey(ctx context.Context, id string, fn func(*Key) error) (*Key, error)
	ListKeys(ctx context.Context, f Filter) ([]*Key, string, error)

	CreatePipeline(ctx context.Context, p *Pipeline) error
	GetPipeline(ctx context.Context, id string) (*Pipeline, error)
	UpdatePipeline(ctx context.Context, id string, fn func(*Pipeline) error) (*Pipeline, error)
	ListPipelines(ctx context.Context, f Filter) ([]*Pipeline, string, error)

	// Pipeline runs add the filter variables PipelineId and Key.
	CreatePipelineRun(ctx context.Context, r *PipelineRun) error
	GetPipelineRun(ctx context.Context, id string) (*PipelineRun, error)
	UpdatePipelineRun(ctx context.Context, id string, fn func(*PipelineRun) error) (*PipelineRun, error)
	ListPipelineRuns(ctx context.Context, f Filter) ([]*PipelineRun, string, error)

	// AppendAudit adds events to the audit log in one transaction;
	// ListAudit answers one page of it, newest first, and the
	// token of the next ("" after the last), failing with EInvalid for a
	// bad filter; PruneAudit deletes the events older than before and
	// says how many it deleted.
	AppendAudit(ctx context.Context, events []*AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, string, error)
	PruneAudit(ctx context.Context, before time.Time) (int64, error)

	Close() error
}
