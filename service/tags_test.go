package service_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

func TestTags(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, envOptions{manual: true})
		svc := e.svc
		e.write(t, "small.csv", head(example(t, "adult/train.csv"), 100))
		d, err := svc.CreateDataSource(ctx, service.DataSourceInput{
			DataURL: "small.csv", TargetAttributeName: "income", Tags: map[string]string{"team": "risk"},
		})
		ok(t, err)
		ds := "datasources"

		want := func(got map[string]string, err error, want map[string]string) {
			t.Helper()
			ok(t, err)
			if !maps.Equal(got, want) {
				t.Fatalf("tags %v, want %v", got, want)
			}
			stored, err := svc.Tags(ctx, ds, d.ID)
			ok(t, err)
			if !maps.Equal(stored, want) {
				t.Fatalf("stored tags %v, want %v", stored, want)
			}
		}
		got, err := svc.Tags(ctx, "DataSource", d.ID)
		want(got, err, map[string]string{"team": "risk"})
		got, err = svc.AddTags(ctx, ds, d.ID, map[string]string{"a": "1", "b": ""})
		want(got, err, map[string]string{"team": "risk", "a": "1", "b": ""})
		got, err = svc.AddTags(ctx, ds, d.ID, map[string]string{"a": "2"})
		want(got, err, map[string]string{"team": "risk", "a": "2", "b": ""})
		got, err = svc.DeleteTags(ctx, ds, d.ID, []string{"b", "nosuch"})
		want(got, err, map[string]string{"team": "risk", "a": "2"})

		// Limits: the request alone, and the request with what is there.
		over := map[string]string{}
		for i := range 101 {
			over[fmt.Sprint("k", i)] = "v"
		}
		_, err = svc.AddTags(ctx, ds, d.ID, over)
		wantCode(t, err, perch.EInvalid)
		delete(over, "k100")
		delete(over, "k99")
		_, err = svc.AddTags(ctx, ds, d.ID, over) // 99 + 2 held
		wantCode(t, err, perch.EInvalid)
		for _, bad := range []map[string]string{
			{"aws:owner": "x"},
			{"AWS:owner": "x"},
			{"perch:x": "x"},
			{"": "x"},
			{strings.Repeat("k", 129): "x"},
			{"k": strings.Repeat("v", 257)},
		} {
			_, err = svc.AddTags(ctx, ds, d.ID, bad)
			wantCode(t, err, perch.EInvalid)
		}
		got, err = svc.Tags(ctx, ds, d.ID)
		want(got, err, map[string]string{"team": "risk", "a": "2"})
		_, err = svc.AddTags(ctx, ds, d.ID, map[string]string{strings.Repeat("k", 128): strings.Repeat("v", 256)})
		ok(t, err)

		got, err = svc.DeleteTags(ctx, ds, d.ID, []string{"team", "a", strings.Repeat("k", 128)})
		want(got, err, map[string]string{})

		_, err = svc.Tags(ctx, "pipelines", d.ID)
		wantCode(t, err, perch.EInvalid)
		_, err = svc.AddTags(ctx, "models", d.ID, map[string]string{"a": "1"})
		wantCode(t, err, perch.ENotFound)
		_, err = svc.DeleteTags(ctx, ds, "ds-missing", []string{"a"})
		wantCode(t, err, perch.ENotFound)

		// Every kind takes tags.
		m, err := svc.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: d.ID})
		ok(t, err)
		got, err = svc.AddTags(ctx, "MLModel", m.ID, map[string]string{"x": "y"})
		ok(t, err)
		if got["x"] != "y" {
			t.Errorf("model tags %v", got)
		}
		for _, kind := range []string{"evaluations", "batchpredictions"} {
			_, err = svc.Tags(ctx, kind, m.ID)
			wantCode(t, err, perch.ENotFound)
		}
	})
}
