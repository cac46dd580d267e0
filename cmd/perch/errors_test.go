package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkFailure checks that a command failed with the exit code and one
// stderr line: "perch CMD: " followed by want.
func checkFailure(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("want exactly one line on stderr, got %q", r.stderr)
	}
	if got := strings.TrimSuffix(r.stderr, "\n"); !strings.HasSuffix(got, ": "+want) || !strings.HasPrefix(got, "perch") {
		t.Errorf("stderr\n got: %s\nwant: perch CMD: %s", got, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout: %q", r.stdout)
	}
}

// notExist is the operating system's reason that path cannot be opened.
func notExist(t *testing.T, path string) string {
	t.Helper()
	_, err := os.Open(path)
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("open %s: %v", path, err)
	}
	return pe.Err.Error()
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const adultHeader = "age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,capital_gain,capital_loss,hours_per_week,native_country,income\n"

func TestTrainRaggedRow(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	csv := write(t, filepath.Join(dir, "ragged.csv"), adultHeader+
		adultCSV+", >50K\n"+
		adultCSV+", <=50K\n"+
		"\n"+ // a blank line is skipped, but still counted
		"39, State-gov, 77516, Bachelors\n"+
		adultCSV+", <=50K\n")
	out := filepath.Join(dir, "m.model")
	r := cli("", "train", "--data", csv, "--schema", a.schema, "--type", "BINARY", "--out", out)
	checkFailure(t, r, 1, csv+": line 5: record has 4 fields, want 15")
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed training left a model file: %v", err)
	}
	// stats and schema inference read the same way.
	checkFailure(t, cli("", "stats", csv, "--schema", a.schema), 1, csv+": line 5: record has 4 fields, want 15")
	checkFailure(t, cli("", "schema", "infer", csv), 1, csv+": line 5: record has 4 fields, want 15")
}

func TestSchemaUnknownType(t *testing.T) {
	a := adult(t)
	b, err := os.ReadFile(a.schema)
	if err != nil {
		t.Fatal(err)
	}
	schema := write(t, filepath.Join(t.TempDir(), "bad.schema"),
		strings.Replace(string(b), `"CATEGORICAL"`, `"CATEGORY"`, 1))
	want := schema + `: schema: attribute "workclass": unknown attributeType "CATEGORY" (want BINARY, CATEGORICAL, NUMERIC or TEXT)`
	checkFailure(t, cli("", "train", "--data", a.train, "--schema", schema, "--type", "BINARY", "--out", filepath.Join(t.TempDir(), "m")), 1, want)
	checkFailure(t, cli("", "stats", a.train, "--schema", schema), 1, want)
	checkFailure(t, cli("", "recipe", "suggest", "--schema", schema), 1, want)
}

func TestRecipeMissingVariable(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	rc := write(t, filepath.Join(dir, "recipe.json"),
		`{"groups": {}, "assignments": {}, "outputs": ["ALL_CATEGORICAL", "quantile_bin(salary, 10)"]}`)
	start := time.Now()
	r := cli("", "train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--recipe", rc, "--out", filepath.Join(dir, "m"))
	checkFailure(t, r, 1, rc+`: recipe: outputs[1]: "salary" is not a variable, group or assignment`)
	if el := time.Since(start); el > time.Second {
		t.Errorf("the recipe was checked only after %v", el)
	}
	bad := write(t, filepath.Join(dir, "bad.json"), `{"outputs": [`)
	r = cli("", "train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--recipe", bad, "--out", filepath.Join(dir, "m"))
	checkFailure(t, r, 1, bad+": recipe: invalid JSON: unexpected EOF")
}

func TestTargetNotInSchema(t *testing.T) {
	a := adult(t)
	r := cli("", "schema", "infer", a.train, "--target", "nope")
	checkFailure(t, r, 1, a.train+`: schema: target "nope" is not an attribute (attributes: age, workclass, fnlwgt, education, education_num, marital_status, occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week, native_country, income)`)

	b, err := os.ReadFile(a.schema)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nope := write(t, filepath.Join(dir, "nope.schema"),
		strings.Replace(string(b), `"targetAttributeName": "income"`, `"targetAttributeName": "nope"`, 1))
	r = cli("", "train", "--data", a.train, "--schema", nope, "--type", "BINARY", "--out", filepath.Join(dir, "m"))
	checkFailure(t, r, 1, nope+`: schema: targetAttributeName "nope" is not an attribute`)

	noTarget := strings.Replace(string(b), `"targetAttributeName": "income",`, ``, 1)
	none := write(t, filepath.Join(dir, "none.schema"), noTarget)
	r = cli("", "train", "--data", a.train, "--schema", none, "--type", "BINARY", "--out", filepath.Join(dir, "m"))
	checkFailure(t, r, 1, none+`: schema: positiveValue ">50K" needs a targetAttributeName`)
	none = write(t, filepath.Join(dir, "none.schema"), strings.Replace(noTarget, `,
  "positiveValue": ">50K"`, ``, 1))
	r = cli("", "train", "--data", a.train, "--schema", none, "--type", "BINARY", "--out", filepath.Join(dir, "m"))
	checkFailure(t, r, 1, none+`: the schema names no targetAttributeName to predict (perch schema infer FILE --target NAME writes one)`)

	r = cli("", "train", "--data", a.train, "--schema", a.schema, "--type", "MULTICLASS", "--out", filepath.Join(dir, "m"))
	checkFailure(t, r, 1, a.schema+`: schema: target "income" is BINARY; a MULTICLASS model needs a CATEGORICAL target`)
}

func TestEmptyData(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	for _, content := range []string{"", adultHeader} {
		csv := write(t, filepath.Join(dir, "empty.csv"), content)
		checkFailure(t, cli("", "train", "--data", csv, "--schema", a.schema, "--type", "BINARY", "--out", filepath.Join(dir, "m")), 1, csv+": no records")
		checkFailure(t, cli("", "stats", csv, "--schema", a.schema), 1, csv+": no records")
		checkFailure(t, cli("", "schema", "infer", csv), 1, csv+": no records")
		checkFailure(t, cli("", "evaluate", "--model", a.model, "--data", csv), 1, csv+": no records")
	}
}

func TestHugeField(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	huge := adultHeader + adultCSV + ", >50K\n" +
		"39, " + strings.Repeat("x", 10<<20) + ", 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
	csv := write(t, filepath.Join(dir, "huge.csv"), huge)
	want := csv + ": line 3: record too long (over 102400 bytes)"
	for _, args := range [][]string{
		{"train", "--data", csv, "--schema", a.schema, "--type", "BINARY", "--out", filepath.Join(dir, "m")},
		{"schema", "infer", csv, "--target", "income"},
		{"stats", csv, "--schema", a.schema},
		{"evaluate", "--model", a.model, "--data", csv},
	} {
		start := time.Now()
		r := cli("", args...)
		el := time.Since(start)
		checkFailure(t, r, 1, want)
		if el > 2*time.Second {
			t.Errorf("%s took %v to reject a 10 MB field", args[0], el)
		}
	}
}

func TestMissingModel(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	m := filepath.Join(dir, "no.model")
	want := m + ": " + notExist(t, m)
	checkFailure(t, cli("", "predict", "--model", m, "--csv", adultCSV), 1, want)
	checkFailure(t, cli("", "evaluate", "--model", m, "--data", a.test), 1, want)
	checkFailure(t, cli("", "batch", "--model", m, "--in", a.test, "--out", filepath.Join(dir, "p.csv")), 1, want)

	garbage := write(t, filepath.Join(dir, "garbage.model"), "garbage")
	r := cli("", "predict", "--model", garbage, "--csv", adultCSV)
	checkFailure(t, r, 1, garbage+": model: not a perch model file: invalid character 'g' looking for beginning of value")
}

func TestMissingFiles(t *testing.T) {
	a := adult(t)
	dir := t.TempDir()
	nofile := filepath.Join(dir, "nofile")
	reason := notExist(t, nofile)
	out := filepath.Join(dir, "m")
	for _, args := range [][]string{
		{"train", "--data", nofile, "--schema", a.schema, "--type", "BINARY", "--out", out},
		{"train", "--data", a.train, "--schema", nofile, "--type", "BINARY", "--out", out},
		{"train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", out, "--recipe", nofile},
		{"train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", out, "--rearrangement", nofile},
		{"schema", "infer", nofile},
		{"stats", nofile, "--schema", a.schema},
		{"evaluate", "--model", a.model, "--data", nofile},
		{"batch", "--model", a.model, "--in", nofile, "--out", out},
	} {
		checkFailure(t, cli("", args...), 1, nofile+": "+reason)
	}
	r := cli("", "train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", filepath.Join(nofile, "m"))
	checkFailure(t, r, 1, "--out "+filepath.Join(nofile, "m")+": directory "+nofile+" does not exist")
}

func TestUsageErrors(t *testing.T) {
	a := adult(t)
	out := filepath.Join(t.TempDir(), "m")
	train := []string{"train", "--data", a.train, "--schema", a.schema, "--out", out}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(train, "--type", "FOO"), `--type "FOO": want BINARY, MULTICLASS or REGRESSION`},
		{append(train, "--type", "BINARY", "--param", "sgd.maxPasess=3"), `--param sgd.maxPasess: unknown training parameter; did you mean sgd.maxPasses?`},
		{append(train, "--type", "BINARY", "--param", "maxPasses=3"), `--param maxPasses: unknown training parameter; did you mean sgd.maxPasses?`},
		{append(train, "--type", "BINARY", "--param", "bogus=3"), `--param bogus: unknown training parameter`},
		{append(train, "--type", "BINARY", "--param", "sgd.maxPasses=x"), `--param sgd.maxPasses: "x" is not an integer from 1 to 10000`},
		{append(train, "--type", "BINARY", "--param", "sgd.maxPasses"), `--param "sgd.maxPasses": want key=value`},
		{append(train, "--type", "BINARY", "--param", "sgd.l1RegularizationAmount=1e-6", "--param", "sgd.l2RegularizationAmount=1e-6"),
			`parameters sgd.l1RegularizationAmount and sgd.l2RegularizationAmount cannot both be set`},
		{append(train, "--type", "BINARY", "extra"), `unexpected argument "extra" (usage: perch train --data FILE --schema SCHEMA --type BINARY|MULTICLASS|REGRESSION [--recipe RECIPE] [--rearrangement JSON] [--param key=value ...] --out MODEL)`},
		{[]string{"train", "--data", a.train}, `--schema is required`},
		{[]string{"train", "--bogus"}, `flag provided but not defined: --bogus (run "perch train -h" for the flags)`},
		{[]string{"train", "--data"}, `flag needs an argument: --data (run "perch train -h" for the flags)`},
		{[]string{"schema"}, `usage: perch schema infer FILE [--target NAME] [--positive VALUE] [--sample N] [--type NAME=TYPE ...]`},
		{[]string{"schema", "guess", a.train}, `usage: perch schema infer FILE [--target NAME] [--positive VALUE] [--sample N] [--type NAME=TYPE ...]`},
		{[]string{"recipe", "suggest"}, `--schema is required`},
		{[]string{"predict", "--model", a.model, "--csv", adultCSV, "--record", "age=1"}, `give --record or --csv, not both`},
		{[]string{"batch", "--model", a.model, "--in", a.test, "--out", "-", "--header", "maybe"}, `--header "maybe": want true, false or auto`},
		{[]string{"train", "--data", a.train, "--schema", a.schema, "--type", "BINARY", "--out", a.train}, "--out " + a.train + " is also an input; writing it would destroy it"},
		{[]string{"batch", "--model", a.model, "--in", a.test, "--out", a.test}, "--out " + a.test + " is also an input; writing it would destroy it"},
	} {
		start := time.Now()
		r := cli("", c.args...)
		checkFailure(t, r, 2, c.want)
		if el := time.Since(start); el > time.Second {
			t.Errorf("%v: took %v to reject the command line", c.args, el)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a rejected command line wrote a model: %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	r := cli("", "trian")
	if r.code != 2 || r.stdout != "" ||
		r.stderr != "perch: unknown command \"trian\" (commands: serve, quickstart, schema, stats, recipe, train, evaluate, predict, batch, datasources, models, evaluations, batchpredictions, objects, keys, policy, audit, pipeline, version; run \"perch help\")\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cli("", "help", "trian")
	checkFailure(t, r, 2, `unknown command "trian" (commands: serve, quickstart, schema, stats, recipe, train, evaluate, predict, batch, datasources, models, evaluations, batchpredictions, objects, keys, policy, audit, pipeline, version)`)
}

func TestPredictBadRecords(t *testing.T) {
	a := adult(t)
	checkFailure(t, cli("", "predict", "--model", a.model, "--csv", "22, Local-gov, 108435"), 1,
		"--csv has 3 fields, want 14 without the target or 15 with it (age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,capital_gain,capital_loss,hours_per_week,native_country,income)")
	checkFailure(t, cli("", "predict", "--model", a.model, "--csv", adultCSV+", >50K, extra"), 1,
		"--csv has 16 fields, want 14 without the target or 15 with it (age,workclass,fnlwgt,education,education_num,marital_status,occupation,relationship,race,sex,capital_gain,capital_loss,hours_per_week,native_country,income)")
	checkFailure(t, cli("", "predict", "--model", a.model, "--record", "salary=10"), 1,
		`--record salary: the model has no attribute "salary" (attributes: age, workclass, fnlwgt, education, education_num, marital_status, occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week, native_country, income)`)
	checkFailure(t, cli("", "predict", "--model", a.model, "--csv", `22, "Local-gov`), 1,
		`--csv: line 1, attribute "workclass" (column 2): quoted field is not closed`)

	// JSON Lines: the records before the bad line are predicted, then the
	// bad line is named.
	r := cli("{\"age\": 22}\nnot json\n{\"age\": 30}\n", "predict", "--model", a.model)
	if r.code != 1 || strings.Count(r.stdout, "\n") != 1 || r.stderr != "perch predict: stdin: line 2: not a JSON object\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"one":                  "one",
		"  one\n":              "one",
		"first\nsecond":        "first; second",
		"first\n\n  second \n": "first; second",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
