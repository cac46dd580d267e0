package service

import (
	"context"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

// Predictor returns the compiled model of a trained model, from the same
// cache real-time predictions use, whether or not it has an endpoint:
// pipelines and other bulk readers predict with it directly, so a record
// costs no lookup.
func (s *Service) Predictor(ctx context.Context, id string) (*model.Predictor, error) {
	if err := s.authorize(ctx, "machinelearning:Predict", perch.Resource(perch.KindMLModel, id), s.cachedTags(ctx, id)); err != nil {
		return nil, err
	}
	e, err := s.models.entry(ctx, id)
	if err != nil {
		return nil, err
	}
	st := e.state.Load()
	if st.model.Status == perch.StatusDeleted {
		return nil, perch.Errorf(perch.ENotFound, "model %s is deleted", id)
	}
	return s.models.predictor(ctx, st)
}
