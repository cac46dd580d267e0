package model_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

var trained struct {
	once sync.Once
	m    *model.Model
	p    *model.Predictor
	err  error
}

// adult trains the Adult model once for the tests of this file.
func adult(t *testing.T) (*model.Model, *model.Predictor) {
	t.Helper()
	trained.once.Do(func() {
		b, err := examples.ReadAll("adult/train.csv")
		if err != nil {
			trained.err = err
			return
		}
		s, err := data.InferSchema(bytes.NewReader(b), data.InferOptions{Target: "income"})
		if err != nil {
			trained.err = err
			return
		}
		tb, err := data.Load(bytes.NewReader(b), s, nil, data.Options{Header: true})
		if err != nil {
			trained.err = err
			return
		}
		trained.m, trained.err = learn.Train(tb, learn.Options{Type: perch.BinaryModel, Params: map[string]string{"sgd.maxPasses": "2"}})
		if trained.err == nil {
			trained.p, trained.err = model.Compile(trained.m)
		}
	})
	if trained.err != nil {
		t.Fatal(trained.err)
	}
	return trained.m, trained.p
}

var founding = []string{"22", "Local-gov", "108435", "Masters", "14", "Married-civ-spouse", "Prof-specialty", "Husband", "White", "Male", "0", "0", "80", "United-States", ""}

func TestPredictionShape(t *testing.T) {
	_, p := adult(t)
	var out perch.Prediction
	p.Predict(founding, &out)
	b, _ := json.Marshal(&out)
	var got struct {
		Label   string             `json:"predictedLabel"`
		Scores  map[string]float64 `json:"predictedScores"`
		Details map[string]string  `json:"details"`
		Orig    string             `json:"predictedOriginalLabel"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.Label != "0" && got.Label != "1" {
		t.Fatalf("label %q in %s", got.Label, b)
	}
	score, ok := got.Scores[got.Label]
	if !ok || len(got.Scores) != 1 || score < 0 || score > 1 {
		t.Fatalf("scores %v for label %q", got.Scores, got.Label)
	}
	if (score >= 0.5) != (got.Label == "1") {
		t.Fatalf("score %v and label %q disagree at threshold 0.5", score, got.Label)
	}
	if got.Details["PredictiveModelType"] != "BINARY" || got.Details["Algorithm"] != "SGD" || len(got.Details) != 2 {
		t.Fatalf("details %v", got.Details)
	}
	want := map[string]string{"0": "<=50K", "1": ">50K"}[got.Label]
	if got.Orig != want {
		t.Fatalf("original label %q, want %q", got.Orig, want)
	}
}

func TestPredictRecordMatchesFields(t *testing.T) {
	m, p := adult(t)
	rec := perch.Record{"unknown": "x"}
	for i, a := range m.Schema.Attributes {
		rec[a.Name] = " " + founding[i] + " "
	}
	var a, b perch.Prediction
	p.Predict(founding, &a)
	p.PredictRecord(rec, &b)
	if a.Scores[0] != b.Scores[0] {
		t.Fatalf("record %v, fields %v", b.Scores, a.Scores)
	}
}

func TestInvalidValueTreatedAsMissing(t *testing.T) {
	_, p := adult(t)
	bad := append([]string(nil), founding...)
	bad[0] = "NaN" // a float to strconv, not a number to a model
	missing := append([]string(nil), founding...)
	missing[0] = ""
	var a, b perch.Prediction
	p.Predict(bad, &a)
	p.Predict(missing, &b)
	if len(a.Invalid) != 1 || a.Invalid[0] != "age" {
		t.Fatalf("invalid attributes %v, want [age]", a.Invalid)
	}
	if a.Scores[0].Value != b.Scores[0].Value {
		t.Fatalf("an unparseable age scored %v, a missing one %v", a.Scores[0].Value, b.Scores[0].Value)
	}
	if js, _ := json.Marshal(&a); !strings.Contains(string(js), `"invalidAttributes":["age"]`) {
		t.Fatalf("response does not say age was invalid: %s", js)
	}
}

func TestThresholdMovesLabel(t *testing.T) {
	m, _ := adult(t)
	c := *m
	c.ScoreThreshold = 0
	p, err := model.Compile(&c)
	if err != nil {
		t.Fatal(err)
	}
	var out perch.Prediction
	p.Predict(founding, &out)
	if out.Label != "1" || out.Original != ">50K" {
		t.Fatalf("threshold 0 gave label %q (%q)", out.Label, out.Original)
	}
}

func TestDecodeRejects(t *testing.T) {
	m, _ := adult(t)
	good, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ b, want string }{
		"not json":     {"hello", "model: not a perch model file"},
		"other format": {`{"format":"xgboost"}`, `model: not a perch model file (format "xgboost")`},
		"newer":        {strings.Replace(string(good), `"version":1`, `"version":9`, 1), "model: file version 9, this perch reads versions 1 to 2"},
		"truncated":    {string(good[:len(good)/2]), "model: not a perch model file"},
		"weights cut":  {strings.Replace(string(good), `"weights":[`, `"weights":[1,`, 1), "model: weights do not match the recipe"},
	} {
		_, err := model.Decode([]byte(c.b))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

func TestConcurrentPredict(t *testing.T) {
	_, p := adult(t)
	var want perch.Prediction
	p.Predict(founding, &want)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out perch.Prediction
			for i := 0; i < 2000; i++ {
				p.Predict(founding, &out)
				if out.Scores[0] != want.Scores[0] {
					t.Errorf("concurrent prediction %v, want %v", out.Scores[0], want.Scores[0])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPredictDoesNotAllocate(t *testing.T) {
	_, p := adult(t)
	var out perch.Prediction
	p.Predict(founding, &out)
	if n := testing.AllocsPerRun(1000, func() { p.Predict(founding, &out) }); n != 0 {
		t.Fatalf("%v allocations per prediction", n)
	}
}
