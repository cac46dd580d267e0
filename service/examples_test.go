package service_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// TestExamples takes the other shipped data sets through training,
// evaluation and prediction: a text target (SMS), MULTICLASS and
// REGRESSION (wine) on complementary splits of one file, and JSON Lines.
func TestExamples(t *testing.T) {
	eachStore(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, envOptions{})
		sms := example(t, "sms-spam/sms.csv")
		wine := example(t, "wine-quality/wine.csv")
		e.write(t, "sms.csv", sms)
		e.write(t, "wine.csv", wine)
		wineN := lineCount(wine)

		create := func(in service.DataSourceInput) *perch.DataSource {
			t.Helper()
			d, err := e.svc.CreateDataSource(ctx, in)
			ok(t, err)
			return d
		}
		train := func(typ perch.ModelType, ds string) *perch.MLModel {
			t.Helper()
			m, err := e.svc.CreateMLModel(ctx, service.MLModelInput{Type: typ, TrainingDataSourceID: ds})
			ok(t, err)
			return m
		}
		evaluate := func(m *perch.MLModel, ds string) map[string]string {
			t.Helper()
			ev, err := e.svc.CreateEvaluation(ctx, service.EvaluationInput{MLModelID: m.ID, DataSourceID: ds})
			ok(t, err)
			ev = e.waitEvaluation(t, ev.ID)
			wantStatus(t, &ev.Meta, perch.StatusCompleted)
			return ev.PerformanceMetrics
		}
		metric := func(metrics map[string]string, name string) float64 {
			t.Helper()
			v, err := strconv.ParseFloat(metrics[name], 64)
			if err != nil {
				t.Fatalf("metrics %v: no %s", metrics, name)
			}
			return v
		}

		// Wine, with quality as a class: an explicit schema, split 70/30.
		var schema perch.Schema
		ok(t, json.Unmarshal([]byte(wineSchema), &schema))
		split := `{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","randomSeed":"wine"}}`
		rest := `{"splitting":{"percentBegin":0,"percentEnd":70,"strategy":"random","randomSeed":"wine","complement":true}}`
		classTrain := create(service.DataSourceInput{DataURL: "wine.csv", Schema: &schema, Rearrangement: split, ComputeStatistics: true})
		classTest := create(service.DataSourceInput{DataURL: "wine.csv", Schema: &schema, Rearrangement: rest})
		multi := train(perch.MulticlassModel, classTrain.ID)
		// Wine, with quality as a number: the schema inferred, split in
		// file order.
		numTrain := create(service.DataSourceInput{DataURL: "wine.csv", TargetAttributeName: "quality",
			Rearrangement: `{"splitting":{"percentBegin":0,"percentEnd":80}}`})
		numTest := create(service.DataSourceInput{DataURL: "wine.csv", TargetAttributeName: "quality",
			Rearrangement: `{"splitting":{"percentBegin":80,"percentEnd":100}}`})
		reg := train(perch.RegressionModel, numTrain.ID)
		// SMS: a text attribute, a target spelt ham/spam.
		smsDS := create(service.DataSourceInput{DataURL: "sms.csv", TargetAttributeName: "label"})
		spam := train(perch.BinaryModel, smsDS.ID)

		t.Run("Splits", func(t *testing.T) {
			a, b := e.waitDataSource(t, classTrain.ID), e.waitDataSource(t, classTest.ID)
			wantStatus(t, &a.Meta, perch.StatusCompleted)
			wantStatus(t, &b.Meta, perch.StatusCompleted)
			if a.Records+b.Records != wineN || a.Records < wineN*6/10 || a.Records > wineN*8/10 {
				t.Errorf("random split: %d + %d records of %d", a.Records, b.Records, wineN)
			}
			st, err := e.svc.DataSourceStatistics(ctx, a.ID)
			ok(t, err)
			if !bytes.Contains(st, []byte(strconv.FormatInt(a.Records, 10))) {
				t.Errorf("statistics of the split do not count its %d records: %.300s", a.Records, st)
			}
			c, d := e.waitDataSource(t, numTrain.ID), e.waitDataSource(t, numTest.ID)
			if c.Records+d.Records != wineN || c.Records != wineN*80/100 {
				t.Errorf("sequential split: %d + %d records of %d", c.Records, d.Records, wineN)
			}
			if typ := c.Schema.Attributes[c.Schema.Index("quality")].Type; typ != perch.Numeric {
				t.Errorf("inferred quality is %s", typ)
			}
		})

		t.Run("Multiclass", func(t *testing.T) {
			m := e.waitModel(t, multi.ID)
			wantStatus(t, &m.Meta, perch.StatusCompleted)
			if f := metric(evaluate(m, classTest.ID), "MulticlassAvgFScore"); f <= 0 || f > 1 {
				t.Errorf("MulticlassAvgFScore %v", f)
			}
			b, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: classTest.ID})
			ok(t, err)
			b = e.waitBatch(t, b.ID)
			wantStatus(t, &b.Meta, perch.StatusCompleted)
			// The batch predicts the records the data source keeps, not
			// the whole file.
			if want := e.waitDataSource(t, classTest.ID).Records; b.TotalRecords != want {
				t.Errorf("batch predicted %d records; its data source keeps %d", b.TotalRecords, want)
			}
			header := firstLine(t, e, b.OutputURL)
			if !strings.HasSuffix(header, ",trueLabel") || strings.Count(header, ",") < 3 {
				t.Errorf("multiclass header %q: want a column per class, then trueLabel", header)
			}
			_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
			ok(t, err)
			var p perch.Prediction
			ok(t, e.svc.Predict(ctx, m.ID, wineRecord(t, wine, 1), &p))
			if p.Type != perch.MulticlassModel || p.Label == "" || len(p.Scores) < 3 {
				t.Errorf("multiclass prediction %+v", p)
			}
		})

		t.Run("Regression", func(t *testing.T) {
			m := e.waitModel(t, reg.ID)
			wantStatus(t, &m.Meta, perch.StatusCompleted)
			if rmse := metric(evaluate(m, numTest.ID), "RegressionRMSE"); rmse <= 0 || rmse > 1.5 {
				t.Errorf("RegressionRMSE %v", rmse)
			}
			_, err := e.svc.UpdateMLModel(ctx, m.ID, service.Update{ScoreThreshold: ptr(0.3)})
			wantCode(t, err, perch.EInvalid)
			b, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: numTest.ID})
			ok(t, err)
			b = e.waitBatch(t, b.ID)
			wantStatus(t, &b.Meta, perch.StatusCompleted)
			if h := firstLine(t, e, b.OutputURL); h != "score,trueLabel" {
				t.Errorf("regression header %q", h)
			}
			// The last 20% of the file, in order.
			key, err := e.objects.Key(b.OutputURL)
			ok(t, err)
			out, err := e.objects.ReadAll(ctx, key)
			ok(t, err)
			rows := strings.Split(strings.TrimSpace(string(out)), "\n")[1:]
			lines := strings.Split(strings.TrimSpace(string(wine)), "\n")[1:]
			kept := lines[len(lines)*80/100:]
			if len(rows) != len(kept) || b.TotalRecords != int64(len(kept)) {
				t.Fatalf("%d output rows, total %d; want %d", len(rows), b.TotalRecords, len(kept))
			}
			for i, row := range rows {
				_, label, _ := strings.Cut(row, ",")
				if want := kept[i][strings.LastIndexByte(kept[i], ',')+1:]; label != want {
					t.Fatalf("row %d: trueLabel %q, want %q", i+1, label, want)
				}
			}
			_, err = e.svc.CreateEndpoint(ctx, m.ID, 0)
			ok(t, err)
			var p perch.Prediction
			ok(t, e.svc.Predict(ctx, m.ID, wineRecord(t, wine, 1), &p))
			if p.Type != perch.RegressionModel || p.Value < 2 || p.Value > 10 {
				t.Errorf("regression prediction %+v", p)
			}
		})

		t.Run("Text", func(t *testing.T) {
			d := e.waitDataSource(t, smsDS.ID)
			if typ := d.Schema.Attributes[d.Schema.Index("text")].Type; typ != perch.Text {
				t.Errorf("text is %s, want TEXT", typ)
			}
			m := e.waitModel(t, spam.ID)
			wantStatus(t, &m.Meta, perch.StatusCompleted)
			if auc := metric(evaluate(m, smsDS.ID), "BinaryAUC"); auc < 0.9 {
				t.Errorf("BinaryAUC %v on the training data", auc)
			}
			_, err := e.svc.CreateEndpoint(ctx, m.ID, 0)
			ok(t, err)
			var p perch.Prediction
			ok(t, e.svc.Predict(ctx, m.ID, perch.Record{"text": "WINNER!! You have won a FREE prize. Call now to claim, txt CLAIM to 81010"}, &p))
			if p.Label != "1" || p.Original != "spam" {
				t.Errorf("spam predicted %+v", p)
			}
			// Half the messages, quoted commas and all, through a batch.
			half := create(service.DataSourceInput{DataURL: "sms.csv", TargetAttributeName: "label",
				Rearrangement: `{"splitting":{"percentBegin":50,"percentEnd":100}}`})
			half = e.waitDataSource(t, half.ID)
			b, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: half.ID})
			ok(t, err)
			b = e.waitBatch(t, b.ID)
			wantStatus(t, &b.Meta, perch.StatusCompleted)
			if b.TotalRecords != half.Records || b.InvalidRecords != 0 || b.Message != "" {
				t.Errorf("batch of %d records: total %d, invalid %d, message %q", half.Records, b.TotalRecords, b.InvalidRecords, b.Message)
			}
		})

		t.Run("JSONLines", func(t *testing.T) {
			var lines bytes.Buffer
			r := csv.NewReader(bytes.NewReader(head(wine, 600)))
			recs, err := r.ReadAll()
			ok(t, err)
			for _, rec := range recs[1:] {
				obj := map[string]string{}
				for i, v := range rec {
					obj[recs[0][i]] = v
				}
				b, _ := json.Marshal(obj)
				lines.Write(append(b, '\n'))
			}
			e.write(t, "wine.jsonl", lines.Bytes())
			js := schema
			js.DataFormat = "JSON"
			js.DataFileContainsHeader = false
			d := create(service.DataSourceInput{DataURL: "wine.jsonl", Schema: &js})
			d = e.waitDataSource(t, d.ID)
			wantStatus(t, &d.Meta, perch.StatusCompleted)
			if d.Records != 600 {
				t.Errorf("%d JSON records, want 600", d.Records)
			}
			m := e.waitModel(t, train(perch.MulticlassModel, d.ID).ID)
			wantStatus(t, &m.Meta, perch.StatusCompleted)
			metric(evaluate(m, d.ID), "MulticlassAvgFScore")
			b, err := e.svc.CreateBatchPrediction(ctx, service.BatchPredictionInput{MLModelID: m.ID, DataSourceID: d.ID})
			ok(t, err)
			b = e.waitBatch(t, b.ID)
			wantStatus(t, &b.Meta, perch.StatusFailed)
			wantMessage(t, b.Message, "JSON")
		})
	})
}

// wineSchema is wine.csv's schema with quality as a class.
const wineSchema = `{
  "version": "1.0", "targetAttributeName": "quality", "dataFormat": "CSV", "dataFileContainsHeader": true,
  "attributes": [
    {"attributeName": "fixed_acidity", "attributeType": "NUMERIC"},
    {"attributeName": "volatile_acidity", "attributeType": "NUMERIC"},
    {"attributeName": "citric_acid", "attributeType": "NUMERIC"},
    {"attributeName": "residual_sugar", "attributeType": "NUMERIC"},
    {"attributeName": "chlorides", "attributeType": "NUMERIC"},
    {"attributeName": "free_sulfur_dioxide", "attributeType": "NUMERIC"},
    {"attributeName": "total_sulfur_dioxide", "attributeType": "NUMERIC"},
    {"attributeName": "density", "attributeType": "NUMERIC"},
    {"attributeName": "pH", "attributeType": "NUMERIC"},
    {"attributeName": "sulphates", "attributeType": "NUMERIC"},
    {"attributeName": "alcohol", "attributeType": "NUMERIC"},
    {"attributeName": "color", "attributeType": "CATEGORICAL"},
    {"attributeName": "quality", "attributeType": "CATEGORICAL"}
  ],
  "excludedAttributeNames": []
}`

// wineRecord returns record n (1-based) of wine.csv, without its target.
func wineRecord(t *testing.T, wine []byte, n int) perch.Record {
	t.Helper()
	lines := strings.SplitN(string(wine), "\n", n+2)
	names, values := strings.Split(lines[0], ","), strings.Split(lines[n], ",")
	r := perch.Record{}
	for i, name := range names {
		if name != "quality" {
			r[name] = values[i]
		}
	}
	return r
}

// firstLine returns the first line of the object an output URL names.
func firstLine(t *testing.T, e *env, url string) string {
	t.Helper()
	key, err := e.objects.Key(url)
	ok(t, err)
	b, err := e.objects.ReadAll(context.Background(), key)
	ok(t, err)
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}
