package learn

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/model"
)

// Iris's species are the numbers 0, 1 and 2: inferred NUMERIC, they make
// a MULTICLASS model whose classes are the numbers, with either learner.
func TestMulticlassNumericTarget(t *testing.T) {
	s := infer(t, "iris/iris.csv", "species")
	if typ := s.Attributes[s.Target()].Type; typ != perch.Numeric {
		t.Fatalf("species inferred %s, want NUMERIC", typ)
	}
	tab := load(t, "iris/iris.csv", s, "")
	if len(tab.Rows) != 150 {
		t.Fatalf("%d iris rows, want 150", len(tab.Rows))
	}
	for _, params := range []map[string]string{{"algorithm": "gbdt"}, {"algorithm": "sgd"}} {
		m, ev := trainEval(t, tab, tab, Options{Type: perch.MulticlassModel, Params: params})
		if !slices.Equal(m.Classes, []string{"0", "1", "2"}) {
			t.Errorf("%s: classes %q, want 0, 1, 2", params["algorithm"], m.Classes)
		}
		f1 := metric(t, ev, "MulticlassAvgFScore")
		t.Logf("iris %s MulticlassAvgFScore %.4f on the training rows", params["algorithm"], f1)
		if f1 < 0.9 || ev.Records != 150 || ev.InvalidRecords != 0 {
			t.Errorf("%s: macro-F1 %.4f on %d records (%d invalid), want ≥ 0.9 on 150", params["algorithm"], f1, ev.Records, ev.InvalidRecords)
		}
		p, err := model.Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		var out perch.Prediction
		p.Predict([]string{"5.1", "3.5", "1.4", "0.2", ""}, &out)
		if out.Label != "0" || len(out.Scores) != 3 || out.Scores[2].Label != "2" {
			t.Errorf("%s: a setosa predicted %+v, want label 0 with scores for 0, 1, 2", params["algorithm"], out)
		}
	}
}

// numericTable is a table of one feature x and a NUMERIC target y.
func numericTable(t *testing.T, ys []string) *data.Table {
	t.Helper()
	var b strings.Builder
	b.WriteString("x,y\n")
	for i, y := range ys {
		fmt.Fprintf(&b, "%d,%s\n", i%7, y)
	}
	s := &perch.Schema{Version: "1.0", DataFormat: "CSV", DataFileContainsHeader: true, TargetAttributeName: "y",
		Attributes: []perch.Attribute{{Name: "x", Type: perch.Numeric}, {Name: "y", Type: perch.Numeric}}}
	tab, err := data.Load(strings.NewReader(b.String()), s, nil, data.Options{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// A NUMERIC target's classes are numbers: spellings of one number are one
// class, named in its shortest spelling, and a value that is no number is
// an invalid target, left out of training and of evaluation.
func TestMulticlassNumericSpellings(t *testing.T) {
	tab := numericTable(t, []string{"1", "1.0", "01", "2", "2.50", "-0", "0", "x", "10", "2", "1", "0"})
	m, err := Train(tab, Options{Type: perch.MulticlassModel, Params: map[string]string{"algorithm": "sgd"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0", "1", "2", "2.5", "10"}; !slices.Equal(m.Classes, want) {
		t.Errorf("classes %q, want %q", m.Classes, want)
	}
	if m.Training.Rows != 11 || m.Training.InvalidRows != 1 {
		t.Errorf("trained on %d rows, %d invalid; want 11 and 1", m.Training.Rows, m.Training.InvalidRows)
	}
	p, err := model.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(p, tab)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Records != 11 || ev.InvalidRecords != 1 || len(ev.Multiclass.Classes) != 5 {
		t.Errorf("evaluated %d records, %d invalid, classes %v; want 11, 1 and the model's 5", ev.Records, ev.InvalidRecords, ev.Multiclass.Classes)
	}
}

// More distinct numbers than a MULTICLASS model takes classes is refused,
// naming the attribute and pointing to REGRESSION.
func TestMulticlassNumericTooManyClasses(t *testing.T) {
	ys := make([]string, 101)
	for i := range ys {
		ys[i] = fmt.Sprint(i)
	}
	_, err := Train(numericTable(t, ys), Options{Type: perch.MulticlassModel})
	want := `target "y" is NUMERIC with 101 distinct values; a MULTICLASS model takes at most 100 classes (a REGRESSION model predicts the number)`
	if err == nil || err.Error() != want || perch.Code(err) != perch.EInvalid {
		t.Fatalf("error %v (code %s), want %q", err, perch.Code(err), want)
	}
	if _, err := Train(numericTable(t, ys[:100]), Options{Type: perch.MulticlassModel, Params: map[string]string{"gbdt.numTrees": "2"}}); err != nil {
		t.Fatalf("100 classes: %v", err)
	}
}

// A gbdt model does not read TEXT attributes, nor one with no value: the
// model records them, and a record lacking them is not said to lack them.
func TestGBDTIgnoredAttributes(t *testing.T) {
	const csv = "n,note,empty,y\n" +
		"1,good day,,a\n2,bad day,,b\n3,good night,,a\n4,bad night,,b\n5,good,,a\n6,bad,,b\n"
	s := &perch.Schema{Version: "1.0", DataFormat: "CSV", DataFileContainsHeader: true, TargetAttributeName: "y",
		Attributes: []perch.Attribute{{Name: "n", Type: perch.Numeric}, {Name: "note", Type: perch.Text},
			{Name: "empty", Type: perch.Numeric}, {Name: "y", Type: perch.Categorical}}}
	tab, err := data.Load(strings.NewReader(csv), s, nil, data.Options{Header: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Train(tab, Options{Type: perch.MulticlassModel, Params: map[string]string{"algorithm": "gbdt", "gbdt.minDataInLeaf": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"note", "empty"}; !slices.Equal(m.Training.IgnoredAttributes, want) {
		t.Fatalf("ignored %q, want %q", m.Training.IgnoredAttributes, want)
	}
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"pruned":0,"ignoredAttributes":["note","empty"]}`) {
		t.Errorf("model file does not record them: %s", b)
	}
	back, err := model.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Training.IgnoredAttributes, m.Training.IgnoredAttributes) {
		t.Errorf("read back %q", back.Training.IgnoredAttributes)
	}
	p, err := model.Compile(back)
	if err != nil {
		t.Fatal(err)
	}
	var out perch.Prediction
	p.PredictRecord(perch.Record{"y": "a"}, &out)
	if !slices.Equal(out.Missing, []string{"n"}) {
		t.Errorf("missing %q, want [n]", out.Missing)
	}

	// sgd reads the text through its recipe: nothing is ignored.
	m, err = Train(tab, Options{Type: perch.MulticlassModel})
	if err != nil {
		t.Fatal(err)
	}
	if m.Algorithm != "sgd" || m.Training.IgnoredAttributes != nil {
		t.Errorf("%s model ignores %q, want an sgd model that ignores nothing", m.Algorithm, m.Training.IgnoredAttributes)
	}
}
