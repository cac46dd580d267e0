package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/perchml/perch"
)

// columns are the fields copied out of an entity's document so that lists
// can filter and sort on them; a kind leaves empty what it does not have.
// dataURL is the data the entity reads: a data source's location, or the
// input location a model, evaluation or batch prediction copied from its
// data source.
type columns struct {
	modelID, dataSourceID, typ, algorithm, endpointStatus, dataURL, pipelineID string
}

// column is a filter variable's column; time columns hold Unix
// nanoseconds.
type column struct {
	name string
	time bool
}

// kind describes one entity kind, so that the four kinds share every query.
type kind[T any] struct {
	name    string // the kind column
	noun    string // in messages
	meta    func(*T) *perch.Meta
	columns func(*T) columns
	vars    map[string]column // filter variable → column, besides the common ones
}

// commonVars are the filter variables of every kind.
var commonVars = map[string]column{
	"CreatedAt":     {"created_at", true},
	"LastUpdatedAt": {"updated_at", true},
	"Status":        {"status", false},
	"Name":          {"name", false},
}

// iamUser is the IAMUser filter variable of AML's four kinds; every
// entity has the column.
var iamUser = column{"created_by", false}

func (k *kind[T]) column(variable string) (column, bool) {
	if variable == "" {
		variable = "CreatedAt"
	}
	if c, ok := commonVars[variable]; ok {
		return c, true
	}
	c, ok := k.vars[variable]
	return c, ok
}

var dataSources = &kind[perch.DataSource]{
	name: "datasource",
	noun: "data source",
	meta: func(d *perch.DataSource) *perch.Meta { return &d.Meta },
	columns: func(d *perch.DataSource) columns {
		return columns{dataURL: d.DataURL}
	},
	vars: map[string]column{"DataLocationS3": {"data_url", false}, "IAMUser": iamUser},
}

var mlModels = &kind[perch.MLModel]{
	name: "mlmodel",
	noun: "model",
	meta: func(m *perch.MLModel) *perch.Meta { return &m.Meta },
	columns: func(m *perch.MLModel) columns {
		return columns{
			dataSourceID:   m.TrainingDataSource,
			typ:            string(m.Type),
			algorithm:      m.Algorithm,
			endpointStatus: string(m.Endpoint.Status),
			dataURL:        m.InputDataURL,
		}
	},
	vars: map[string]column{
		"IAMUser":                iamUser,
		"TrainingDataURI":        {"data_url", false},
		"TrainingDataSourceId":   {"datasource_id", false},
		"MLModelType":            {"type", false},
		"Algorithm":              {"algorithm", false},
		"RealtimeEndpointStatus": {"endpoint_status", false},
	},
}

var evaluations = &kind[perch.Evaluation]{
	name: "evaluation",
	noun: "evaluation",
	meta: func(e *perch.Evaluation) *perch.Meta { return &e.Meta },
	columns: func(e *perch.Evaluation) columns {
		return columns{modelID: e.MLModel, dataSourceID: e.DataSource, dataURL: e.InputDataURL}
	},
	vars: map[string]column{
		"IAMUser":      iamUser,
		"MLModelId":    {"model_id", false},
		"DataSourceId": {"datasource_id", false},
		"DataURI":      {"data_url", false},
	},
}

var batchPredictions = &kind[perch.BatchPrediction]{
	name: "batchprediction",
	noun: "batch prediction",
	meta: func(b *perch.BatchPrediction) *perch.Meta { return &b.Meta },
	columns: func(b *perch.BatchPrediction) columns {
		return columns{modelID: b.MLModel, dataSourceID: b.DataSource, dataURL: b.InputDataURL}
	},
	vars: map[string]column{
		"IAMUser":      iamUser,
		"MLModelId":    {"model_id", false},
		"DataSourceId": {"datasource_id", false},
		"DataURI":      {"data_url", false},
	},
}

var keys = &kind[perch.Key]{
	name:    "key",
	noun:    "key",
	meta:    func(k *perch.Key) *perch.Meta { return &k.Meta },
	columns: func(*perch.Key) columns { return columns{} },
}

var pipelines = &kind[perch.Pipeline]{
	name: "pipeline",
	noun: "pipeline",
	meta: func(p *perch.Pipeline) *perch.Meta { return &p.Meta },
	columns: func(p *perch.Pipeline) columns {
		return columns{modelID: p.Model, dataURL: p.Source.Objects}
	},
	vars: map[string]column{
		"MLModelId":      {"model_id", false},
		"SourceLocation": {"data_url", false},
	},
}

var pipelineRuns = &kind[perch.PipelineRun]{
	name: "pipelinerun",
	noun: "pipeline run",
	meta: func(r *perch.PipelineRun) *perch.Meta { return &r.Meta },
	columns: func(r *perch.PipelineRun) columns {
		return columns{pipelineID: r.Pipeline, dataURL: r.Key}
	},
	vars: map[string]column{
		"PipelineId": {"pipeline_id", false},
		"Key":        {"data_url", false},
	},
}

// idPattern is AML's EntityId.
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// now is the store's clock, at the microsecond so that a time reads back
// as it was written wherever it is kept.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func create[T any](ctx context.Context, s *Store, k *kind[T], v *T) error {
	c := *v
	m := k.meta(&c)
	if !idPattern.MatchString(m.ID) {
		return perch.Errorf(perch.EInvalid, "%s id %q: want 1 to 64 letters, digits, '_', '.' or '-'", k.noun, m.ID)
	}
	if m.Status == "" {
		m.Status = perch.StatusPending
	}
	if !m.Status.Valid() {
		return perch.Errorf(perch.EInvalid, "%s %s: unknown status %q", k.noun, m.ID, m.Status)
	}
	m.CreatedAt = now()
	m.UpdatedAt = m.CreatedAt
	doc, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("sqlstore: %s %s: %w", k.noun, m.ID, err)
	}
	cols := k.columns(&c)
	q := &query{s: s}
	q.sql("INSERT INTO entities (kind, id, name, status, created_at, updated_at, ",
		"model_id, datasource_id, type, algorithm, endpoint_status, data_url, pipeline_id, created_by, doc) VALUES (",
		q.arg(k.name), ", ", q.arg(m.ID), ", ", q.arg(m.Name), ", ", q.arg(string(m.Status)), ", ",
		q.arg(m.CreatedAt.UnixNano()), ", ", q.arg(m.UpdatedAt.UnixNano()), ", ",
		q.arg(cols.modelID), ", ", q.arg(cols.dataSourceID), ", ", q.arg(cols.typ), ", ",
		q.arg(cols.algorithm), ", ", q.arg(cols.endpointStatus), ", ", q.arg(cols.dataURL), ", ",
		q.arg(cols.pipelineID), ", ", q.arg(m.CreatedBy), ", ", q.arg(string(doc)), ") ON CONFLICT (kind, id) DO NOTHING")
	res, err := s.db.ExecContext(ctx, q.String(), q.args...)
	if err != nil {
		return fmt.Errorf("sqlstore: create %s %s: %w", k.noun, m.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: create %s %s: %w", k.noun, m.ID, err)
	} else if n == 0 {
		return perch.Errorf(perch.EConflict, "%s %s already exists", k.noun, m.ID)
	}
	*v = c
	return nil
}

// queryer is what get needs of a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func get[T any](ctx context.Context, s *Store, db queryer, k *kind[T], id string, lock bool) (*T, error) {
	q := &query{s: s}
	q.sql("SELECT doc FROM entities WHERE kind = ", q.arg(k.name), " AND id = ", q.arg(id))
	if lock && s.dialect == postgres {
		q.sql(" FOR UPDATE")
	}
	var doc string
	if err := db.QueryRowContext(ctx, q.String(), q.args...).Scan(&doc); errors.Is(err, sql.ErrNoRows) {
		return nil, perch.Errorf(perch.ENotFound, "%s %s not found", k.noun, perch.Clip(id))
	} else if err != nil {
		return nil, fmt.Errorf("sqlstore: get %s %s: %w", k.noun, id, err)
	}
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("sqlstore: %s %s: %w", k.noun, id, err)
	}
	return v, nil
}

// update reads, changes and writes the entity in one transaction that
// holds its row (PostgreSQL) or the database (SQLite) until it commits, so
// two updates of one entity run one after the other.
func update[T any](ctx context.Context, s *Store, k *kind[T], id string, fn func(*T) error) (*T, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: update %s %s: %w", k.noun, id, err)
	}
	defer tx.Rollback()
	v, err := get(ctx, s, tx, k, id, true)
	if err != nil {
		return nil, err
	}
	old := *k.meta(v)
	if err := fn(v); err != nil {
		return nil, err
	}
	m := k.meta(v)
	m.ID, m.CreatedAt, m.CreatedBy = old.ID, old.CreatedAt, old.CreatedBy
	if !m.Status.Valid() {
		return nil, perch.Errorf(perch.EInvalid, "%s %s: unknown status %q", k.noun, id, m.Status)
	}
	// UpdatedAt only moves forward, even when the clock does not.
	m.UpdatedAt = now()
	if !m.UpdatedAt.After(old.UpdatedAt) {
		m.UpdatedAt = old.UpdatedAt.Add(time.Microsecond)
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s %s: %w", k.noun, id, err)
	}
	cols := k.columns(v)
	q := &query{s: s}
	q.sql("UPDATE entities SET name = ", q.arg(m.Name), ", status = ", q.arg(string(m.Status)),
		", updated_at = ", q.arg(m.UpdatedAt.UnixNano()),
		", model_id = ", q.arg(cols.modelID), ", datasource_id = ", q.arg(cols.dataSourceID),
		", type = ", q.arg(cols.typ), ", algorithm = ", q.arg(cols.algorithm),
		", endpoint_status = ", q.arg(cols.endpointStatus), ", data_url = ", q.arg(cols.dataURL),
		", pipeline_id = ", q.arg(cols.pipelineID),
		", doc = ", q.arg(string(doc)),
		" WHERE kind = ", q.arg(k.name), " AND id = ", q.arg(id))
	if _, err := tx.ExecContext(ctx, q.String(), q.args...); err != nil {
		return nil, fmt.Errorf("sqlstore: update %s %s: %w", k.noun, id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore: update %s %s: %w", k.noun, id, err)
	}
	return v, nil
}

// CreateDataSource implements perch.Store.
func (s *Store) CreateDataSource(ctx context.Context, d *perch.DataSource) error {
	return create(ctx, s, dataSources, d)
}

// GetDataSource implements perch.Store.
func (s *Store) GetDataSource(ctx context.Context, id string) (*perch.DataSource, error) {
	return get(ctx, s, s.db, dataSources, id, false)
}

// UpdateDataSource implements perch.Store.
func (s *Store) UpdateDataSource(ctx context.Context, id string, fn func(*perch.DataSource) error) (*perch.DataSource, error) {
	return update(ctx, s, dataSources, id, fn)
}

// ListDataSources implements perch.Store.
func (s *Store) ListDataSources(ctx context.Context, f perch.Filter) ([]*perch.DataSource, string, error) {
	return list(ctx, s, dataSources, f)
}

// CreateMLModel implements perch.Store.
func (s *Store) CreateMLModel(ctx context.Context, m *perch.MLModel) error {
	return create(ctx, s, mlModels, m)
}

// GetMLModel implements perch.Store.
func (s *Store) GetMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	return get(ctx, s, s.db, mlModels, id, false)
}

// UpdateMLModel implements perch.Store.
func (s *Store) UpdateMLModel(ctx context.Context, id string, fn func(*perch.MLModel) error) (*perch.MLModel, error) {
	return update(ctx, s, mlModels, id, fn)
}

// ListMLModels implements perch.Store.
func (s *Store) ListMLModels(ctx context.Context, f perch.Filter) ([]*perch.MLModel, string, error) {
	return list(ctx, s, mlModels, f)
}

// CreateEvaluation implements perch.Store.
func (s *Store) CreateEvaluation(ctx context.Context, e *perch.Evaluation) error {
	return create(ctx, s, evaluations, e)
}

// GetEvaluation implements perch.Store.
func (s *Store) GetEvaluation(ctx context.Context, id string) (*perch.Evaluation, error) {
	return get(ctx, s, s.db, evaluations, id, false)
}

// UpdateEvaluation implements perch.Store.
func (s *Store) UpdateEvaluation(ctx context.Context, id string, fn func(*perch.Evaluation) error) (*perch.Evaluation, error) {
	return update(ctx, s, evaluations, id, fn)
}

// ListEvaluations implements perch.Store.
func (s *Store) ListEvaluations(ctx context.Context, f perch.Filter) ([]*perch.Evaluation, string, error) {
	return list(ctx, s, evaluations, f)
}

// CreateBatchPrediction implements perch.Store.
func (s *Store) CreateBatchPrediction(ctx context.Context, b *perch.BatchPrediction) error {
	return create(ctx, s, batchPredictions, b)
}

// GetBatchPrediction implements perch.Store.
func (s *Store) GetBatchPrediction(ctx context.Context, id string) (*perch.BatchPrediction, error) {
	return get(ctx, s, s.db, batchPredictions, id, false)
}

// UpdateBatchPrediction implements perch.Store.
func (s *Store) UpdateBatchPrediction(ctx context.Context, id string, fn func(*perch.BatchPrediction) error) (*perch.BatchPrediction, error) {
	return update(ctx, s, batchPredictions, id, fn)
}

// ListBatchPredictions implements perch.Store.
func (s *Store) ListBatchPredictions(ctx context.Context, f perch.Filter) ([]*perch.BatchPrediction, string, error) {
	return list(ctx, s, batchPredictions, f)
}

// CreateKey implements perch.Store.
func (s *Store) CreateKey(ctx context.Context, k *perch.Key) error {
	return create(ctx, s, keys, k)
}

// GetKey implements perch.Store.
func (s *Store) GetKey(ctx context.Context, id string) (*perch.Key, error) {
	return get(ctx, s, s.db, keys, id, false)
}

// UpdateKey implements perch.Store.
func (s *Store) UpdateKey(ctx context.Context, id string, fn func(*perch.Key) error) (*perch.Key, error) {
	return update(ctx, s, keys, id, fn)
}

// ListKeys implements perch.Store.
func (s *Store) ListKeys(ctx context.Context, f perch.Filter) ([]*perch.Key, string, error) {
	return list(ctx, s, keys, f)
}

// CreatePipeline implements perch.Store.
func (s *Store) CreatePipeline(ctx context.Context, p *perch.Pipeline) error {
	return create(ctx, s, pipelines, p)
}

// GetPipeline implements perch.Store.
func (s *Store) GetPipeline(ctx context.Context, id string) (*perch.Pipeline, error) {
	return get(ctx, s, s.db, pipelines, id, false)
}

// UpdatePipeline implements perch.Store.
func (s *Store) UpdatePipeline(ctx context.Context, id string, fn func(*perch.Pipeline) error) (*perch.Pipeline, error) {
	return update(ctx, s, pipelines, id, fn)
}

// ListPipelines implements perch.Store.
func (s *Store) ListPipelines(ctx context.Context, f perch.Filter) ([]*perch.Pipeline, string, error) {
	return list(ctx, s, pipelines, f)
}

// CreatePipelineRun implements perch.Store.
func (s *Store) CreatePipelineRun(ctx context.Context, p *perch.PipelineRun) error {
	return create(ctx, s, pipelineRuns, p)
}

// GetPipelineRun implements perch.Store.
func (s *Store) GetPipelineRun(ctx context.Context, id string) (*perch.PipelineRun, error) {
	return get(ctx, s, s.db, pipelineRuns, id, false)
}

// UpdatePipelineRun implements perch.Store.
func (s *Store) UpdatePipelineRun(ctx context.Context, id string, fn func(*perch.PipelineRun) error) (*perch.PipelineRun, error) {
	return update(ctx, s, pipelineRuns, id, fn)
}

// ListPipelineRuns implements perch.Store.
func (s *Store) ListPipelineRuns(ctx context.Context, f perch.Filter) ([]*perch.PipelineRun, string, error) {
	return list(ctx, s, pipelineRuns, f)
}
