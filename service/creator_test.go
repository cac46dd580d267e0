package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

func TestKeyARN(t *testing.T) {
	for _, c := range []struct {
		key  perch.Key
		want string
	}{
		{perch.Key{Meta: perch.Meta{ID: "PKIAROOT", Name: "root"}, Root: true}, "arn:aws:iam::000000000000:root"},
		{perch.Key{Meta: perch.Meta{ID: "PKIAANN", Name: "ann"}}, "arn:aws:iam::000000000000:user/ann"},
		{perch.Key{Meta: perch.Meta{ID: "PKIAANN", Name: "ann.lee+ops@example.com"}}, "arn:aws:iam::000000000000:user/ann.lee+ops@example.com"},
		// Not IAM user names: the key's id names the user.
		{perch.Key{Meta: perch.Meta{ID: "PKIASPACE", Name: "my key"}}, "arn:aws:iam::000000000000:user/PKIASPACE"},
		{perch.Key{Meta: perch.Meta{ID: "PKIANONAME"}}, "arn:aws:iam::000000000000:user/PKIANONAME"},
		{perch.Key{Meta: perch.Meta{ID: "PKIALONG", Name: strings.Repeat("a", 65)}}, "arn:aws:iam::000000000000:user/PKIALONG"},
	} {
		if got := service.KeyARN(&c.key); got != c.want {
			t.Errorf("KeyARN(%+v) = %s, want %s", c.key, got, c.want)
		}
	}
}

// TestCreatedBy checks that entities record who created them and the
// data location they read, and that a model records when its threshold
// was changed.
func TestCreatedBy(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{manual: true})
		svc := e.svc
		e.write(t, "in/small.csv", head(example(t, "adult/train.csv"), 100))
		const ann = "arn:aws:iam::000000000000:user/ann"
		ctx := service.WithCreator(context.Background(), ann)

		d, err := svc.CreateDataSource(ctx, service.DataSourceInput{ID: "ds-1", DataURL: "in/small.csv", TargetAttributeName: "income"})
		ok(t, err)
		anon, err := svc.CreateDataSource(context.Background(), service.DataSourceInput{ID: "ds-2", DataURL: "in/small.csv", TargetAttributeName: "income"})
		ok(t, err)
		m, err := svc.CreateMLModel(ctx, service.MLModelInput{ID: "ml-1", Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
		ok(t, err)
		ev, err := svc.CreateEvaluation(ctx, service.EvaluationInput{ID: "ev-1", MLModelID: m.ID, DataSourceID: d.ID})
		ok(t, err)
		bp, err := svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{ID: "bp-1", MLModelID: m.ID, DataSourceID: d.ID, OutputURL: "out/"})
		ok(t, err)
		loc := d.DataURL
		if !strings.HasSuffix(loc, "/in/small.csv") {
			t.Fatalf("data source location %q", loc)
		}
		if anon.CreatedBy != "" {
			t.Errorf("created without a caller: CreatedBy %q", anon.CreatedBy)
		}

		gm, err := svc.GetMLModel(ctx, m.ID)
		ok(t, err)
		ge, err := svc.GetEvaluation(ctx, ev.ID)
		ok(t, err)
		gb, err := svc.GetBatchPrediction(ctx, bp.ID)
		ok(t, err)
		gd, err := svc.GetDataSource(ctx, d.ID)
		ok(t, err)
		for _, c := range []struct {
			what         string
			meta         *perch.Meta
			input, wantI string
		}{
			{"data source", &gd.Meta, loc, loc},
			{"model", &gm.Meta, gm.InputDataURL, loc},
			{"evaluation", &ge.Meta, ge.InputDataURL, loc},
			{"batch prediction", &gb.Meta, gb.InputDataURL, loc},
		} {
			if c.meta.CreatedBy != ann || c.input != c.wantI {
				t.Errorf("%s: CreatedBy %q, input %q; want %q, %q", c.what, c.meta.CreatedBy, c.input, ann, c.wantI)
			}
		}

		f := perch.Filter{Variable: "IAMUser", Op: perch.OpEQ, Value: ann}
		if ds, _, err := svc.ListDataSources(ctx, f); err != nil || len(ds) != 1 || ds[0].ID != d.ID {
			t.Errorf("data sources by %s: %v, %v", ann, ds, err)
		}
		if ms, _, err := svc.ListMLModels(ctx, perch.Filter{Variable: "TrainingDataURI", Op: perch.OpEQ, Value: loc}); err != nil || len(ms) != 1 {
			t.Errorf("models on %s: %v, %v", loc, ms, err)
		}
		if bs, _, err := svc.ListBatchPredictions(ctx, perch.Filter{Variable: "DataURI", Op: perch.OpPrefix, Value: strings.TrimSuffix(loc, "small.csv")}); err != nil || len(bs) != 1 {
			t.Errorf("batch predictions on %s: %v, %v", loc, bs, err)
		}

		// The threshold's time: absent until set, kept by other updates.
		if gm.ScoreThresholdUpdatedAt != nil {
			t.Errorf("a new model's ScoreThresholdUpdatedAt: %v", gm.ScoreThresholdUpdatedAt)
		}
		before := time.Now()
		m, err = svc.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: ptr(0.7)})
		ok(t, err)
		at := m.ScoreThresholdUpdatedAt
		if at == nil || at.Before(before) || at.After(time.Now()) {
			t.Fatalf("ScoreThresholdUpdatedAt %v, want the update's time", at)
		}
		m, err = svc.UpdateMLModel(ctx, m.ID, service.Update{Name: ptr("renamed")})
		ok(t, err)
		if m.ScoreThresholdUpdatedAt == nil || !m.ScoreThresholdUpdatedAt.Equal(*at) {
			t.Errorf("a rename moved ScoreThresholdUpdatedAt to %v", m.ScoreThresholdUpdatedAt)
		}
	})
}
