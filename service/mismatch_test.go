package service_test

import (
	"context"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// TestMismatch uses a trained model on data laid out otherwise, and
// points batch output where it must not go.
func TestMismatch(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newJobsEnv(t, dsn)
		m, _ := e.trainSmall(t)

		// Adult's target with one other column: an evaluation would
		// read age as if it were every attribute of the model.
		e.write(t, "two.csv", []byte("age,income\n30,<=50K\n40,>50K\n50,<=50K\n"))
		d, err := e.svc.CreateDataSource(ctx, service.DataSourceInput{DataURL: "two.csv", TargetAttributeName: "income"})
		ok(t, err)
		ok(t, e.svc.Run(ctx, service.Job{Kind: service.JobDataSource, ID: d.ID, Attempt: 1}))
		for _, kind := range []service.JobKind{service.JobEvaluate, service.JobBatch} {
			var id string
			if kind == service.JobEvaluate {
				ev, err := e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m.ID, DataSourceID: d.ID})
				ok(t, err)
				id = ev.ID
			} else {
				b, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: d.ID})
				ok(t, err)
				id = b.ID
			}
			ok(t, e.svc.Run(ctx, service.Job{Kind: kind, ID: id, Attempt: 1}))
			var meta perch.Meta
			if kind == service.JobEvaluate {
				ev, err := e.svc.GetEvaluation(ctx, id)
				ok(t, err)
				meta = ev.Meta
				if len(ev.PerformanceMetrics) > 0 {
					t.Errorf("metrics %v from data the model cannot read", ev.PerformanceMetrics)
				}
			} else {
				b, err := e.svc.GetBatchPrediction(ctx, id)
				ok(t, err)
				meta = b.Meta
			}
			wantStatus(t, &meta, perch.StatusFailed)
			wantMessage(t, meta.Message, d.ID, m.ID, "attributes differ")
		}
		e.manual.take()

		// Batch output over a model file, or over its own input.
		for _, c := range []struct {
			out  string
			code perch.ErrorCode
		}{
			{".perch/models/" + m.ID + ".json", perch.EForbidden},
			{m.ArtifactURL, perch.EForbidden},
			{".PERCH/x.csv", perch.EForbidden},
			{".perch/", perch.EForbidden},
			{"small.csv", perch.EInvalid},
			{e.objects.URL("small.csv"), perch.EInvalid},
			{"file:///elsewhere/out.csv", perch.EInvalid},
			{"s3://small.csv", perch.EInvalid}, // the data, as AML names it on a folder store
		} {
			_, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{
				MLModelID: m.ID, DataSourceID: m.TrainingDataSource, OutputURL: c.out,
			})
			wantCode(t, err, c.code)
		}
		if jobs := e.manual.take(); len(jobs) > 0 {
			t.Errorf("refused batch predictions enqueued %v", jobs)
		}
		var p perch.Prediction
		ok(t, e.svc.Predict(ctx, m.ID, record(e.getDS(t, m.TrainingDataSource).Schema, founding), &p))
	})
}
