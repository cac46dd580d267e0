package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client/clienttest"
	"github.com/perchml/perch/examples"
)

// remoteEnv is a real server for the commands that talk to one, with the
// flags that reach it.
type remoteEnv struct {
	srv  *clienttest.Server
	conn []string // --server URL --key KEY
}

func newRemote(t *testing.T) *remoteEnv {
	t.Helper()
	// The environment of whoever runs the tests must not leak in.
	t.Setenv("PERCH_SERVER", "")
	t.Setenv("PERCH_KEY", "")
	t.Setenv("PERCH_DATA_DIR", "")
	old := pollEvery
	pollEvery = 20 * time.Millisecond
	t.Cleanup(func() { pollEvery = old })
	srv := clienttest.New(t)
	return &remoteEnv{srv: srv, conn: []string{"--server", srv.URL, "--key", srv.Key}}
}

// run runs a command line against the server.
func (e *remoteEnv) run(stdin string, args ...string) result {
	return cli(stdin, append(args, e.conn...)...)
}

func (e *remoteEnv) must(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return mustRun(t, stdin, append(args, e.conn...)...)
}

// decodeOut decodes a command's JSON output.
func decodeOut[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, r.stdout)
	}
	return v
}

// tableRow returns the row of a table whose first column is id, split
// into its columns.
func tableRow(t *testing.T, table, id string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1); f[0] == id {
			return f
		}
	}
	t.Fatalf("no row %s in\n%s", id, table)
	return nil
}

// failsWith checks a failed command: its exit code, nothing on stdout, and
// a last stderr line "perch CMD: …" containing want.
func failsWith(t *testing.T, r result, code int, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if r.code != code || !strings.HasPrefix(last, "perch ") || !strings.Contains(last, want) || r.stdout != "" {
		t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s\nwant a last line containing %q", r.code, code, r.stdout, r.stderr, want)
	}
}

func TestRemoteAdult(t *testing.T) {
	e := newRemote(t)
	dir := t.TempDir()
	train, err := writeExample(dir, "adult/train.csv")
	if err != nil {
		t.Fatal(err)
	}

	// A data source from a local file, uploaded first.
	r := e.must(t, "", "datasources", "create", "--file", train, "--target", "income", "--stats", "--name", "adult", "--wait")
	ds := decodeOut[perch.DataSource](t, r)
	if ds.Status != perch.StatusCompleted || ds.Records != 32561 || ds.Name != "adult" || ds.Schema.TargetAttributeName != "income" {
		t.Fatalf("data source: %+v", ds)
	}
	trainKey := "uploads/" + fileSum(t, train) + "/adult-train.csv"
	if !strings.Contains(r.stderr, "uploaded "+train+" as "+trainKey) {
		t.Errorf("stderr: %s", r.stderr)
	}
	row := tableRow(t, e.must(t, "", "datasources", "list").stdout, ds.ID)
	if len(row) != 5 || row[1] != "adult" || row[2] != "COMPLETED" || row[3] != "32561" {
		t.Errorf("datasources list row: %q", row)
	}
	st := decodeOut[struct{ Records int64 }](t, e.must(t, "", "datasources", "statistics", ds.ID, "--json"))
	if sum := e.must(t, "", "datasources", "statistics", ds.ID).stdout; !strings.HasPrefix(sum, "32561 records; target income (BINARY)") || strings.Count(sum, "\n") > 30 {
		t.Errorf("statistics summary:\n%s", sum)
	}
	if st.Records != 32561 {
		t.Errorf("statistics: %+v", st)
	}

	// A model, its endpoint and predictions through it.
	r = e.must(t, "", "models", "create", "--datasource", ds.ID, "--type", "binary", "--param", "gbdt.learningRate=0.15", "--name", "income", "--wait")
	m := decodeOut[perch.MLModel](t, r)
	if m.Status != perch.StatusCompleted || m.Type != perch.BinaryModel || m.Parameters["gbdt.learningRate"] != "0.15" || m.Algorithm != "gbdt" {
		t.Fatalf("model: %+v", m)
	}
	row = tableRow(t, e.must(t, "", "models", "list").stdout, m.ID)
	if len(row) != 6 || row[1] != "income" || row[2] != "COMPLETED" || row[3] != "BINARY" || row[4] != "NONE" {
		t.Errorf("models list row: %q", row)
	}
	failsWith(t, e.run("", "predict", "--model", m.ID, "--csv", foundingRecord), 1, "has no real-time endpoint")
	m = decodeOut[perch.MLModel](t, e.must(t, "", "models", "endpoint", m.ID, "--peak", "50"))
	if m.Endpoint.Status != perch.EndpointReady || m.Endpoint.PeakRequestsPerSecond != 50 {
		t.Errorf("endpoint: %+v", m.Endpoint)
	}
	pred := decodeOut[struct {
		Label    string `json:"predictedLabel"`
		Original string `json:"predictedOriginalLabel"`
	}](t, e.must(t, "", "predict", "--model", m.ID, "--csv", foundingRecord))
	if pred.Label != "0" || pred.Original != "<=50K" {
		t.Errorf("the founding record: %+v", pred)
	}
	// The server's answer is the one a model file gives.
	local := mustRun(t, "", "predict", "--model", adult(t).model, "--csv", foundingRecord)
	remote := e.must(t, "", "predict", "--model", m.ID, "--csv", foundingRecord)
	if local.stdout != remote.stdout {
		t.Errorf("model file and server disagree:\n%s%s", local.stdout, remote.stdout)
	}
	// And so are its explanations, one record or many.
	local = mustRun(t, "", "predict", "--model", adult(t).model, "--csv", foundingRecord, "--explain")
	remote = e.must(t, "", "predict", "--model", m.ID, "--csv", foundingRecord, "--explain")
	if local.stdout != remote.stdout || !strings.Contains(local.stdout, `"contributions":{"age":`) {
		t.Errorf("explained, model file and server disagree:\n%s%s", local.stdout, remote.stdout)
	}
	lines := `{"age":"22"}` + "\n" + `{"age":"52","education":"Doctorate"}` + "\n"
	local = mustRun(t, lines, "predict", "--model", adult(t).model, "--explain")
	remote = e.must(t, lines, "predict", "--model", m.ID, "--explain")
	if local.stdout != remote.stdout || strings.Count(local.stdout, `"expectedMargin"`) != 2 {
		t.Errorf("explained JSON Lines, model file and server disagree:\n%s%s", local.stdout, remote.stdout)
	}
	r = e.must(t, "", "predict", "--model", m.ID, "--record", "age=52", "--record", "education=Doctorate", "--record", "capital_gain=99999")
	if !strings.Contains(r.stdout, `"predictedLabel":"1"`) {
		t.Errorf("--record: %s", r.stdout)
	}
	failsWith(t, e.run("", "predict", "--model", m.ID, "--record", "agee=52"), 1, `no attribute "agee"`)
	r = e.must(t, `{"age":22,"education":"Masters"}`+"\n"+`{"age":52,"capital_gain":"99999","education":"Doctorate"}`+"\n", "predict", "--model", m.ID)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], `"predictedLabel":"1"`) {
		t.Errorf("JSON Lines: %s", r.stdout)
	}

	m = decodeOut[perch.MLModel](t, e.must(t, "", "models", "update", m.ID, "--threshold", "0", "--name", "income-low"))
	if m.ScoreThreshold != 0 || m.Name != "income-low" {
		t.Errorf("update: %+v", m)
	}
	if r := e.must(t, "", "predict", "--model", m.ID, "--csv", foundingRecord); !strings.Contains(r.stdout, `"predictedLabel":"1"`) {
		t.Errorf("at threshold 0: %s", r.stdout)
	}
	e.must(t, "", "models", "update", m.ID, "--threshold", "0.5")

	// An evaluation and a batch prediction.
	ev := decodeOut[perch.Evaluation](t, e.must(t, "", "evaluations", "create", "--model", m.ID, "--datasource", ds.ID, "--wait"))
	auc, _ := strconv.ParseFloat(ev.PerformanceMetrics["BinaryAUC"], 64)
	if ev.Status != perch.StatusCompleted || auc < 0.85 {
		t.Errorf("evaluation: %+v", ev)
	}
	row = tableRow(t, e.must(t, "", "evaluations", "list").stdout, ev.ID)
	if len(row) != 6 || row[3] != m.ID || !strings.HasPrefix(row[4], "BinaryAUC=0.") {
		t.Errorf("evaluations list row: %q", row)
	}
	if r := e.must(t, "", "evaluations", "report", ev.ID, "--json"); !strings.Contains(r.stdout, "\n  ") || !json.Valid([]byte(r.stdout)) {
		t.Errorf("report is not indented JSON: %.300s", r.stdout)
	}
	bp := decodeOut[perch.BatchPrediction](t, e.must(t, "", "batchpredictions", "create", "--model", m.ID, "--datasource", ds.ID, "--wait"))
	if bp.Status != perch.StatusCompleted || bp.TotalRecords != 32561 {
		t.Errorf("batch prediction: %+v", bp)
	}

	// The batch prediction's output, fetched.
	out := filepath.Join(dir, "out.csv")
	e.must(t, "", "objects", "get", "batch-predictions/"+bp.ID+".csv", "--out", out)
	b, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(b), "bestAnswer,score") || strings.Count(string(b), "\n") != 32562 {
		t.Errorf("batch output: %.100q, %v", b, err)
	}

	// Tags.
	tags := decodeOut[map[string]map[string]string](t, e.must(t, "", "models", "tags", m.ID, "--add", "team=growth", "--add", "stage=test"))
	if len(tags["tags"]) != 2 {
		t.Errorf("tags: %v", tags)
	}
	tags = decodeOut[map[string]map[string]string](t, e.must(t, "", "models", "tags", m.ID, "--remove", "stage"))
	if len(tags["tags"]) != 1 || tags["tags"]["team"] != "growth" {
		t.Errorf("tags after --remove: %v", tags)
	}

	// Lists: JSON, filters, pages.
	e.must(t, "", "datasources", "create", "--data-url", trainKey, "--name", "again")
	list := decodeOut[struct {
		Items []perch.DataSource
		Next  string `json:"nextPageToken"`
	}](t, e.must(t, "", "datasources", "list", "--json", "--limit", "1", "--sort", "desc"))
	if len(list.Items) != 1 || list.Items[0].Name != "again" || list.Next == "" {
		t.Errorf("one page, newest first: %+v", list)
	}
	list.Items = nil
	list = decodeOut[struct {
		Items []perch.DataSource
		Next  string `json:"nextPageToken"`
	}](t, e.must(t, "", "datasources", "list", "--json", "--limit", "1", "--all"))
	if len(list.Items) != 2 || list.Items[0].ID != ds.ID || list.Next != "" {
		t.Errorf("--all: %+v", list)
	}
	r = e.must(t, "", "datasources", "list", "--limit", "1")
	if !strings.Contains(r.stderr, "--page-token ") {
		t.Errorf("a first page does not say there are more: %q", r.stderr)
	}
	r = e.must(t, "", "models", "list", "--filter", "Name", "--op", "prefix", "--value", "nothing")
	if strings.Contains(r.stdout, m.ID) {
		t.Errorf("filter: %s", r.stdout)
	}

	// Closing the endpoint, deleting.
	m = decodeOut[perch.MLModel](t, e.must(t, "", "models", "endpoint", m.ID, "--delete"))
	if m.Endpoint.Status != perch.EndpointNone {
		t.Errorf("endpoint --delete: %+v", m.Endpoint)
	}
	if d := decodeOut[perch.DataSource](t, e.must(t, "", "datasources", "delete", ds.ID)); d.Status != perch.StatusDeleted {
		t.Errorf("delete: %+v", d)
	}
	failsWith(t, e.run("", "models", "get", "ml-nope"), 1, "ml-nope")
}

func TestRemoteKeys(t *testing.T) {
	e := newRemote(t)
	r := e.must(t, "", "keys", "create", "--name", "ci", "--policy", "reader")
	k := decodeOut[struct {
		Key  string `json:"key"`
		ID   string `json:"id"`
		Name string `json:"name"`
	}](t, r)
	if !strings.HasPrefix(k.Key, "perch_") || k.ID == "" || k.Name != "ci" {
		t.Fatalf("keys create: %s", r.stdout)
	}
	ci := []string{"--server", e.srv.URL, "--key", k.Key}
	mustRun(t, "", append([]string{"models", "list"}, ci...)...)
	failsWith(t, cli("", append([]string{"keys", "create", "--name", "x"}, ci...)...), 1, "perch keys: ")
	row := tableRow(t, e.must(t, "", "keys", "list").stdout, k.ID)
	if row[1] != "ci" || row[3] != "ACTIVE" {
		t.Errorf("keys list row: %q", row)
	}
	e.must(t, "", "keys", "delete", k.ID)
	failsWith(t, cli("", append([]string{"models", "list"}, ci...)...), 1, "revoked")
	if row := tableRow(t, e.must(t, "", "keys", "list").stdout, k.ID); row[3] != "REVOKED" {
		t.Errorf("keys list row of a revoked key: %q", row)
	}

	// Without --key: the environment, then the data directory's root key.
	t.Setenv("PERCH_SERVER", e.srv.URL)
	mustRun(t, "", "models", "list", "--data-dir", e.srv.DataDir)
	t.Setenv("PERCH_DATA_DIR", e.srv.DataDir)
	mustRun(t, "", "keys", "list")
	t.Setenv("PERCH_KEY", e.srv.Key)
	mustRun(t, "", "keys", "list", "--data-dir", t.TempDir())
	t.Setenv("PERCH_KEY", "")
	empty := t.TempDir()
	failsWith(t, cli("", "models", "list", "--data-dir", empty), 1, "no API key: give --key, set PERCH_KEY")
	failsWith(t, cli("", "models", "list", "--key", "secret"), 2, "--key: not a perch API key")
}

func TestRemoteFailures(t *testing.T) {
	e := newRemote(t)
	dir := t.TempDir()
	gz, _ := examples.FS.ReadFile("adult/test.csv.gz")
	bad := write(t, filepath.Join(dir, "bad.csv.gz"), "not gzip at all")

	// A job that fails ends --wait with its message, on one line.
	r := e.run("", "datasources", "create", "--file", bad, "--target", "income", "--wait")
	failsWith(t, r, 1, "FAILED: ")
	if !strings.Contains(r.stderr, "perch datasources: data source ds-") {
		t.Errorf("stderr: %s", r.stderr)
	}
	// A server error: the model needs a data source that exists.
	failsWith(t, e.run("", "models", "create", "--datasource", "ds-nope", "--type", "BINARY"), 1, "ds-nope")
	good := write(t, filepath.Join(dir, "test.csv.gz"), string(gz))
	r = e.must(t, "", "datasources", "create", "--file", good, "--id", "adult-test")
	if d := decodeOut[perch.DataSource](t, r); d.ID != "adult-test" || d.DataURL == "" {
		t.Errorf("created: %+v", d)
	}
	failsWith(t, e.run("", "datasources", "create", "--file", good, "--id", "adult-test"), 1, "adult-test")

	// No server there.
	failsWith(t, cli("", "models", "list", "--server", "http://127.0.0.1:1", "--key", e.srv.Key), 1, "perch server http://127.0.0.1:1")

	// Mistakes in the command line exit 2 before anything is sent.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"models"}, "want a subcommand: create, list"},
		{[]string{"models", "train"}, `unknown subcommand "train"`},
		{[]string{"models", "create", "--type", "BINARY"}, "--datasource is required"},
		{[]string{"models", "create", "--datasource", "d", "--type", "tree"}, `--type "tree"`},
		{[]string{"models", "create", "--datasource", "d", "--type", "BINARY", "--param", "sgd.maxPass=3"}, "did you mean sgd.maxPasses?"},
		{[]string{"models", "get"}, "want an ID"},
		{[]string{"models", "get", "a", "b"}, `unexpected argument "b"`},
		{[]string{"models", "update", "a"}, "nothing to update"},
		{[]string{"models", "list", "--op", "like", "--value", "x"}, `--op "like"`},
		{[]string{"models", "list", "--limit", "500"}, "--limit 500"},
		{[]string{"models", "list", "--colour"}, `run "perch models list -h"`},
		{[]string{"datasources", "create"}, "give --data-url or --file"},
		{[]string{"datasources", "create", "--data-url", "a", "--file", "b"}, "give --data-url or --file"},
		{[]string{"datasources", "update", "a"}, "nothing to update: give --name"},
		{[]string{"datasources", "update", "a", "--threshold", "0.3"}, "flag provided but not defined"},
		{[]string{"evaluations", "create", "--model", "m"}, "--datasource is required"},
		{[]string{"keys", "create"}, "--name is required"},
		{[]string{"models", "--name", "x", "list"}, "give the subcommand first"},
	} {
		failsWith(t, e.run("", c.args...), 2, c.want)
	}
	failsWith(t, cli("", "models", "list", "--server", "ftp://x", "--key", e.srv.Key), 2, `--server "ftp://x"`)
	// The shared flags may come first.
	mustRun(t, "", "models", "--server", e.srv.URL, "--key="+e.srv.Key, "list")
	missing := filepath.Join(dir, "missing.csv")
	failsWith(t, e.run("", "datasources", "create", "--file", missing), 1, "missing.csv: "+notExist(t, missing))
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("missing file exists")
	}
}

func TestRemoteObjects(t *testing.T) {
	e := newRemote(t)
	dir := t.TempDir()
	f := write(t, filepath.Join(dir, "a b.csv"), "x,y\n1,2\n")
	info := decodeOut[struct {
		Key  string
		Size int64
	}](t, e.must(t, "", "objects", "put", f))
	key := "uploads/" + fileSum(t, f) + "/a b.csv"
	if info.Key != key || info.Size != 8 {
		t.Errorf("put: %+v, want key %s", info, key)
	}
	e.must(t, "3,4\n", "objects", "put", "-", "in/stdin #1.csv")
	r := e.must(t, "", "objects", "list")
	if !strings.Contains(r.stdout, key+"  8") || !strings.Contains(r.stdout, "in/stdin #1.csv") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r := e.must(t, "", "objects", "get", "in/stdin #1.csv"); r.stdout != "3,4\n" {
		t.Errorf("get: %q", r.stdout)
	}
	list := decodeOut[struct{ Items []struct{ Key string } }](t, e.must(t, "", "objects", "list", "--prefix", "in/", "--json"))
	if len(list.Items) != 1 || list.Items[0].Key != "in/stdin #1.csv" {
		t.Errorf("list --prefix: %+v", list)
	}
	e.must(t, "", "objects", "delete", "in/stdin #1.csv")
	failsWith(t, e.run("", "objects", "get", "in/stdin #1.csv"), 1, "perch objects: ")
	failsWith(t, e.run("", "objects", "put", "-"), 2, "stdin needs a KEY")
	failsWith(t, e.run("", "objects", "get", "x", "--out", filepath.Join(dir, "no", "such", "dir.csv")), 1, "does not exist")
}

func TestRemoteHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"models", "-h"}, []string{"perch models create --datasource ID", "perch models endpoint ID", "--server URL", "--key KEY"}},
		{[]string{"help", "batchpredictions"}, []string{"perch batchpredictions create --model ID --datasource ID [--output URL]"}},
		{[]string{"models", "create", "-h"}, []string{"Usage:\n  perch models create --datasource ID", "--param key=value", "--wait", "--server URL"}},
		{[]string{"datasources", "list", "--help"}, []string{"Usage:\n  perch datasources list", "--filter VARIABLE", "--all", "--json"}},
		{[]string{"predict", "-h"}, []string{"--server URL", "--key KEY", "--model MODEL"}},
	} {
		r := cli("", c.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", c.args, r.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: no %q in\n%s", c.args, w, r.stdout)
			}
		}
	}
	// The help never shows a key from the environment.
	t.Setenv("PERCH_KEY", "perch_secret")
	if r := cli("", "models", "list", "-h"); strings.Contains(r.stdout, "perch_secret") {
		t.Errorf("help shows the key:\n%s", r.stdout)
	}
}

func TestPolicySimulate(t *testing.T) {
	e := newRemote(t)
	e.must(t, "", "keys", "create", "--name", "app", "--policy", "predictor")
	if r := e.must(t, "", "policy", "simulate", "--as", "app", "--action", "machinelearning:Predict", "--resource", "mlmodel/m1"); !strings.HasPrefix(r.stdout, "ALLOWED: allowed by statement Predict") {
		t.Errorf("predict: %q", r.stdout)
	}
	if r := e.must(t, "", "policy", "simulate", "--as", "app", "--action", "machinelearning:DeleteMLModel", "--resource", "mlmodel/m1"); !strings.HasPrefix(r.stdout, "DENIED: ") {
		t.Errorf("delete: %q", r.stdout)
	}
	failsWith(t, e.run("", "policy", "simulate", "--as", "app"), 2, "--action is required")
}
