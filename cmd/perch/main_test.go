package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/recipe"
)

// fixtureDir holds the files shared by the tests: the sample data and a
// model trained once on it.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "perch-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one command line did.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs a command line in-process, with stdin as its input.
func cli(stdin string, args ...string) result {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// mustRun runs a command line that must succeed.
func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := cli(stdin, args...)
	if r.code != 0 {
		t.Fatalf("perch %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// writeExample writes a shipped data set (e.g. "adult/train.csv") into dir
// and returns its path.
func writeExample(dir, name string) (string, error) {
	b, err := examples.ReadAll(name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, strings.ReplaceAll(name, "/", "-"))
	return path, os.WriteFile(path, b, 0o644)
}

// adultFiles are the Adult data, its inferred schema and a BINARY model
// trained with the default parameters, made once for all the tests.
type adultFiles struct {
	train, test, schema, model string
}

var (
	adultOnce sync.Once
	adultFix  adultFiles
	adultErr  error
)

func adult(t *testing.T) adultFiles {
	t.Helper()
	adultOnce.Do(func() { adultFix, adultErr = makeAdult() })
	if adultErr != nil {
		t.Fatal(adultErr)
	}
	return adultFix
}

func makeAdult() (adultFiles, error) {
	dir := filepath.Join(fixtureDir, "adult")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return adultFiles{}, err
	}
	var f adultFiles
	var err error
	if f.train, err = writeExample(dir, "adult/train.csv"); err != nil {
		return f, err
	}
	if f.test, err = writeExample(dir, "adult/test.csv"); err != nil {
		return f, err
	}
	r := cli("", "schema", "infer", f.train, "--target", "income")
	if r.code != 0 {
		return f, fmt.Errorf("schema infer: exit %d: %s", r.code, r.stderr)
	}
	f.schema = filepath.Join(dir, "adult.schema")
	if err := os.WriteFile(f.schema, []byte(r.stdout), 0o644); err != nil {
		return f, err
	}
	f.model = filepath.Join(dir, "adult.model")
	r = cli("", "train", "--data", f.train, "--schema", f.schema, "--type", "BINARY", "--out", f.model)
	if r.code != 0 {
		return f, fmt.Errorf("train: exit %d: %s", r.code, r.stderr)
	}
	return f, nil
}

func TestSchemaInferAdult(t *testing.T) {
	a := adult(t)
	r := mustRun(t, "", "schema", "infer", a.train, "--target", "income")
	s, err := data.ParseSchema([]byte(r.stdout))
	if err != nil {
		t.Fatalf("output is not a schema: %v\n%s", err, r.stdout)
	}
	if len(s.Attributes) != 15 || !s.DataFileContainsHeader {
		t.Errorf("got %d attributes, header %v; want 15 and a header", len(s.Attributes), s.DataFileContainsHeader)
	}
	i := s.Target()
	if s.TargetAttributeName != "income" || i < 0 {
		t.Fatalf("target %q (index %d), want income", s.TargetAttributeName, i)
	}
	if typ := s.Attributes[i].Type; typ != "BINARY" {
		t.Errorf("income is %s, want BINARY", typ)
	}
	if s.PositiveValue != ">50K" {
		t.Errorf("positiveValue %q, want >50K", s.PositiveValue)
	}
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestStatsAdult(t *testing.T) {
	a := adult(t)
	// A person gets a summary, at most 30 lines.
	sum := mustRun(t, "", "stats", a.train, "--schema", a.schema).stdout
	lines := strings.Split(strings.TrimSuffix(sum, "\n"), "\n")
	if len(lines) != 17 || lines[0] != "32561 records; target income (BINARY): <=50K 24720, >50K 7841" ||
		!strings.Contains(sum, "workclass       CATEGORICAL  1836     0        8 distinct: Private 22696") ||
		!strings.Contains(sum, "age             NUMERIC      0        0        min 17, median 37, max 90, mean 38.58") {
		t.Errorf("summary of %d lines:\n%s", len(lines), sum)
	}
	r := mustRun(t, "", "stats", a.train, "--schema", a.schema, "--json")
	var st data.Stats
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("output is not stats: %v", err)
	}
	if st.Records != 32561 {
		t.Errorf("records %d, want 32561", st.Records)
	}
	if len(st.Attributes) != 15 {
		t.Fatalf("%d attribute stats, want 15", len(st.Attributes))
	}
	age := st.Attributes[0]
	if age.Name != "age" || age.Numeric == nil || age.Count != 32561 {
		t.Fatalf("age stats: %+v", age)
	}
	if age.Numeric.Min != 17 || age.Numeric.Max != 90 {
		t.Errorf("age from %v to %v, want 17 to 90", age.Numeric.Min, age.Numeric.Max)
	}
	wc := st.Attributes[1]
	if wc.Name != "workclass" || wc.Categorical == nil || wc.Missing == 0 {
		t.Errorf("workclass stats (it has ? for missing): %+v", wc)
	}
}

func TestRecipeSuggest(t *testing.T) {
	a := adult(t)
	for _, args := range [][]string{
		{"recipe", "suggest", "--schema", a.schema},
		{"recipe", "suggest", "--schema", a.schema, "--data", a.train},
	} {
		r := mustRun(t, "", args...)
		rc, err := recipe.Parse([]byte(r.stdout))
		if err != nil {
			t.Fatalf("%v: output does not parse as a recipe: %v\n%s", args, err, r.stdout)
		}
		if len(rc.Outputs) == 0 {
			t.Errorf("%v: recipe has no outputs", args)
		}
	}
}

func TestTrainEvaluateAdult(t *testing.T) {
	a := adult(t)
	r := mustRun(t, "", "evaluate", "--model", a.model, "--data", a.test, "--json")
	var ev learn.Evaluation
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("output is not an evaluation: %v", err)
	}
	auc, err := strconv.ParseFloat(ev.PerformanceMetrics.Properties["BinaryAUC"], 64)
	if err != nil {
		t.Fatalf("BinaryAUC: %v (properties %v)", err, ev.PerformanceMetrics.Properties)
	}
	if auc < 0.905 {
		t.Errorf("test AUC %.4f, want ≥ 0.905", auc)
	}
	if ev.Records != 16281 || ev.InvalidRecords != 0 {
		t.Errorf("%d records (%d invalid), want 16281 (0)", ev.Records, ev.InvalidRecords)
	}
	if !strings.HasPrefix(r.stderr, "evaluated BINARY model on 16281 records (0 invalid): BinaryAUC 0.9") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr: %q", r.stderr)
	}
	t.Logf("Adult test AUC %.4f", auc)
}

func TestTrainSummary(t *testing.T) {
	a := adult(t)
	out := filepath.Join(t.TempDir(), "m.model")
	r := mustRun(t, "", "train", "--data", a.train, "--schema", a.schema, "--type", "binary", "--out", out,
		"--param", "sgd.maxPasses=2")
	if r.stdout != "" {
		t.Errorf("stdout: %q", r.stdout)
	}
	// Not a terminal: no progress bar, just the one summary line.
	if strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "\r") ||
		!strings.HasPrefix(r.stderr, "trained BINARY SGD model on 32561 rows, ") || !strings.HasSuffix(r.stderr, ": "+out+"\n") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

// adultPrediction is the JSON a BINARY prediction prints.
type adultPrediction struct {
	PredictedLabel         string             `json:"predictedLabel"`
	PredictedScores        map[string]float64 `json:"predictedScores"`
	Details                map[string]any     `json:"details"` // strings, and missingAttributes a list
	PredictedOriginalLabel string             `json:"predictedOriginalLabel"`
}

func checkAdultPrediction(t *testing.T, line string) adultPrediction {
	t.Helper()
	var p adultPrediction
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("prediction %q: %v", line, err)
	}
	score, ok := p.PredictedScores[p.PredictedLabel]
	switch {
	case p.PredictedLabel != "0" && p.PredictedLabel != "1":
		t.Errorf("predictedLabel %q, want 0 or 1", p.PredictedLabel)
	case !ok || len(p.PredictedScores) != 1:
		t.Errorf("predictedScores %v, want one score keyed %q", p.PredictedScores, p.PredictedLabel)
	case (score >= 0.5) != (p.PredictedLabel == "1"):
		t.Errorf("score %v with label %q", score, p.PredictedLabel)
	}
	want := map[string]string{"0": "<=50K", "1": ">50K"}[p.PredictedLabel]
	if p.PredictedOriginalLabel != want {
		t.Errorf("predictedOriginalLabel %q with label %q, want %q", p.PredictedOriginalLabel, p.PredictedLabel, want)
	}
	_, missing := p.Details["missingAttributes"].([]any)
	if p.Details["PredictiveModelType"] != "BINARY" || p.Details["Algorithm"] != "GBDT" || len(p.Details) != 2 && !(missing && len(p.Details) == 3) {
		t.Errorf("details %v", p.Details)
	}
	return p
}

const adultCSV = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"

var adultRecord = []string{
	"age=22", "workclass=Local-gov", "fnlwgt=108435", "education=Masters", "education_num=14",
	"marital_status=Married-civ-spouse", "occupation=Prof-specialty", "relationship=Husband",
	"race=White", "sex=Male", "capital_gain=0", "capital_loss=0", "hours_per_week=80",
	"native_country=United-States",
}

func TestPredictCSV(t *testing.T) {
	a := adult(t)
	r := mustRun(t, "", "predict", "--model", a.model, "--csv", adultCSV)
	if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "}\n") {
		t.Fatalf("want one JSON line, got %q", r.stdout)
	}
	p := checkAdultPrediction(t, r.stdout)

	// The same record with its target, and as --record flags, predicts the same.
	withTarget := mustRun(t, "", "predict", "--model", a.model, "--csv", adultCSV+", >50K")
	if withTarget.stdout != r.stdout {
		t.Errorf("with the target: %s, without: %s", withTarget.stdout, r.stdout)
	}
	args := []string{"predict", "--model", a.model}
	for _, kv := range adultRecord {
		args = append(args, "--record", kv)
	}
	rec := mustRun(t, "", args...)
	if rec.stdout != r.stdout {
		t.Errorf("--record: %s, --csv: %s", rec.stdout, r.stdout)
	}
	t.Logf("predicted %s (%s), score %v", p.PredictedLabel, p.PredictedOriginalLabel, p.PredictedScores[p.PredictedLabel])
}

// --explain adds TreeSHAP contributions that add up to the margin; a
// linear model refuses it.
func TestPredictExplain(t *testing.T) {
	a := adult(t)
	r := mustRun(t, "", "predict", "--model", a.model, "--csv", adultCSV, "--explain")
	var p struct {
		Scores  map[string]float64 `json:"predictedScores"`
		Details struct {
			Contributions map[string]float64 `json:"contributions"`
			Expected      float64            `json:"expectedMargin"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || len(p.Details.Contributions) != 14 {
		t.Fatalf("%s: %v", r.stdout, err)
	}
	sum := p.Details.Expected
	for _, v := range p.Details.Contributions {
		sum += v
	}
	if s := p.Scores["0"]; math.Abs(sum-math.Log(s/(1-s))) > 1e-9 {
		t.Errorf("contributions add up to %v; the score %v", sum, s)
	}
	sgd := filepath.Join(t.TempDir(), "sgd.model")
	mustRun(t, "", "train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", sgd, "--param", "algorithm=sgd", "--param", "sgd.maxPasses=1")
	checkFailure(t, cli("", "predict", "--model", sgd, "--csv", adultCSV, "--explain"), 1,
		"--explain: the model's algorithm sgd does not explain predictions (gbdt does)")
}

func TestPredictRecordPartial(t *testing.T) {
	a := adult(t)
	r := mustRun(t, "", "predict", "--model", a.model, "--record", "age=22", "--record", "workclass=Local-gov",
		"--record", "education=Masters", "--record", "hours_per_week=80")
	if strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("want one line, got %q", r.stdout)
	}
	checkAdultPrediction(t, r.stdout)
}

func TestPredictJSONLines(t *testing.T) {
	a := adult(t)
	in := `{"age": 22, "workclass": "Local-gov", "education": "Masters", "hours_per_week": 80}
{"age": "52", "education": "Doctorate", "marital_status": "Married-civ-spouse", "capital_gain": 99999}

{"age": 17, "education": "11th", "marital_status": "Never-married", "hours_per_week": 10}
`
	r := mustRun(t, in, "predict", "--model", a.model)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines for 3 records, got %d:\n%s", len(lines), r.stdout)
	}
	var ps []adultPrediction
	for _, l := range lines {
		ps = append(ps, checkAdultPrediction(t, l))
	}
	if ps[1].PredictedLabel != "1" || ps[2].PredictedLabel != "0" {
		t.Errorf("a married doctor with a large capital gain got %q, a 17-year-old %q; want 1 and 0",
			ps[1].PredictedLabel, ps[2].PredictedLabel)
	}
}

func TestBatch(t *testing.T) {
	a := adult(t)
	out := filepath.Join(t.TempDir(), "preds.csv")
	r := mustRun(t, "", "batch", "--model", a.model, "--in", a.test, "--out", out)
	if !strings.HasPrefix(r.stderr, "predicted 16281 records (0 invalid) in ") {
		t.Errorf("stderr: %q", r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "bestAnswer,score,trueLabel" {
		t.Errorf("header %q", lines[0])
	}
	if n := len(lines) - 1; n != 16281 {
		t.Errorf("%d rows, want 16281", n)
	}
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 3 || (f[0] != "0" && f[0] != "1") || (f[2] != "<=50K" && f[2] != ">50K") {
			t.Fatalf("row %d: %q", i+1, l)
		}
		if _, err := strconv.ParseFloat(f[1], 64); err != nil {
			t.Fatalf("row %d: score %q: %v", i+1, f[1], err)
		}
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}

	// To stdout, the same bytes.
	r = mustRun(t, "", "batch", "--model", a.model, "--in", a.test, "--out", "-")
	if r.stdout != string(b) {
		t.Errorf("--out - wrote %d bytes, --out FILE %d", len(r.stdout), len(b))
	}
}

func TestBatchInvalidRecords(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	csv := "age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,capital_gain,capital_loss,hours_per_week,native_country,income\n" +
		adultCSV + ", >50K\n" +
		"39, State-gov\n" +
		adultCSV + ", <=50K\n"
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "batch", "--model", a.model, "--in", in, "--out", "-")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 || lines[2] != ",," {
		t.Errorf("want a header and 3 rows, the ragged one empty; got\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "(1 invalid)") || !strings.Contains(r.stderr, "line 3: record has 2 fields, want 15") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestTrainDeterministic(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	want, err := os.ReadFile(a.model)
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "again.model")
	mustRun(t, "", "train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", again)
	got, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("training twice with the default seed gave different model files (%d and %d bytes)", len(want), len(got))
	}
	// Another seed shuffles the rows differently, so the weights differ.
	seed2 := filepath.Join(dir, "seed2.model")
	mustRun(t, "", "train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", seed2, "--param", "seed=2")
	other, err := os.ReadFile(seed2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other, want) {
		t.Errorf("seed=2 gave the same model file as seed 1")
	}
}

func TestRegressionAndMulticlassWine(t *testing.T) {
	dir := t.TempDir()
	wine, err := writeExample(dir, "wine-quality/wine.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "schema", "infer", wine, "--target", "quality")
	schema := filepath.Join(dir, "wine.schema")
	if err := os.WriteFile(schema, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(dir, "reg.model")
	mustRun(t, "", "train", "--data", wine, "--schema", schema, "--type", "REGRESSION", "--out", reg)
	r = mustRun(t, "", "evaluate", "--model", reg, "--data", wine, "--json")
	var ev learn.Evaluation
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatal(err)
	}
	rmse, err := strconv.ParseFloat(ev.PerformanceMetrics.Properties["RegressionRMSE"], 64)
	if err != nil || rmse <= 0 || rmse > 0.8 {
		t.Errorf("RegressionRMSE %v (%v), want in (0, 0.8]", rmse, err)
	}
	r = mustRun(t, "", "predict", "--model", reg, "--csv", "7.7,0.66,0.04,1.6,0.039,4,9,0.9962,3.4,0.47,9.4,red")
	var p struct {
		PredictedValue *float64          `json:"predictedValue"`
		Details        map[string]string `json:"details"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.PredictedValue == nil ||
		*p.PredictedValue < 3 || *p.PredictedValue > 9 || p.Details["PredictiveModelType"] != "REGRESSION" {
		t.Errorf("regression prediction %q (%v)", r.stdout, err)
	}

	// quality as CATEGORICAL makes a MULTICLASS target.
	b, err := os.ReadFile(schema)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := data.ParseSchema(b)
	if err != nil {
		t.Fatal(err)
	}
	ws.Attributes[ws.Target()].Type = "CATEGORICAL"
	mb, _ := json.Marshal(ws)
	mschema := filepath.Join(dir, "wine-multi.schema")
	if err := os.WriteFile(mschema, mb, 0o644); err != nil {
		t.Fatal(err)
	}
	multi := filepath.Join(dir, "multi.model")
	mustRun(t, "", "train", "--data", wine, "--schema", mschema, "--type", "MULTICLASS", "--out", multi)
	r = mustRun(t, "", "evaluate", "--model", multi, "--data", wine, "--json")
	ev = learn.Evaluation{}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatal(err)
	}
	if _, ok := ev.PerformanceMetrics.Properties["MulticlassAvgFScore"]; !ok || ev.Type != "MULTICLASS" {
		t.Errorf("multiclass evaluation: %v", ev.PerformanceMetrics.Properties)
	}
	r = mustRun(t, "", "predict", "--model", multi, "--record", "alcohol=12.5", "--record", "color=white")
	var mp struct {
		PredictedLabel  string             `json:"predictedLabel"`
		PredictedScores map[string]float64 `json:"predictedScores"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &mp); err != nil || mp.PredictedScores[mp.PredictedLabel] == 0 || len(mp.PredictedScores) < 3 {
		t.Errorf("multiclass prediction %q (%v)", r.stdout, err)
	}
}

func TestTextTargetFirst(t *testing.T) {
	dir := t.TempDir()
	sms, err := writeExample(dir, "sms-spam/sms.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "", "schema", "infer", sms, "--target", "label")
	schema := filepath.Join(dir, "sms.schema")
	if err := os.WriteFile(schema, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "sms.model")
	mustRun(t, "", "train", "--data", sms, "--schema", schema, "--type", "BINARY", "--out", m)
	// The target is the first column: --csv may leave it out all the same.
	spam := mustRun(t, "", "predict", "--model", m, "--csv", `"WINNER!! You have won a free prize, call 09061701461 now to claim"`)
	ham := mustRun(t, "", "predict", "--model", m, "--csv", "ham,see you at lunch then")
	if !strings.Contains(spam.stdout, `"predictedOriginalLabel":"spam"`) || !strings.Contains(ham.stdout, `"predictedOriginalLabel":"ham"`) {
		t.Errorf("spam: %s ham: %s", spam.stdout, ham.stdout)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}} {
		r := cli("", args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, name := range order {
			if !strings.Contains(r.stdout, "perch "+name+" ") {
				t.Errorf("%v: usage does not show %s:\n%s", args, name, r.stdout)
			}
		}
	}
	for _, name := range order {
		for _, args := range [][]string{{name, "-h"}, {"help", name}, {name, "--help"}} {
			r := cli("", args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "Usage:\n  perch "+name+" ") || !strings.Contains(r.stdout, "\nFlags:\n  --") {
				t.Errorf("%v:\n%s", args, r.stdout)
			}
		}
	}
	r := cli("", "train", "-h")
	for _, want := range []string{"--data FILE", "--type TYPE", "--param key=value", "sgd.maxPasses", "sgd.shuffleType", "seed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("train -h does not mention %s:\n%s", want, r.stdout)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, on: true}
	p.update("features", 50, 100)
	p.update("sgd", 10, 10)
	p.done()
	want := "\rtraining [###############               ] features    " +
		"\rtraining [##############################] pass 10/10  " +
		"\r\033[K"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	b.Reset()
	p = newProgress(&b, false)
	p.update("sgd", 1, 10)
	p.done()
	if b.Len() != 0 {
		t.Errorf("a bar drawn off a terminal: %q", b.String())
	}
}

func TestGzipInput(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	gz, err := examples.FS.ReadFile("adult/test.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	test := write(t, filepath.Join(dir, "test.csv.gz"), string(gz))
	r := mustRun(t, "", "schema", "infer", test, "--target", "income")
	if !strings.Contains(r.stdout, `"positiveValue": ">50K"`) {
		t.Errorf("schema of the gzipped file:\n%s", r.stdout)
	}
	r = mustRun(t, "", "evaluate", "--model", a.model, "--data", test)
	if !strings.HasPrefix(r.stdout, "BINARY evaluation of 16281 records (0 invalid)\n") {
		t.Errorf("stdout: %q", r.stdout)
	}
	r = mustRun(t, "", "batch", "--model", a.model, "--in", test, "--out", "-")
	if n := strings.Count(r.stdout, "\n"); n != 16282 {
		t.Errorf("%d lines, want a header and 16281 rows", n)
	}

	empty := write(t, filepath.Join(dir, "empty.csv.gz"), "")
	checkFailure(t, cli("", "schema", "infer", empty), 1, empty+": no records")
	checkFailure(t, cli("", "train", "--data", empty, "--schema", a.schema, "--type", "BINARY", "--out", filepath.Join(dir, "m")), 1, empty+": no records")
	checkFailure(t, cli("", "batch", "--model", a.model, "--in", empty, "--out", "-"), 1, empty+": input is empty")

	// Not gzip at all: the file is named once.
	bad := write(t, filepath.Join(dir, "bad.csv.gz"), "age,income\n")
	r = cli("", "train", "--data", bad, "--schema", a.schema, "--type", "BINARY", "--out", filepath.Join(dir, "m"))
	if r.code != 1 || strings.Count(r.stderr, bad) != 1 || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
