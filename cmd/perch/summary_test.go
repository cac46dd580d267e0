package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/metrics"
)

// summaryLines checks that a summary is at most maxSummaryLines lines, each
// without trailing spaces, and returns them.
func summaryLines(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("summary does not end in a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) > maxSummaryLines {
		t.Errorf("%d lines, want at most %d:\n%s", len(lines), maxSummaryLines, out)
	}
	for _, l := range lines {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("trailing spaces in %q", l)
		}
	}
	return lines
}

// hasLine checks that some line of a summary matches all the words in
// order, separated by any spaces.
func hasLine(t *testing.T, lines []string, words ...string) {
	t.Helper()
	for _, l := range lines {
		if strings.Join(strings.Fields(l), " ") == strings.Join(words, " ") {
			return
		}
	}
	t.Errorf("no line %q in\n%s", strings.Join(words, " "), strings.Join(lines, "\n"))
}

// fullReport checks that --json printed a whole report and returns it,
// decoded both ways.
func fullReport(t *testing.T, out string, kind string, parts ...string) (*learn.Evaluation, map[string]json.RawMessage) {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("--json does not print JSON: %v\n%.300s", err, out)
	}
	for _, k := range []string{"PerformanceMetrics", "type", "records", "invalidRecords", kind} {
		if _, ok := keys[k]; !ok {
			t.Errorf("the report has no %q", k)
		}
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(keys[kind], &inner); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	for _, k := range parts {
		if _, ok := inner[k]; !ok {
			t.Errorf("the report's %s has no %q", kind, k)
		}
	}
	ev, err := parseReport([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	return ev, keys
}

func TestSummaryAdult(t *testing.T) {
	a := adult(t)
	r := mustRun(t, "", "evaluate", "--model", a.model, "--data", a.test)
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	lines := summaryLines(t, r.stdout)

	j := mustRun(t, "", "evaluate", "--model", a.model, "--data", a.test, "--json")
	ev, _ := fullReport(t, j.stdout, "binary", "auc", "roc", "thresholds", "histogram", "confusion")
	b := ev.Binary
	if len(b.ROC) < 50 || len(b.Thresholds) != 101 {
		t.Errorf("--json report has %d ROC points and %d thresholds", len(b.ROC), len(b.Thresholds))
	}
	if n := strings.Count(j.stdout, "\n"); n < 1000 {
		t.Errorf("--json printed %d lines, want the whole report", n)
	}
	if !strings.HasPrefix(j.stderr, "evaluated BINARY model on 16281 records (0 invalid): BinaryAUC 0.9") {
		t.Errorf("--json stderr: %q", j.stderr)
	}

	if lines[0] != "BINARY evaluation of 16281 records (0 invalid)" {
		t.Errorf("first line %q", lines[0])
	}
	hasLine(t, lines, "BinaryAUC", num(b.AUC), "(a", "random", "guess:", "0.5)")
	hasLine(t, lines, "threshold", "0.5", "(a", "score", "at", "or", "above", "it", "predicts", "1)")
	hasLine(t, lines, "accuracy", num(b.Accuracy))
	hasLine(t, lines, "precision", num(b.Precision))
	hasLine(t, lines, "recall", num(b.Recall))
	hasLine(t, lines, "F1", num(b.F1))
	hasLine(t, lines, "confusion", "matrix", "at", "0.5:")
	hasLine(t, lines, "predicted", "1", "predicted", "0", "records")
	c := b.Confusion
	hasLine(t, lines, "actual", "1", fmt.Sprint(c.TP), "TP", fmt.Sprint(c.FN), "FN", fmt.Sprint(b.Positives))
	hasLine(t, lines, "actual", "0", fmt.Sprint(c.FP), "FP", fmt.Sprint(c.TN), "TN", fmt.Sprint(b.Negatives))
	if c.TP+c.FN+c.FP+c.TN != 16281 || b.Positives != 3846 {
		t.Errorf("confusion %+v, %d positives", c, b.Positives)
	}
	if !strings.HasPrefix(lines[len(lines)-1], "best F1 on this data: ") {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
	t.Logf("perch evaluate on Adult:\n%s", r.stdout)
}

func TestSummaryWine(t *testing.T) {
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
	mustRun(t, "", "train", "--data", wine, "--schema", schema, "--type", "REGRESSION", "--param", "gbdt.numTrees=10", "--out", reg)
	r = mustRun(t, "", "evaluate", "--model", reg, "--data", wine)
	lines := summaryLines(t, r.stdout)
	ev, _ := fullReport(t, mustRun(t, "", "evaluate", "--model", reg, "--data", wine, "--json").stdout, "regression", "rmse", "residuals")
	g := ev.Regression
	if lines[0] != "REGRESSION evaluation of 6497 records (0 invalid)" {
		t.Errorf("first line %q", lines[0])
	}
	hasLine(t, lines, "RegressionRMSE", num(g.RMSE), "(always", "the", "training", "mean:", num(g.BaselineRMSE)+")")
	hasLine(t, lines, "MAE", num(g.MAE))
	hasLine(t, lines, "R²", num(g.R2))
	hasLine(t, lines, "residuals,", "actual", "−", "predicted", "(from", "20", "bins", "over", num(g.Residuals.Lower), "to", num(g.Residuals.Upper)+"):")
	for _, q := range residualQuantiles {
		hasLine(t, lines, q.name, num(histogramQuantile(g.Residuals, q.q)))
	}
	if len(lines) != 10 {
		t.Errorf("%d lines, want 10:\n%s", len(lines), r.stdout)
	}

	// quality as CATEGORICAL: seven classes.
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
	mustRun(t, "", "train", "--data", wine, "--schema", mschema, "--type", "MULTICLASS", "--param", "gbdt.numTrees=5", "--out", multi)
	r = mustRun(t, "", "evaluate", "--model", multi, "--data", wine)
	lines = summaryLines(t, r.stdout)
	ev, _ = fullReport(t, mustRun(t, "", "evaluate", "--model", multi, "--data", wine, "--json").stdout, "multiclass", "macroF1", "classes", "confusion")
	m := ev.Multiclass
	if lines[0] != "MULTICLASS evaluation of 6497 records (0 invalid)" || len(m.Classes) != 7 {
		t.Errorf("first line %q, %d classes", lines[0], len(m.Classes))
	}
	hasLine(t, lines, "MulticlassAvgFScore", num(m.AvgF1), "(macro-F1;", "always", "the", "most", "frequent", "class:", num(m.BaselineF1)+")")
	hasLine(t, lines, "accuracy", num(m.Accuracy))
	hasLine(t, lines, "confusion", "matrix,", "7", "classes", "(rows", "actual,", "columns", "predicted):")
	header := []string{}
	for _, c := range m.Classes {
		header = append(header, c.Class)
	}
	hasLine(t, lines, append(header, "F1", "records")...)
	for a, c := range m.Classes {
		row := []string{c.Class}
		for _, n := range m.Confusion[a] {
			row = append(row, fmt.Sprint(n))
		}
		hasLine(t, lines, append(row, num(c.F1), fmt.Sprint(c.Support))...)
	}
	if len(lines) != 12 || strings.Contains(r.stdout, "others") {
		t.Errorf("%d lines, want 12 and no others:\n%s", len(lines), r.stdout)
	}
}

func TestSummaryManyClasses(t *testing.T) {
	// 25 classes, class i with i+1 records, each predicted as itself or,
	// every third record, as class 0.
	const k = 25
	var predicted, actual []int
	classes := make([]string, k)
	for c := range k {
		classes[c] = fmt.Sprintf("class-%02d", c)
		for i := range c + 1 {
			actual = append(actual, c)
			if i%3 == 2 {
				predicted = append(predicted, 0)
			} else {
				predicted = append(predicted, c)
			}
		}
	}
	classes[24] = "a class whose name is far too long for a column"
	ev := &learn.Evaluation{Type: perch.MulticlassModel, Records: len(actual), Multiclass: metrics.Multiclass(predicted, actual, classes)}
	var b bytes.Buffer
	if err := writeEvaluationSummary(&b, ev); err != nil {
		t.Fatal(err)
	}
	lines := summaryLines(t, b.String())
	// The ten classes with the most records, 15 to 24, and the others.
	hasLine(t, lines, "class-15", "class-16", "class-17", "class-18", "class-19", "class-20", "class-21", "class-22", "class-23", "a", "class", "whose", "n…", "others", "F1", "records")
	hasLine(t, lines, "class-15", "11", "0", "0", "0", "0", "0", "0", "0", "0", "0", "5", num(ev.Multiclass.Classes[15].F1), "16")
	// Classes 0 to 14 hold 120 records, each predicted as one of them.
	hasLine(t, lines, "others", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "120", "120")
	hasLine(t, lines, "15", "less", "frequent", "classes", "left", "out,", "counted", "as", "others", "(--json", "has", "them", "all)")
	if len(lines) != 17 {
		t.Errorf("%d lines, want 17:\n%s", len(lines), b.String())
	}

	// A thousand classes still fit.
	classes = make([]string, 1000)
	actual = make([]int, 1000)
	for i := range classes {
		classes[i] = fmt.Sprint(i)
		actual[i] = i
	}
	ev.Multiclass = metrics.Multiclass(actual, actual, classes)
	b.Reset()
	if err := writeEvaluationSummary(&b, ev); err != nil {
		t.Fatal(err)
	}
	summaryLines(t, b.String())
}

func TestSummaryQuantiles(t *testing.T) {
	// Four bins over [-2, 2]: 10 residuals in [-1, 0), 30 in [0, 1).
	h := metrics.ResidualHistogram{Lower: -2, Upper: 2, Counts: []int{0, 10, 30, 0}}
	for _, c := range []struct{ q, want float64 }{
		{0, -1}, {0.125, -0.5}, {0.25, 0}, {0.5, 1.0 / 3}, {1, 1},
	} {
		if got := histogramQuantile(h, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile %v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := histogramQuantile(metrics.ResidualHistogram{Lower: -1, Upper: 1, Counts: make([]int, 20)}, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile of no residuals: %v", got)
	}
}

func TestSummaryRemoteEvaluation(t *testing.T) {
	e := newRemote(t)
	test, err := writeExample(t.TempDir(), "adult/test.csv")
	if err != nil {
		t.Fatal(err)
	}
	ds := decodeOut[perch.DataSource](t, e.must(t, "", "datasources", "create", "--file", test, "--target", "income", "--wait"))
	m := decodeOut[perch.MLModel](t, e.must(t, "", "models", "create", "--datasource", ds.ID, "--type", "BINARY",
		"--param", "gbdt.numTrees=5", "--wait"))
	ev := decodeOut[perch.Evaluation](t, e.must(t, "", "evaluations", "create", "--model", m.ID, "--datasource", ds.ID,
		"--name", "on its own data", "--wait"))

	// report: the summary of the report --json prints whole.
	full := e.must(t, "", "evaluations", "report", ev.ID, "--json")
	report, _ := fullReport(t, full.stdout, "binary", "auc", "roc", "thresholds", "histogram", "confusion")
	var want bytes.Buffer
	if err := writeEvaluationSummary(&want, report); err != nil {
		t.Fatal(err)
	}
	r := e.must(t, "", "evaluations", "report", ev.ID)
	lines := summaryLines(t, r.stdout)
	if r.stdout != want.String() || lines[0] != "BINARY evaluation of 16281 records (0 invalid)" {
		t.Errorf("report summary:\n%s\nwant:\n%s", r.stdout, want.String())
	}
	hasLine(t, lines, "BinaryAUC", num(report.Binary.AUC), "(a", "random", "guess:", "0.5)")

	// get: the evaluation, then the same summary.
	r = e.must(t, "", "evaluations", "get", ev.ID)
	lines = summaryLines(t, r.stdout)
	if !strings.HasPrefix(lines[0], "evaluation "+ev.ID+" (on its own data): COMPLETED at ") ||
		lines[1] != "model "+m.ID+" on data source "+ds.ID ||
		strings.Join(lines[2:], "\n")+"\n" != want.String() || r.stderr != "" {
		t.Errorf("get:\n%s\nstderr %q", r.stdout, r.stderr)
	}
	got := decodeOut[perch.Evaluation](t, e.must(t, "", "evaluations", "get", ev.ID, "--json"))
	if got.ID != ev.ID || got.Status != perch.StatusCompleted || got.PerformanceMetrics["BinaryAUC"] != ev.PerformanceMetrics["BinaryAUC"] {
		t.Errorf("get --json: %+v", got)
	}
	failsWith(t, e.run("", "evaluations", "report", "nope"), 1, "nope")
}

func TestSummaryEvaluationEntity(t *testing.T) {
	// An evaluation without a report: its status, why, and what metric
	// it has.
	e := &perch.Evaluation{Meta: perch.Meta{ID: "ev-1", Status: perch.StatusFailed, Message: "the model\nfailed"},
		MLModel: "m-1", DataSource: "ds-1"}
	var b bytes.Buffer
	if err := writeEvaluation(&b, e, nil); err != nil {
		t.Fatal(err)
	}
	want := "evaluation ev-1: FAILED\nmodel m-1 on data source ds-1\nmessage: the model; failed\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
	e.Status, e.Message = perch.StatusCompleted, ""
	e.PerformanceMetrics = map[string]string{"RegressionRMSE": "0.61234567"}
	b.Reset()
	if err := writeEvaluation(&b, e, nil); err != nil {
		t.Fatal(err)
	}
	if want := "evaluation ev-1: COMPLETED\nmodel m-1 on data source ds-1\nRegressionRMSE=0.6123\n"; b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
}
