package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// Iris's species are the numbers 0, 1 and 2: schema infer calls them
// NUMERIC, and --type MULTICLASS trains on them as classes.
func TestTrainIrisMulticlass(t *testing.T) {
	dir := t.TempDir()
	iris, err := writeExample(dir, "iris/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "schema", "infer", iris, "--target", "species")
	s, err := data.ParseSchema([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if typ := s.Attributes[s.Target()].Type; typ != "NUMERIC" || len(s.Attributes) != 5 {
		t.Fatalf("species is %s of %d attributes, want NUMERIC of 5", typ, len(s.Attributes))
	}
	schema := filepath.Join(dir, "iris.schema")
	if err := os.WriteFile(schema, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "iris.model")
	r = mustRun(t, "", "train", "--data", iris, "--schema", schema, "--type", "MULTICLASS", "--out", m)
	if !strings.HasPrefix(r.stderr, "trained MULTICLASS GBDT model on 150 rows, 4 features, ") || strings.Contains(r.stderr, "note:") {
		t.Errorf("stderr: %q", r.stderr)
	}
	r = mustRun(t, "", "evaluate", "--model", m, "--data", iris)
	if !strings.Contains(r.stdout, "MulticlassAvgFScore") {
		t.Errorf("evaluate: %s", r.stdout)
	}
	// The figures, from the model file and the data as evaluate reads them.
	mf, err := model.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	p0, err := model.Compile(mf)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := data.LoadFile(iris, mf.Schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := learn.Evaluate(p0, tab)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := strconv.ParseFloat(ev.PerformanceMetrics.Properties["MulticlassAvgFScore"], 64)
	if err != nil || f1 < 0.9 || ev.Records != 150 {
		t.Errorf("macro-F1 %v (%v) on %d records, want ≥ 0.9 on 150", f1, err, ev.Records)
	}
	var labels []string
	for _, c := range ev.Multiclass.Classes {
		labels = append(labels, c.Class)
	}
	if !slices.Equal(labels, []string{"0", "1", "2"}) {
		t.Errorf("classes %q, want 0, 1, 2", labels)
	}
	r = mustRun(t, "", "predict", "--model", m, "--record", "petal_length=6.0", "--record", "petal_width=2.5", "--record", "sepal_length=6.3")
	var p struct {
		Label   string             `json:"predictedLabel"`
		Scores  map[string]float64 `json:"predictedScores"`
		Details struct {
			Missing []string `json:"missingAttributes"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.Label != "2" || len(p.Scores) != 3 ||
		!slices.Equal(p.Details.Missing, []string{"sepal_width"}) {
		t.Errorf("a virginica lacking sepal_width: %s (%v)", r.stdout, err)
	}
}

func TestSchemaInferTypeFlag(t *testing.T) {
	dir := t.TempDir()
	iris, err := writeExample(dir, "iris/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "schema", "infer", iris, "--target", "species", "--type", "species=categorical", "--type", " sepal_width = TEXT")
	if got := attrTypes(t, r.stdout); got != "sepal_length:NUMERIC sepal_width:TEXT petal_length:NUMERIC petal_width:NUMERIC species:CATEGORICAL" {
		t.Errorf("types %s", got)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--type", "specis=CATEGORICAL"}, 1, `perch schema: ` + iris + `: schema: type for "specis": no such attribute (attributes: sepal_length, sepal_width, petal_length, petal_width, species)` + "\n"},
		{[]string{"--type", "species=FLOAT"}, 2, `perch schema: --type species=FLOAT: unknown type "FLOAT" (want BINARY, CATEGORICAL, NUMERIC or TEXT)` + "\n"},
		{[]string{"--type", "species"}, 2, `perch schema: --type "species": want key=value` + "\n"},
	} {
		r := cli("", append([]string{"schema", "infer", iris}, c.args...)...)
		if r.code != c.code || r.stderr != c.want || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}

	// A gbdt model told to read a TEXT attribute says it ignores it.
	schema := filepath.Join(dir, "text.schema")
	r = mustRun(t, "", "schema", "infer", iris, "--target", "species", "--type", "sepal_width=TEXT")
	if err := os.WriteFile(schema, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "text.model")
	r = mustRun(t, "", "train", "--data", iris, "--schema", schema, "--type", "MULTICLASS", "--param", "algorithm=gbdt", "--out", m)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "trained MULTICLASS GBDT model on 150 rows, 3 features, ") ||
		lines[1] != "note: the model ignores sepal_width: gbdt does not read TEXT attributes (--param algorithm=sgd does)" {
		t.Errorf("stderr: %q", r.stderr)
	}
	b, err := os.ReadFile(m)
	if err != nil || !strings.Contains(string(b), `"ignoredAttributes":["sepal_width"]`) {
		t.Errorf("model file does not record the ignored attribute (%v)", err)
	}
}

// attrTypes lists a schema's attributes as name:TYPE.
func attrTypes(t *testing.T, schema string) string {
	t.Helper()
	s, err := data.ParseSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range s.Attributes {
		out = append(out, a.Name+":"+string(a.Type))
	}
	return strings.Join(out, " ")
}
