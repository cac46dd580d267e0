package model_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// smallModels trains small models of each algorithm and type on a few
// synthetic rows, to seed the fuzzer with real model files.
func smallModels(f *testing.F) [][]byte {
	var csv strings.Builder
	csv.WriteString("n,c,t,y,v\n")
	for i := range 60 {
		fmt.Fprintf(&csv, "%d,%c,word%d other,%d,%d.5\n", i%17, 'a'+i%5, i%3, i%2, i%7)
	}
	s, err := data.InferSchema(strings.NewReader(csv.String()), data.InferOptions{Target: "y"})
	if err != nil {
		f.Fatal(err)
	}
	tab, err := data.Load(strings.NewReader(csv.String()), s, nil, data.Options{Header: true})
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, c := range []struct {
		typ    perch.ModelType
		target string
		params map[string]string
	}{
		{perch.BinaryModel, "y", map[string]string{"algorithm": "sgd", "sgd.maxPasses": "1"}},
		{perch.BinaryModel, "y", map[string]string{"algorithm": "gbdt", "gbdt.numTrees": "3", "gbdt.minDataInLeaf": "2"}},
		{perch.MulticlassModel, "n", map[string]string{"algorithm": "gbdt", "gbdt.numTrees": "2", "gbdt.minDataInLeaf": "2"}},
		{perch.RegressionModel, "v", map[string]string{"algorithm": "sgd", "sgd.maxPasses": "1"}},
	} {
		ts := *s
		ts.Attributes = append([]perch.Attribute(nil), s.Attributes...)
		ts.TargetAttributeName = c.target
		for i := range ts.Attributes {
			if ts.Attributes[i].Name == c.target && c.typ == perch.MulticlassModel {
				ts.Attributes[i].Type = perch.Categorical
			}
			if ts.Attributes[i].Name == "y" && c.target != "y" {
				ts.Attributes[i].Type = perch.Numeric
			}
		}
		t := &data.Table{Schema: &ts, Rows: tab.Rows}
		m, err := learn.Train(t, learn.Options{Type: c.typ, Params: c.params})
		if err != nil {
			f.Fatalf("%s %v: %v", c.typ, c.params, err)
		}
		b, err := m.Bytes()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecode: a damaged model file is refused by Decode; one that is
// accepted compiles, predicts and explains any record without panicking,
// and writes itself back as a file that reads back the same.
func FuzzDecode(f *testing.F) {
	for _, b := range smallModels(f) {
		f.Add(b, "3,b,word1 other,,2.5")
	}
	f.Fuzz(func(t *testing.T, b []byte, record string) {
		m, err := model.Decode(b)
		if err != nil {
			if perch.Code(err) != perch.EInvalid {
				t.Fatalf("refused with code %s: %v", perch.Code(err), err)
			}
			return
		}
		p, err := model.Compile(m)
		if err != nil {
			t.Fatalf("decoded but does not compile: %v", err)
		}
		fields := strings.Split(record, ",")
		var out perch.Prediction
		p.Predict(fields, &out)
		if m.Trees != nil {
			if err := p.Explain(fields, &out); err != nil {
				t.Fatalf("a tree model does not explain: %v", err)
			}
		}
		again, err := m.Bytes()
		if err != nil {
			t.Fatalf("decoded but does not encode: %v", err)
		}
		m2, err := model.Decode(again)
		if err != nil {
			t.Fatalf("its own file does not decode: %v", err)
		}
		if third, _ := m2.Bytes(); !bytes.Equal(third, again) {
			t.Fatalf("the file changes on each round trip")
		}
	})
}
