package model_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

var trees struct {
	once sync.Once
	tb   *data.Table
	m    *model.Model
	p    *model.Predictor
	err  error
}

// adultTrees trains a small gbdt model on Adult once for the tests of this
// file.
func adultTrees(t *testing.T) (*data.Table, *model.Model, *model.Predictor) {
	t.Helper()
	trees.once.Do(func() {
		b, err := examples.ReadAll("adult/train.csv")
		if err != nil {
			trees.err = err
			return
		}
		s, err := data.InferSchema(bytes.NewReader(b), data.InferOptions{Target: "income"})
		if err != nil {
			trees.err = err
			return
		}
		trees.tb, err = data.Load(bytes.NewReader(b), s, nil, data.Options{Header: true})
		if err != nil {
			trees.err = err
			return
		}
		trees.m, trees.err = learn.Train(trees.tb, learn.Options{Type: perch.BinaryModel, Params: map[string]string{"algorithm": "gbdt", "gbdt.numTrees": "30"}})
		if trees.err == nil {
			trees.p, trees.err = model.Compile(trees.m)
		}
	})
	if trees.err != nil {
		t.Fatal(trees.err)
	}
	return trees.tb, trees.m, trees.p
}

func TestTreesPrediction(t *testing.T) {
	tb, m, p := adultTrees(t)
	var out perch.Prediction
	p.Predict(founding, &out)
	js, _ := json.Marshal(&out)
	if out.Algorithm != "GBDT" || !strings.Contains(string(js), `"Algorithm":"GBDT"`) {
		t.Fatalf("details: %s", js)
	}
	if (out.Scores[0].Value >= 0.5) != (out.Label == "1") {
		t.Fatalf("score and label disagree: %s", js)
	}
	// Predict, Score and ScoreRows give the same scores.
	rows := tb.Rows[:1000]
	all := make([]float64, len(rows))
	p.ScoreRows(rows, all)
	one := make([]float64, 1)
	for i, r := range rows {
		p.Score(r, one)
		p.Predict(r, &out)
		if one[0] != all[i] || out.Scores[0].Value != all[i] {
			t.Fatalf("row %d: Score %v, ScoreRows %v, Predict %v", i, one[0], all[i], out.Scores[0].Value)
		}
	}
	if p.Outputs() != 1 || m.Training.Features != 14 {
		t.Errorf("outputs %d, features %d", p.Outputs(), m.Training.Features)
	}
}

func TestTreesFileRoundTrip(t *testing.T) {
	tb, m, p := adultTrees(t)
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"version":2`)) || bytes.Contains(b, []byte(`"recipe"`)) {
		t.Fatalf("file head: %.200s", b)
	}
	m2, err := model.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := m2.Bytes()
	if !bytes.Equal(b, b2) {
		t.Fatal("decode then encode changed the file")
	}
	p2, err := model.Compile(m2)
	if err != nil {
		t.Fatal(err)
	}
	var a, c perch.Prediction
	for _, r := range tb.Rows[:200] {
		p.Predict(r, &a)
		p2.Predict(r, &c)
		if a.Scores[0] != c.Scores[0] {
			t.Fatalf("decoded model scores %v, trained %v", c.Scores[0], a.Scores[0])
		}
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"child loops": {`"left":[1,`, `"left":[0,`, "model: trees: a split's children are out of range"},
		"no trees":    {`"trees":{`, `"notrees":{`, "model: file has no weights"},
		"feature":     {`"feature":[`, `"feature":[99,`, "model: trees: node arrays differ in length"},
		"classes":     {`"classes":1`, `"classes":2`, "model: trees give 2 margins for 1 classes"},
	} {
		bad := strings.Replace(string(b), c.old, c.new, 1)
		if bad == string(b) {
			t.Fatalf("%s: %q is not in the file", name, c.old)
		}
		_, err := model.Decode([]byte(bad))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

func TestTreesContributions(t *testing.T) {
	tb, m, p := adultTrees(t)
	var out []float64
	for _, r := range tb.Rows[:100] {
		var err error
		out, err = p.Contributions(r, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(m.Schema.Attributes)+1 {
			t.Fatalf("%d contributions", len(out))
		}
		s := 0.0
		for _, v := range out {
			s += v
		}
		score := make([]float64, 1)
		p.Score(r, score)
		margin := math.Log(score[0] / (1 - score[0]))
		if math.Abs(s-margin) > 1e-6 {
			t.Fatalf("contributions add up to %v, margin %v", s, margin)
		}
		if out[m.Schema.Target()] != 0 {
			t.Fatalf("the target contributes %v", out[m.Schema.Target()])
		}
	}
	_, lin := adult(t)
	if _, err := lin.Contributions(founding, nil); perch.Code(err) != perch.EInvalid {
		t.Errorf("a linear model explained: %v", err)
	}
}

func TestTreesPredictDoesNotAllocate(t *testing.T) {
	_, _, p := adultTrees(t)
	var out perch.Prediction
	p.Predict(founding, &out)
	if n := testing.AllocsPerRun(1000, func() { p.Predict(founding, &out) }); n != 0 {
		t.Fatalf("%v allocations per prediction", n)
	}
	rec := perch.Record{}
	for i, a := range p.Model().Schema.Attributes {
		rec[a.Name] = founding[i]
	}
	p.PredictRecord(rec, &out)
	if n := testing.AllocsPerRun(1000, func() { p.PredictRecord(rec, &out) }); n != 0 {
		t.Fatalf("%v allocations per record prediction", n)
	}
}

// A damaged tree part is refused or predicts; it never panics.
func TestTreesDamagedFiles(t *testing.T) {
	tb, m, _ := adultTrees(t)
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(b, []byte(`"trees":`))
	rng := rand.New(rand.NewPCG(1, 2))
	var out perch.Prediction
	decoded := 0
	for i := 0; i < 200; i++ {
		bad := append([]byte(nil), b...)
		for range 1 + rng.IntN(3) {
			j := start + rng.IntN(len(bad)-start)
			if bad[j] >= '0' && bad[j] <= '9' {
				bad[j] = byte('0' + rng.IntN(10))
			} else if bad[j] == ',' && rng.IntN(2) == 0 {
				bad[j] = '-'
			}
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("damaged file %d: panic %v", i, r)
				}
			}()
			dm, err := model.Decode(bad)
			if err != nil {
				return
			}
			p, err := model.Compile(dm)
			if err != nil {
				return
			}
			decoded++
			for _, r := range tb.Rows[:5] {
				p.Predict(r, &out)
				if _, err := p.Contributions(r, nil); err != nil {
					t.Fatal(err)
				}
			}
		}()
	}
	t.Logf("%d of 200 damaged files decoded", decoded)
}
