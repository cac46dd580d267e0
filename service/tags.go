package service

import (
	"context"
	"strings"

	"github.com/perchml/perch"
)

// resourceKind maps a resource type, as the REST paths (datasources,
// models, evaluations, batchpredictions) or AML (DataSource, MLModel,
// Evaluation, BatchPrediction) name it, to the job kind of its entities.
func resourceKind(resource string) (JobKind, error) {
	switch strings.ToLower(resource) {
	case "datasources", "datasource":
		return JobDataSource, nil
	case "models", "mlmodel", "mlmodels", "model":
		return JobTrain, nil
	case "evaluations", "evaluation":
		return JobEvaluate, nil
	case "batchpredictions", "batchprediction":
		return JobBatch, nil
	}
	return "", perch.Errorf(perch.EInvalid, "resource type %q: want datasources, models, evaluations or batchpredictions", resource)
}

// authorizeTags asks authorize about a tag action on an entity of kind.
func (s *Service) authorizeTags(ctx context.Context, action perch.Action, kind JobKind, id string) error {
	var rk perch.ResourceKind
	var tags func() map[string]string
	switch kind {
	case JobDataSource:
		rk, tags = perch.KindDataSource, dsTags(s, ctx, id)
	case JobTrain:
		rk, tags = perch.KindMLModel, modelTags(s, ctx, id)
	case JobEvaluate:
		rk, tags = perch.KindEvaluation, evalTags(s, ctx, id)
	case JobBatch:
		rk, tags = perch.KindBatchPrediction, batchTags(s, ctx, id)
	}
	return s.authorize(ctx, action, perch.Resource(rk, id), tags)
}

// Tags returns the tags of an entity.
func (s *Service) Tags(ctx context.Context, resource, id string) (map[string]string, error) {
	kind, err := resourceKind(resource)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeTags(ctx, "machinelearning:DescribeTags", kind, id); err != nil {
		return nil, err
	}
	var m *perch.Meta
	switch kind {
	case JobDataSource:
		var d *perch.DataSource
		if d, err = s.store.GetDataSource(ctx, id); err == nil {
			m = &d.Meta
		}
	case JobTrain:
		var v *perch.MLModel
		if v, err = s.store.GetMLModel(ctx, id); err == nil {
			m = &v.Meta
		}
	case JobEvaluate:
		var v *perch.Evaluation
		if v, err = s.store.GetEvaluation(ctx, id); err == nil {
			m = &v.Meta
		}
	case JobBatch:
		var v *perch.BatchPrediction
		if v, err = s.store.GetBatchPrediction(ctx, id); err == nil {
			m = &v.Meta
		}
	}
	if err != nil {
		return nil, err
	}
	return nonNil(m.Tags), nil
}

// AddTags adds tags to an entity, replacing the values of keys it has; it
// returns all its tags.
func (s *Service) AddTags(ctx context.Context, resource, id string, tags map[string]string) (map[string]string, error) {
	kind, err := resourceKind(resource)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeTags(ctx, "machinelearning:AddTags", kind, id); err != nil {
		return nil, err
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	m, err := s.updateMeta(ctx, kind, id, func(m *perch.Meta) error {
		merged := cloneTags(m.Tags)
		if merged == nil {
			merged = make(map[string]string, len(tags))
		}
		for k, v := range tags {
			merged[k] = v
		}
		if err := checkTags(merged); err != nil {
			return err
		}
		m.Tags = cloneTags(merged)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nonNil(m.Tags), nil
}

// DeleteTags removes the tags with the given keys from an entity; keys it
// does not have are ignored. It returns the tags left.
func (s *Service) DeleteTags(ctx context.Context, resource, id string, keys []string) (map[string]string, error) {
	kind, err := resourceKind(resource)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeTags(ctx, "machinelearning:DeleteTags", kind, id); err != nil {
		return nil, err
	}
	m, err := s.updateMeta(ctx, kind, id, func(m *perch.Meta) error {
		for _, k := range keys {
			delete(m.Tags, k)
		}
		m.Tags = cloneTags(m.Tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nonNil(m.Tags), nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
