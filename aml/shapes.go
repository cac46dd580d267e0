package aml

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/perchml/perch"
)

// AML's output shapes, member names as on the wire. Absent members are
// left out, as AML left them out (StartedAt while PENDING, ComputeTime
// until COMPLETED, …).

// epoch is an EpochTime: seconds since the epoch, with milliseconds.
func epoch(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := float64(t.UnixMilli()) / 1000
	return &v
}

func epochPtr(t *time.Time) *float64 {
	if t == nil {
		return nil
	}
	return epoch(*t)
}

// common holds the members every entity has.
type common struct {
	CreatedByIamUser string   `json:"CreatedByIamUser,omitempty"`
	CreatedAt        *float64 `json:"CreatedAt,omitempty"`
	LastUpdatedAt    *float64 `json:"LastUpdatedAt,omitempty"`
	Name             string   `json:"Name,omitempty"`
	Status           string   `json:"Status,omitempty"`
	Message          string   `json:"Message,omitempty"`
	ComputeTime      *int64   `json:"ComputeTime,omitempty"`
	FinishedAt       *float64 `json:"FinishedAt,omitempty"`
	StartedAt        *float64 `json:"StartedAt,omitempty"`
	// LogUri is on Get* outputs only: the entity's REST resource, whose
	// status and message are its job's log.
	LogURI string `json:"LogUri,omitempty"`
}

// logURI is where an entity's job is reported: its resource on perch's
// REST API (GET with a perch API key: status, message, timings), "" when
// the server's URL is not known. perch writes no log object of a job;
// the message is what a job reports.
func (h *handler) logURI(collection, id string) string {
	base := h.svc.BaseURL()
	if base == "" {
		return ""
	}
	return base + "/v1/" + collection + "/" + url.PathEscape(id)
}

func commonOf(m *perch.Meta) common {
	c := common{
		CreatedByIamUser: m.CreatedBy,
		CreatedAt:        epoch(m.CreatedAt),
		LastUpdatedAt:    epoch(m.UpdatedAt),
		Name:             m.Name,
		Status:           string(m.Status),
		Message:          m.Message,
		FinishedAt:       epochPtr(m.FinishedAt),
		StartedAt:        epochPtr(m.StartedAt),
	}
	if m.Status == perch.StatusCompleted {
		ms := m.ComputeMS
		c.ComputeTime = &ms
	}
	return c
}

type dataSourceOut struct {
	DataSourceID      string            `json:"DataSourceId"`
	DataLocationS3    string            `json:"DataLocationS3,omitempty"`
	DataRearrangement string            `json:"DataRearrangement,omitempty"`
	DataSizeInBytes   *int64            `json:"DataSizeInBytes,omitempty"`
	NumberOfFiles     *int64            `json:"NumberOfFiles,omitempty"` // GetDataSource: it lists a folder
	ComputeStatistics bool              `json:"ComputeStatistics"`
	RoleARN           string            `json:"RoleARN,omitempty"`
	RDSMetadata       *rdsMetadata      `json:"RDSMetadata,omitempty"`
	RedshiftMetadata  *redshiftMetadata `json:"RedshiftMetadata,omitempty"`
	common
	DataSourceSchema string `json:"DataSourceSchema,omitempty"` // GetDataSource, Verbose
}

type rdsMetadata struct {
	Database         rdsDatabase
	DatabaseUserName string `json:",omitempty"`
	SelectSQLQuery   string `json:"SelectSqlQuery,omitempty"`
	ResourceRole     string `json:",omitempty"`
	ServiceRole      string `json:",omitempty"`
}

type rdsDatabase struct{ InstanceIdentifier, DatabaseName string }

type redshiftMetadata struct {
	RedshiftDatabase redshiftDatabase
	DatabaseUserName string `json:",omitempty"`
	SelectSQLQuery   string `json:"SelectSqlQuery,omitempty"` // GetDataSource, Verbose
}

type redshiftDatabase struct{ DatabaseName, ClusterIdentifier string }

// dataSource is a data source as AML shows it; verbose (GetDataSource's
// Verbose) adds what AML showed only then.
func (h *handler) dataSource(d *perch.DataSource, verbose bool) *dataSourceOut {
	o := &dataSourceOut{
		DataSourceID:      d.ID,
		DataLocationS3:    h.svc.S3URL(d.DataURL),
		DataRearrangement: d.Rearrangement,
		ComputeStatistics: d.ComputeStatistics,
		common:            commonOf(&d.Meta),
	}
	if d.SizeBytes > 0 {
		size := d.SizeBytes
		o.DataSizeInBytes = &size
	}
	// AML's Data Pipeline ran RDS queries; perch runs them itself, so
	// there is no DataPipelineId.
	if db := d.Database; db != nil {
		o.RoleARN = db.RoleARN
		switch db.Engine {
		case "rds":
			o.RDSMetadata = &rdsMetadata{
				Database:         rdsDatabase{InstanceIdentifier: db.Identifier, DatabaseName: db.DatabaseName},
				DatabaseUserName: db.UserName,
				SelectSQLQuery:   db.Query,
				ResourceRole:     db.ResourceRole,
				ServiceRole:      db.ServiceRole,
			}
		case "redshift":
			o.RedshiftMetadata = &redshiftMetadata{
				RedshiftDatabase: redshiftDatabase{DatabaseName: db.DatabaseName, ClusterIdentifier: db.Identifier},
				DatabaseUserName: db.UserName,
			}
			if verbose {
				o.RedshiftMetadata.SelectSQLQuery = db.Query
			}
		}
	}
	return o
}

type endpointInfo struct {
	PeakRequestsPerSecond int      `json:"PeakRequestsPerSecond"`
	CreatedAt             *float64 `json:"CreatedAt,omitempty"`
	EndpointURL           string   `json:"EndpointUrl,omitempty"`
	EndpointStatus        string   `json:"EndpointStatus"`
}

// endpointOf is a model's endpoint as AML shows it. Its URL is the
// server's own (scheme and host): AML's clients send Predict to
// PredictEndpoint's host, at path /.
func endpointOf(e perch.Endpoint) *endpointInfo {
	o := &endpointInfo{
		PeakRequestsPerSecond: e.PeakRequestsPerSecond,
		CreatedAt:             epochPtr(e.CreatedAt),
		EndpointStatus:        string(e.Status),
	}
	if o.EndpointStatus == "" {
		o.EndpointStatus = string(perch.EndpointNone)
	}
	if e.Status == perch.EndpointReady && e.URL != "" {
		if u, err := url.Parse(e.URL); err == nil {
			o.EndpointURL = u.Scheme + "://" + u.Host
		}
	}
	return o
}

type mlModelOut struct {
	MLModelID            string            `json:"MLModelId"`
	TrainingDataSourceID string            `json:"TrainingDataSourceId,omitempty"`
	SizeInBytes          *int64            `json:"SizeInBytes,omitempty"`
	EndpointInfo         *endpointInfo     `json:"EndpointInfo,omitempty"`
	TrainingParameters   map[string]string `json:"TrainingParameters,omitempty"`
	InputDataLocationS3  string            `json:"InputDataLocationS3,omitempty"`
	Algorithm            string            `json:"Algorithm,omitempty"` // Describe only
	MLModelType          string            `json:"MLModelType,omitempty"`
	ScoreThreshold       *float64          `json:"ScoreThreshold,omitempty"`
	// ScoreThresholdLastUpdatedAt is absent until UpdateMLModel sets one.
	ScoreThresholdLastUpdatedAt *float64 `json:"ScoreThresholdLastUpdatedAt,omitempty"`
	common
	Recipe string `json:"Recipe,omitempty"` // GetMLModel, Verbose
	Schema string `json:"Schema,omitempty"` // GetMLModel, Verbose
}

// locations remembers data sources' locations for one request, as a page
// of models or evaluations often shares a few data sources.
type locations struct {
	h *handler
	m map[string]string
}

func (h *handler) locations() *locations { return &locations{h: h, m: map[string]string{}} }

// of answers an entity's input location: the one it recorded, or, for an
// entity made before they were recorded, its data source's (which does
// not change).
func (l *locations) of(ctx context.Context, recorded, dataSourceID string) string {
	if recorded != "" {
		return l.h.svc.S3URL(recorded)
	}
	if u, ok := l.m[dataSourceID]; ok {
		return u
	}
	u := ""
	if d, err := l.h.svc.GetDataSource(ctx, dataSourceID); err == nil {
		u = l.h.svc.S3URL(d.DataURL)
	}
	l.m[dataSourceID] = u
	return u
}

func (h *handler) mlModel(ctx context.Context, m *perch.MLModel, loc *locations) *mlModelOut {
	o := &mlModelOut{
		MLModelID:            m.ID,
		TrainingDataSourceID: m.TrainingDataSource,
		EndpointInfo:         endpointOf(m.Endpoint),
		TrainingParameters:   m.Parameters,
		InputDataLocationS3:  loc.of(ctx, m.InputDataURL, m.TrainingDataSource),
		Algorithm:            m.Algorithm,
		MLModelType:          string(m.Type),
		common:               commonOf(&m.Meta),
	}
	if m.SizeBytes > 0 {
		size := m.SizeBytes
		o.SizeInBytes = &size
	}
	if m.Type == perch.BinaryModel {
		t := m.ScoreThreshold
		o.ScoreThreshold = &t
		o.ScoreThresholdLastUpdatedAt = epochPtr(m.ScoreThresholdUpdatedAt)
	}
	return o
}

type evaluationOut struct {
	EvaluationID           string              `json:"EvaluationId"`
	MLModelID              string              `json:"MLModelId,omitempty"`
	EvaluationDataSourceID string              `json:"EvaluationDataSourceId,omitempty"`
	InputDataLocationS3    string              `json:"InputDataLocationS3,omitempty"`
	PerformanceMetrics     *performanceMetrics `json:"PerformanceMetrics,omitempty"`
	common
}

type performanceMetrics struct {
	Properties map[string]string `json:"Properties"`
}

func (h *handler) evaluation(ctx context.Context, e *perch.Evaluation, loc *locations) *evaluationOut {
	o := &evaluationOut{
		EvaluationID:           e.ID,
		MLModelID:              e.MLModel,
		EvaluationDataSourceID: e.DataSource,
		InputDataLocationS3:    loc.of(ctx, e.InputDataURL, e.DataSource),
		common:                 commonOf(&e.Meta),
	}
	if len(e.PerformanceMetrics) > 0 {
		o.PerformanceMetrics = &performanceMetrics{Properties: e.PerformanceMetrics}
	}
	return o
}

type batchPredictionOut struct {
	BatchPredictionID           string `json:"BatchPredictionId"`
	MLModelID                   string `json:"MLModelId,omitempty"`
	BatchPredictionDataSourceID string `json:"BatchPredictionDataSourceId,omitempty"`
	InputDataLocationS3         string `json:"InputDataLocationS3,omitempty"`
	OutputURI                   string `json:"OutputUri,omitempty"`
	TotalRecordCount            *int64 `json:"TotalRecordCount,omitempty"`
	InvalidRecordCount          *int64 `json:"InvalidRecordCount,omitempty"`
	common
}

// layoutDir is where AML's layout puts the manifest and, under result/,
// the result files, under OutputUri.
const layoutDir = "batch-prediction/"

func (h *handler) batchPrediction(ctx context.Context, b *perch.BatchPrediction, loc *locations) *batchPredictionOut {
	out := h.svc.S3URL(b.OutputURL)
	// AML's OutputUri is the prefix its layout lives under.
	if i := strings.LastIndex(out, "/"+layoutDir); i >= 0 {
		out = out[:i+1]
	}
	o := &batchPredictionOut{
		BatchPredictionID:           b.ID,
		MLModelID:                   b.MLModel,
		BatchPredictionDataSourceID: b.DataSource,
		InputDataLocationS3:         loc.of(ctx, b.InputDataURL, b.DataSource),
		OutputURI:                   out,
		common:                      commonOf(&b.Meta),
	}
	if b.Status == perch.StatusCompleted {
		total, bad := b.TotalRecords, b.InvalidRecords
		o.TotalRecordCount, o.InvalidRecordCount = &total, &bad
	}
	return o
}

// schemaJSON is a schema as AML's DataSchema string.
func schemaJSON(s *perch.Schema) string {
	if s == nil {
		return ""
	}
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	return string(b)
}

// appendPrediction writes a prediction as AML's Predict answered it:
// {"Prediction":{"predictedLabel":…,"predictedScores":{…},"details":{…}}},
// predictedValue instead of the label for REGRESSION.
func appendPrediction(b []byte, p *perch.Prediction) []byte {
	b = append(b, `{"Prediction":{`...)
	if p.Type == perch.RegressionModel {
		b = append(b, `"predictedValue":`...)
		b = appendFloat(b, p.Value)
		b = append(b, `,"predictedScores":{}`...)
	} else {
		b = append(b, `"predictedLabel":`...)
		b = perch.AppendJSONString(b, p.Label)
		b = append(b, `,"predictedScores":{`...)
		for i, s := range p.Scores {
			if i > 0 {
				b = append(b, ',')
			}
			b = perch.AppendJSONString(b, s.Label)
			b = append(b, ':')
			b = appendFloat(b, s.Value)
		}
		b = append(b, '}')
	}
	b = append(b, `,"details":{"PredictiveModelType":`...)
	b = perch.AppendJSONString(b, string(p.Type))
	b = append(b, `,"Algorithm":`...)
	b = perch.AppendJSONString(b, p.Algorithm)
	b = append(b, `}}}`...)
	return b
}

func appendFloat(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}
