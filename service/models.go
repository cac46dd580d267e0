package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/recipe"
)

// MLModelInput describes a model to train.
type MLModelInput struct {
	ID                   string          `json:"id,omitempty"`
	Name                 string          `json:"name,omitempty"`
	Type                 perch.ModelType `json:"type"`
	TrainingDataSourceID string          `json:"trainingDataSourceId"`
	// Recipe is an AML recipe (JSON); "" uses the suggested recipe.
	Recipe string `json:"recipe,omitempty"`
	// Parameters are AML's training parameters (sgd.maxPasses, …).
	Parameters map[string]string `json:"parameters,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// DefaultPeakRequestsPerSecond is an endpoint's peak when none is asked for:
// AML's cap on one endpoint.
const DefaultPeakRequestsPerSecond = 200

// CreateMLModel stores a model and starts its training job. The
// parameters, the recipe and, when the data source's schema is known, the
// target and the recipe against the schema are checked here.
func (s *Service) CreateMLModel(ctx context.Context, in MLModelInput) (*perch.MLModel, error) {
	if in.ID == "" {
		in.ID = newID(modelPrefix)
	}
	if err := s.authorize(ctx, "machinelearning:CreateMLModel", perch.Resource(perch.KindMLModel, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	if err := checkName("model", in.Name); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	in.Type = perch.ModelType(strings.ToUpper(string(in.Type)))
	if !in.Type.Valid() {
		return nil, perch.Errorf(perch.EInvalid, "type %q: want BINARY, MULTICLASS or REGRESSION", in.Type)
	}
	if in.TrainingDataSourceID == "" {
		return nil, perch.Errorf(perch.EInvalid, "trainingDataSourceId: required")
	}
	params := cloneTags(in.Parameters)
	var rc *recipe.Recipe
	if strings.TrimSpace(in.Recipe) != "" {
		var err error
		if rc, err = recipe.Parse([]byte(in.Recipe)); err != nil {
			return nil, perch.Errorf(perch.EInvalid, "recipe: %v", errMessage(err))
		}
	}
	// The algorithm and its parameters are checked now, not when the job
	// has read the data.
	algorithm, err := learn.CheckParams(learn.Options{Type: in.Type, Recipe: rc, Params: params})
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "parameters: %v", errMessage(err))
	}
	d, err := s.store.GetDataSource(ctx, in.TrainingDataSourceID)
	if err != nil {
		return nil, err
	}
	if err := usable("data source", d.ID, d.Status, d.Message); err != nil {
		return nil, err
	}
	if d.Schema != nil {
		if err := checkTraining(d.Schema, in.Type, rc); err != nil {
			return nil, err
		}
		// The schema settles the default: text attributes train sgd.
		if algorithm, err = learn.CheckParams(learn.Options{Type: in.Type, Recipe: rc, Params: params, Schema: d.Schema}); err != nil {
			return nil, perch.Errorf(perch.EInvalid, "parameters: %v", errMessage(err))
		}
	}
	m := &perch.MLModel{
		Meta:               perch.Meta{ID: in.ID, Name: in.Name, Tags: cloneTags(in.Tags), Attempt: 1, CreatedBy: creator(ctx)},
		InputDataURL:       d.DataURL,
		Type:               in.Type,
		Algorithm:          algorithm,
		TrainingDataSource: d.ID,
		Recipe:             in.Recipe,
		Parameters:         params,
		ScoreThreshold:     0.5,
		Endpoint:           perch.Endpoint{Status: perch.EndpointNone},
	}
	if m.Name == "" {
		m.Name = strings.ToLower(string(m.Type)) + " model of " + d.Name
	}
	if err := s.store.CreateMLModel(ctx, m); err != nil {
		return nil, err
	}
	s.models.missing.Delete(m.ID)
	s.enqueue(ctx, Job{Kind: JobTrain, ID: m.ID, Attempt: 1})
	return m, nil
}

// checkTraining checks a model's type and recipe against its data's schema.
func checkTraining(schema *perch.Schema, typ perch.ModelType, rc *recipe.Recipe) error {
	if schema.TargetAttributeName == "" {
		return perch.Errorf(perch.EInvalid, "the data source's schema names no targetAttributeName to predict")
	}
	if err := data.ValidateTarget(schema, typ); err != nil {
		return perch.Errorf(perch.EInvalid, "%v", errMessage(err))
	}
	if rc != nil {
		if _, err := recipe.Compile(rc, schema); err != nil {
			return perch.Errorf(perch.EInvalid, "recipe: %v", errMessage(err))
		}
	}
	return nil
}

// usable fails unless an entity another one needs can still be used:
// neither FAILED nor DELETED.
func usable(noun, id string, st perch.Status, msg string) error {
	switch st {
	case perch.StatusDeleted:
		return deleted(noun, id)
	case perch.StatusFailed:
		return perch.Errorf(perch.EInvalid, "%s %s FAILED: %s", noun, id, msg)
	}
	return nil
}

// GetMLModel returns a model.
func (s *Service) GetMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	if err := s.authorize(ctx, "machinelearning:GetMLModel", perch.Resource(perch.KindMLModel, id), modelTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.GetMLModel(ctx, id)
}

// ListMLModels returns one page of models.
func (s *Service) ListMLModels(ctx context.Context, f perch.Filter) ([]*perch.MLModel, string, error) {
	if err := s.authorize(ctx, "machinelearning:DescribeMLModels", "*", nil); err != nil {
		return nil, "", err
	}
	items, next, err := s.store.ListMLModels(ctx, f)
	return filterList(s, ctx, items, "machinelearning:GetMLModel", perch.KindMLModel, func(v *perch.MLModel) *perch.Meta { return &v.Meta }), next, err
}

// UpdateMLModel renames a model or sets its score threshold. A new
// threshold takes effect on the model's next predictions, everywhere.
func (s *Service) UpdateMLModel(ctx context.Context, id string, u Update) (*perch.MLModel, error) {
	if err := s.authorize(ctx, "machinelearning:UpdateMLModel", perch.Resource(perch.KindMLModel, id), modelTags(s, ctx, id)); err != nil {
		return nil, err
	}
	if u.Name != nil {
		if err := checkName("model", *u.Name); err != nil {
			return nil, err
		}
	}
	if t := u.ScoreThreshold; t != nil && (math.IsNaN(*t) || *t < 0 || *t > 1) {
		return nil, perch.Errorf(perch.EInvalid, "scoreThreshold %v: want a number from 0 to 1", *t)
	}
	m, err := s.store.UpdateMLModel(ctx, id, func(m *perch.MLModel) error {
		if u.ScoreThreshold != nil {
			if m.Type != perch.BinaryModel {
				return perch.Errorf(perch.EInvalid, "scoreThreshold: model %s is %s; only BINARY models have one", id, m.Type)
			}
			m.ScoreThreshold = *u.ScoreThreshold
			at := time.Now().UTC()
			m.ScoreThresholdUpdatedAt = &at
		}
		if u.Name != nil {
			m.Name = *u.Name
		}
		return nil
	})
	if err == nil {
		s.models.changed(m)
	}
	return m, err
}

// DeleteMLModel marks a model DELETED and takes down its endpoint.
func (s *Service) DeleteMLModel(ctx context.Context, id string) (*perch.MLModel, error) {
	if err := s.authorize(ctx, "machinelearning:DeleteMLModel", perch.Resource(perch.KindMLModel, id), modelTags(s, ctx, id)); err != nil {
		return nil, err
	}
	m, err := s.store.UpdateMLModel(ctx, id, func(m *perch.MLModel) error {
		m.Status = perch.StatusDeleted
		m.Endpoint = perch.Endpoint{Status: perch.EndpointNone}
		return nil
	})
	if err == nil {
		s.models.changed(m)
	}
	return m, err
}

// CreateEndpoint opens a COMPLETED model to real-time predictions. peak is
// the requests per second it is sized for; 0 means 200. The model is
// loaded before this returns, so the first prediction does not wait.
func (s *Service) CreateEndpoint(ctx context.Context, id string, peak int) (*perch.MLModel, error) {
	if err := s.authorize(ctx, "machinelearning:CreateRealtimeEndpoint", perch.Resource(perch.KindMLModel, id), modelTags(s, ctx, id)); err != nil {
		return nil, err
	}
	if peak < 0 {
		return nil, perch.Errorf(perch.EInvalid, "peakRequestsPerSecond %d: want a positive number", peak)
	}
	if peak == 0 {
		peak = DefaultPeakRequestsPerSecond
	}
	m, err := s.store.GetMLModel(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Status != perch.StatusCompleted {
		if m.Status == perch.StatusDeleted {
			return nil, deleted("model", id)
		}
		return nil, perch.Errorf(perch.EConflict, "model %s is %s; an endpoint needs a COMPLETED model", id, m.Status)
	}
	if _, err := s.models.load(ctx, m); err != nil {
		return nil, err
	}
	m, err = s.store.UpdateMLModel(ctx, id, func(m *perch.MLModel) error {
		if m.Status != perch.StatusCompleted {
			return perch.Errorf(perch.EConflict, "model %s is %s; an endpoint needs a COMPLETED model", id, m.Status)
		}
		created := m.Endpoint.CreatedAt
		if m.Endpoint.Status != perch.EndpointReady || created == nil {
			t := nowUTC()
			created = &t
		}
		m.Endpoint = perch.Endpoint{
			Status:                perch.EndpointReady,
			URL:                   s.baseURL + "/v1/models/" + id + "/predict",
			PeakRequestsPerSecond: peak,
			CreatedAt:             created,
		}
		return nil
	})
	if err == nil {
		s.models.changed(m)
	}
	return m, err
}

// DeleteEndpoint closes a model's endpoint; its predictions answer 409
// from then on.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) (*perch.MLModel, error) {
	if err := s.authorize(ctx, "machinelearning:DeleteRealtimeEndpoint", perch.Resource(perch.KindMLModel, id), modelTags(s, ctx, id)); err != nil {
		return nil, err
	}
	m, err := s.store.UpdateMLModel(ctx, id, func(m *perch.MLModel) error {
		m.Endpoint = perch.Endpoint{Status: perch.EndpointNone}
		return nil
	})
	if err == nil {
		s.models.changed(m)
	}
	return m, err
}

// artifactKey is where a model's file is kept.
func artifactKey(id string) string { return ".perch/models/" + id + ".json" }

// runTrain trains a model on its data source and stores the model file.
func (s *Service) runTrain(ctx context.Context, m *perch.MLModel) error {
	d, err := s.store.GetDataSource(ctx, m.TrainingDataSource)
	if err != nil {
		return err
	}
	if err := usable("data source", d.ID, d.Status, d.Message); err != nil {
		return err
	}
	if d.Status != perch.StatusCompleted {
		return ErrNotReady
	}
	var rc *recipe.Recipe
	if m.Recipe != "" {
		if rc, err = recipe.Parse([]byte(m.Recipe)); err != nil {
			return err
		}
	}
	if err := checkTraining(d.Schema, m.Type, rc); err != nil {
		return err
	}
	t, err := s.loadTable(ctx, d)
	if err != nil {
		return err
	}
	pr := progressFrom(ctx)
	trained, err := learn.Train(t, learn.Options{Type: m.Type, Recipe: rc, Params: m.Parameters,
		Progress: func(stage string, done, total int) {
			unit := map[string]string{"features": "rows", "sgd": "passes", "gbdt": "trees"}[stage]
			pr.set("training", unit, int64(done), int64(total))
		}})
	if err != nil {
		return err
	}
	trained.ScoreThreshold = m.ScoreThreshold
	b, err := trained.Bytes()
	if err != nil {
		return err
	}
	akey := artifactKey(m.ID)
	pr.set("writing", "bytes", 0, int64(len(b)))
	if err := s.objects.Write(ctx, akey, bytes.NewReader(b), "application/json"); err != nil {
		return err
	}
	_, err = s.store.UpdateMLModel(ctx, m.ID, func(m *perch.MLModel) error {
		m.ArtifactURL = akey
		m.SizeBytes = int64(len(b))
		m.Algorithm = trained.Algorithm // what was trained, should the schema have settled it only now
		m.DataSHA256 = d.DataSHA256
		m.IgnoredAttributes = trained.Training.IgnoredAttributes
		return nil
	})
	if ig := trained.Training.IgnoredAttributes; err == nil && len(ig) > 0 {
		s.log.Info("the model ignores attributes", "model", m.ID, "algorithm", trained.Algorithm, "attributes", ig,
			"why", "trees read no TEXT attribute (algorithm sgd does, through the recipe), nor one without values")
	}
	return err
}

// heartbeat shows, until stop is called, that the job of an entity is
// alive, so that no sweep takes it for abandoned while a long computation
// that cannot report progress runs, and stores the progress the job
// reports through the context it returns. Run keeps one going for every
// job.
func (s *Service) heartbeat(ctx context.Context, kind JobKind, id string) (context.Context, func()) {
	pr := newProgress()
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		beat := time.NewTicker(s.lease / 3)
		defer beat.Stop()
		tell := time.NewTicker(s.progressEvery)
		defer tell.Stop()
		for {
			select {
			case <-bctx.Done():
				return
			case <-beat.C:
				if err := s.touch(bctx, kind, id); err != nil && bctx.Err() == nil {
					s.log.Warn("heartbeat", "kind", kind, "id", id, "err", err)
				}
			case <-tell.C:
				p, changed := pr.snapshot()
				if !changed {
					continue
				}
				// Storing the progress also shows the job alive.
				if _, err := s.updateMeta(bctx, kind, id, func(m *perch.Meta) error {
					if m.Status != perch.StatusInProgress {
						return errSkip
					}
					m.Progress = p
					return nil
				}); err != nil && !errors.Is(err, errSkip) && bctx.Err() == nil {
					s.log.Warn("progress", "kind", kind, "id", id, "err", err)
				}
			}
		}
	}()
	return withProgress(ctx, pr), func() { cancel(); <-done }
}

// noun names a job's entity kind in messages.
func (k JobKind) noun() string {
	switch k {
	case JobDataSource:
		return "data source"
	case JobTrain:
		return "model"
	case JobEvaluate:
		return "evaluation"
	case JobBatch:
		return "batch prediction"
	}
	return fmt.Sprintf("job %q", string(k))
}
