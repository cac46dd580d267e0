package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/service"
)

// The commands that manage a server's entities, one per kind, each with
// its subcommands: perch models list, perch datasources create, ….

func runDataSources(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const r = client.DataSources
	return dispatch(r, []subcommand{
		dataSourceCreate(),
		listCmd(r, lister[perch.DataSource]{
			list: func(c *client.Client) func(context.Context, perch.Filter) ([]*perch.DataSource, string, error) {
				return c.ListDataSources
			},
			columns: []string{"ID", "NAME", "STATUS", "RECORDS", "CREATED"},
			row: func(d *perch.DataSource) []string {
				return []string{d.ID, cell(d.Name), string(d.Status), count(d.Records), when(d.CreatedAt)}
			},
		}),
		idCmd(r, "get", "print a data source", func(c *client.Client) func(context.Context, string) (*perch.DataSource, error) {
			return c.GetDataSource
		}),
		updateCmd(r, false, func(c *client.Client) func(context.Context, string, service.Update) (*perch.DataSource, error) {
			return c.UpdateDataSource
		}),
		idCmd(r, "delete", "mark a data source DELETED (models trained on it stay)", func(c *client.Client) func(context.Context, string) (*perch.DataSource, error) {
			return c.DeleteDataSource
		}),
		dataSourceStatistics(),
		tagsCmd(r),
	}, args, stdin, stdout, stderr)
}

func dataSourceCreate() subcommand {
	const usage = "perch datasources create (--data-url URL | --file FILE) [--schema SCHEMA] [--target NAME]\n" +
		"          [--rearrangement JSON] [--stats] [--name NAME] [--id ID] [--tag key=value ...] [--wait]"
	return subcommand{"create", usage, "describe a data file to the server; a job reads and checks it", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("datasources create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		dataURL := fs.String("data-url", "", "the data object: a `URL` or key in the server's object store")
		file := fs.String("file", "", "a local data `FILE` to upload first, as uploads/<its sha256>/<its name> (.gz is unzipped by the server)")
		schemaPath := fs.String("schema", "", "`SCHEMA` file: the AML data schema (default: inferred by the server)")
		target := fs.String("target", "", "the target attribute's `NAME`, when the schema is inferred")
		rearr := fs.String("rearrangement", "", "DataRearrangement `JSON` (or a file holding it): the rows to keep")
		stats := fs.Bool("stats", false, "compute the data's statistics")
		name := fs.String("name", "", "display `NAME`")
		id := fs.String("id", "", "the data source's `ID` (default: a new one)")
		tags := tagFlag(fs)
		wait := waitFlag(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		if (*dataURL == "") == (*file == "") {
			return usagef("give --data-url or --file (one of them)")
		}
		in := service.DataSourceInput{ID: *id, Name: *name, DataURL: *dataURL, TargetAttributeName: *target, ComputeStatistics: *stats}
		if in.Tags, err = keyValues("tag", *tags); err != nil {
			return err
		}
		if *schemaPath != "" {
			if in.Schema, err = readSchema(*schemaPath); err != nil {
				return err
			}
		}
		if in.Rearrangement, err = rearrangementJSON(*rearr); err != nil {
			return err
		}
		var f *os.File
		if *file != "" {
			// Opened before the server is asked anything, so a wrong path
			// fails at once.
			if f, err = os.Open(*file); err != nil {
				return prefix(*file, err)
			}
			defer f.Close()
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		var stored bool
		if f != nil {
			// A create that will be refused must store nothing, so a
			// taken id is found before the upload.
			if in.ID != "" {
				if _, err := c.GetDataSource(ctx, in.ID); err == nil {
					return perch.Errorf(perch.EConflict, "data source %s already exists; nothing was uploaded", in.ID)
				} else if perch.Code(err) != perch.ENotFound {
					return err
				}
			}
			if in.DataURL, stored, err = upload(ctx, c, *file, f); err != nil {
				return err
			}
			if stored {
				fmt.Fprintf(stderr, "uploaded %s as %s\n", *file, in.DataURL)
			} else {
				fmt.Fprintf(stderr, "%s is already on the server as %s\n", *file, in.DataURL)
			}
		}
		d, err := c.CreateDataSource(ctx, in)
		if err != nil {
			if stored {
				// Leave the store as it was before this command.
				c.DeleteObject(context.WithoutCancel(ctx), in.DataURL)
			}
			return err
		}
		return created(ctx, c, client.DataSources, d.ID, d, *wait, c.GetDataSource, stdout, stderr)
	}}
}

// rearrangementJSON returns a DataRearrangement given inline or as a file,
// checked, as the server takes it: JSON text.
func rearrangementJSON(arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return "", nil
	}
	if !strings.HasPrefix(arg, "{") {
		b, err := os.ReadFile(arg)
		if err != nil {
			return "", prefix(arg, err)
		}
		if _, err := rearrangement(strings.TrimSpace(string(b))); err != nil {
			return "", prefix(arg, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if _, err := rearrangement(arg); err != nil {
		return "", fmt.Errorf("--rearrangement: %w", err)
	}
	return arg, nil
}

func runModels(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const r = client.MLModels
	return dispatch(r, []subcommand{
		modelCreate(),
		listCmd(r, lister[perch.MLModel]{
			list: func(c *client.Client) func(context.Context, perch.Filter) ([]*perch.MLModel, string, error) {
				return c.ListMLModels
			},
			columns: []string{"ID", "NAME", "STATUS", "TYPE", "ENDPOINT", "CREATED"},
			row: func(m *perch.MLModel) []string {
				return []string{m.ID, cell(m.Name), string(m.Status), string(m.Type), cell(string(m.Endpoint.Status)), when(m.CreatedAt)}
			},
		}),
		idCmd(r, "get", "print a model", func(c *client.Client) func(context.Context, string) (*perch.MLModel, error) {
			return c.GetMLModel
		}),
		updateCmd(r, true, func(c *client.Client) func(context.Context, string, service.Update) (*perch.MLModel, error) {
			return c.UpdateMLModel
		}),
		idCmd(r, "delete", "mark a model DELETED, closing its endpoint", func(c *client.Client) func(context.Context, string) (*perch.MLModel, error) {
			return c.DeleteMLModel
		}),
		modelEndpoint(),
		tagsCmd(r),
	}, args, stdin, stdout, stderr)
}

func modelCreate() subcommand {
	const usage = "perch models create --datasource ID --type BINARY|MULTICLASS|REGRESSION [--recipe RECIPE]\n" +
		"          [--param key=value ...] [--name NAME] [--id ID] [--tag key=value ...] [--wait]"
	return subcommand{"create", usage, "train a model on a data source, in a job", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("models create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		ds := fs.String("datasource", "", "`ID` of the training data source")
		typ := fs.String("type", "", "model `TYPE`: BINARY, MULTICLASS or REGRESSION")
		recipePath := fs.String("recipe", "", "`RECIPE` file: an AML recipe (JSON; default: the suggested recipe)")
		var params multi
		fs.Var(&params, "param", "training parameter `key=value` (repeatable), e.g. sgd.maxPasses=10; the keys:\n"+
			strings.Join(trainParams[:4], ", ")+",\n"+strings.Join(trainParams[4:], ", "))
		name := fs.String("name", "", "display `NAME`")
		id := fs.String("id", "", "the model's `ID` (default: a new one)")
		tags := tagFlag(fs)
		wait := waitFlag(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		for _, f := range [][2]string{{"datasource", *ds}, {"type", *typ}} {
			if err := need(f[0], f[1]); err != nil {
				return err
			}
		}
		mt := perch.ModelType(strings.ToUpper(*typ))
		if !mt.Valid() {
			return usagef("--type %q: want BINARY, MULTICLASS or REGRESSION", *typ)
		}
		in := service.MLModelInput{ID: *id, Name: *name, Type: mt, TrainingDataSourceID: *ds}
		if in.Parameters, err = keyValues("param", params); err != nil {
			return err
		}
		if err := checkParams(in.Parameters); err != nil {
			return err
		}
		if len(in.Parameters) == 0 {
			in.Parameters = nil
		}
		if in.Tags, err = keyValues("tag", *tags); err != nil {
			return err
		}
		if *recipePath != "" {
			if _, err := readRecipe(*recipePath); err != nil {
				return err
			}
			b, err := os.ReadFile(*recipePath)
			if err != nil {
				return prefix(*recipePath, err)
			}
			in.Recipe = string(b)
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		m, err := c.CreateMLModel(ctx, in)
		if err != nil {
			return err
		}
		return created(ctx, c, client.MLModels, m.ID, m, *wait, c.GetMLModel, stdout, stderr)
	}}
}

func modelEndpoint() subcommand {
	const usage = "perch models endpoint ID [--peak N] | perch models endpoint ID --delete"
	return subcommand{"endpoint", usage, "open a COMPLETED model to real-time predictions, or close its endpoint", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet("models endpoint", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		peak := fs.Int("peak", 0, "peak `N` requests per second the endpoint is sized for (default 200)")
		del := fs.Bool("delete", false, "close the endpoint instead")
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		id, err := oneID(pos, usage)
		if err != nil {
			return err
		}
		if *peak < 0 {
			return usagef("--peak %d: want a positive number", *peak)
		}
		if *del && *peak != 0 {
			return usagef("give --peak or --delete, not both")
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		var m *perch.MLModel
		if *del {
			m, err = c.DeleteEndpoint(ctx, id)
		} else {
			m, err = c.CreateEndpoint(ctx, id, *peak)
		}
		if err != nil {
			return err
		}
		return writeJSON(stdout, m)
	}}
}

func runEvaluations(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const r = client.Evaluations
	return dispatch(r, []subcommand{
		evaluationCreate(),
		listCmd(r, lister[perch.Evaluation]{
			list: func(c *client.Client) func(context.Context, perch.Filter) ([]*perch.Evaluation, string, error) {
				return c.ListEvaluations
			},
			columns: []string{"ID", "NAME", "STATUS", "MODEL", "METRIC", "CREATED"},
			row: func(e *perch.Evaluation) []string {
				return []string{e.ID, cell(e.Name), string(e.Status), e.MLModel, metric(e.PerformanceMetrics), when(e.CreatedAt)}
			},
		}),
		evaluationView("get", "print an evaluation and the summary of its report (--json: the evaluation)"),
		updateCmd(r, false, func(c *client.Client) func(context.Context, string, service.Update) (*perch.Evaluation, error) {
			return c.UpdateEvaluation
		}),
		idCmd(r, "delete", "mark an evaluation DELETED", func(c *client.Client) func(context.Context, string) (*perch.Evaluation, error) {
			return c.DeleteEvaluation
		}),
		evaluationView("report", "print the summary of a COMPLETED evaluation's report (--json: the full report)"),
		tagsCmd(r),
	}, args, stdin, stdout, stderr)
}

// metric is an evaluation's headline metric for a table: AML's for its
// model type, or the first there is.
func metric(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	for _, k := range []string{"BinaryAUC", "MulticlassAvgFScore", "RegressionRMSE"} {
		if v, ok := m[k]; ok {
			return k + "=" + shortNumber(v)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0] + "=" + shortNumber(m[keys[0]])
}

func shortNumber(s string) string {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	return cell(s)
}

func evaluationCreate() subcommand {
	const usage = "perch evaluations create --model ID --datasource ID [--name NAME] [--id ID] [--tag key=value ...] [--wait]"
	return subcommand{"create", usage, "measure a model on a data source, in a job", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("evaluations create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		model := fs.String("model", "", "`ID` of the model to evaluate")
		ds := fs.String("datasource", "", "`ID` of the data source to evaluate it on")
		name := fs.String("name", "", "display `NAME`")
		id := fs.String("id", "", "the evaluation's `ID` (default: a new one)")
		tags := tagFlag(fs)
		wait := waitFlag(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		for _, f := range [][2]string{{"model", *model}, {"datasource", *ds}} {
			if err := need(f[0], f[1]); err != nil {
				return err
			}
		}
		in := service.EvaluationInput{ID: *id, Name: *name, MLModelID: *model, DataSourceID: *ds}
		if in.Tags, err = keyValues("tag", *tags); err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		e, err := c.CreateEvaluation(ctx, in)
		if err != nil {
			return err
		}
		return created(ctx, c, client.Evaluations, e.ID, e, *wait, c.GetEvaluation, stdout, stderr)
	}}
}

// evaluationView makes evaluations get and report, which print a summary
// for a person, or with --json what the server answered.
func evaluationView(name, doc string) subcommand {
	usage := "perch evaluations " + name + " ID [--json]"
	return subcommand{name, usage, doc, func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		help := "print the evaluation as JSON rather than a summary"
		if name == "report" {
			help = "print the whole report as JSON (ROC curve, threshold table, histograms) rather than a summary"
		}
		var asJSON *bool
		more := func(fs *flag.FlagSet) { asJSON = fs.Bool("json", false, help) }
		return withID("evaluations "+name, usage, args, stdout, more, func(ctx context.Context, c *client.Client, id string) error {
			return showEvaluation(ctx, c, name, id, *asJSON, stdout, stderr)
		})
	}}
}

// showEvaluation prints an evaluation (name "get") or its report
// ("report"): a summary, or asJSON what the server answered.
func showEvaluation(ctx context.Context, c *client.Client, name, id string, asJSON bool, stdout, stderr io.Writer) error {
	if name == "report" {
		b, err := c.EvaluationReport(ctx, id)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(stdout, rawJSON(b))
		}
		ev, err := parseReport(b)
		if err != nil {
			return err
		}
		return writeEvaluationSummary(stdout, ev)
	}
	e, err := c.GetEvaluation(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, e)
	}
	// The evaluation is printed even when its report cannot be read;
	// its headline metric stands in for the summary.
	var report *learn.Evaluation
	if e.Status == perch.StatusCompleted && e.ReportURL != "" {
		b, err := c.EvaluationReport(ctx, id)
		if err == nil {
			report, err = parseReport(b)
		}
		if err != nil {
			fmt.Fprintf(stderr, "no summary of the report: %s\n", oneLine(err.Error()))
		}
	}
	return writeEvaluation(stdout, e, report)
}

func runBatchPredictions(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const r = client.BatchPredictions
	return dispatch(r, []subcommand{
		batchPredictionCreate(),
		listCmd(r, lister[perch.BatchPrediction]{
			list: func(c *client.Client) func(context.Context, perch.Filter) ([]*perch.BatchPrediction, string, error) {
				return c.ListBatchPredictions
			},
			columns: []string{"ID", "NAME", "STATUS", "MODEL", "RECORDS", "CREATED"},
			row: func(b *perch.BatchPrediction) []string {
				return []string{b.ID, cell(b.Name), string(b.Status), b.MLModel, count(b.TotalRecords), when(b.CreatedAt)}
			},
		}),
		idCmd(r, "get", "print a batch prediction", func(c *client.Client) func(context.Context, string) (*perch.BatchPrediction, error) {
			return c.GetBatchPrediction
		}),
		updateCmd(r, false, func(c *client.Client) func(context.Context, string, service.Update) (*perch.BatchPrediction, error) {
			return c.UpdateBatchPrediction
		}),
		idCmd(r, "delete", "mark a batch prediction DELETED (its output stays)", func(c *client.Client) func(context.Context, string) (*perch.BatchPrediction, error) {
			return c.DeleteBatchPrediction
		}),
		tagsCmd(r),
	}, args, stdin, stdout, stderr)
}

func batchPredictionCreate() subcommand {
	const usage = "perch batchpredictions create --model ID --datasource ID [--output URL] [--name NAME] [--id ID]\n" +
		"          [--tag key=value ...] [--wait]"
	return subcommand{"create", usage, "predict every record of a data source into an object, in a job", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("batchpredictions create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		model := fs.String("model", "", "`ID` of the model to predict with")
		ds := fs.String("datasource", "", "`ID` of the data source whose records to predict")
		output := fs.String("output", "", "output object: a `URL` or key in the server's object store; one ending in / is a\n"+
			"folder (default: batch-predictions/ID.csv)")
		name := fs.String("name", "", "display `NAME`")
		id := fs.String("id", "", "the batch prediction's `ID` (default: a new one)")
		tags := tagFlag(fs)
		wait := waitFlag(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		for _, f := range [][2]string{{"model", *model}, {"datasource", *ds}} {
			if err := need(f[0], f[1]); err != nil {
				return err
			}
		}
		in := service.BatchPredictionInput{ID: *id, Name: *name, MLModelID: *model, DataSourceID: *ds, OutputURL: *output}
		if in.Tags, err = keyValues("tag", *tags); err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		b, err := c.CreateBatchPrediction(ctx, in)
		if err != nil {
			return err
		}
		return created(ctx, c, client.BatchPredictions, b.ID, b, *wait, c.GetBatchPrediction, stdout, stderr)
	}}
}

// updateCmd makes a kind's update subcommand: a new name, and for models a
// new score threshold.
func updateCmd[T any](resource string, threshold bool, call func(*client.Client) func(context.Context, string, service.Update) (*T, error)) subcommand {
	usage := "perch " + resource + " update ID --name NAME"
	if threshold {
		usage = "perch " + resource + " update ID [--name NAME] [--threshold X]"
	}
	doc := "rename"
	if threshold {
		doc = "rename, or set the score threshold of a BINARY model"
	}
	return subcommand{"update", usage, doc, func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet(resource+" update", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		name := fs.String("name", "", "new display `NAME`")
		var th *float64
		if threshold {
			th = fs.Float64("threshold", 0, "new score threshold `X`, 0 to 1 (BINARY models): a score at or above it predicts 1")
		}
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		id, err := oneID(pos, usage)
		if err != nil {
			return err
		}
		var u service.Update
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				u.Name = name
			case "threshold":
				u.ScoreThreshold = th
			}
		})
		if u.Name == nil && u.ScoreThreshold == nil {
			if threshold {
				return usagef("nothing to update: give --name or --threshold")
			}
			return usagef("nothing to update: give --name")
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		v, err := call(c)(ctx, id, u)
		if err != nil {
			return err
		}
		return writeJSON(stdout, v)
	}}
}

// tagsCmd makes a kind's tags subcommand: it prints an entity's tags,
// after adding and removing the ones asked for.
func tagsCmd(resource string) subcommand {
	usage := "perch " + resource + " tags ID [--add key=value ...] [--remove KEY ...]"
	return subcommand{"tags", usage, "print the tags, after adding and removing the ones given", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet(resource+" tags", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		var add, remove multi
		fs.Var(&add, "add", "tag `key=value` to add or change (repeatable)")
		fs.Var(&remove, "remove", "`KEY` of a tag to remove (repeatable)")
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		id, err := oneID(pos, usage)
		if err != nil {
			return err
		}
		kv, err := keyValues("add", add)
		if err != nil {
			return err
		}
		for _, k := range remove {
			if _, ok := kv[k]; ok {
				return usagef("tag %q is both added and removed", k)
			}
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		var tags map[string]string
		if len(remove) > 0 {
			if tags, err = c.DeleteTags(ctx, resource, id, slices.Clone(remove)); err != nil {
				return err
			}
		}
		if len(kv) > 0 {
			if tags, err = c.AddTags(ctx, resource, id, kv); err != nil {
				return err
			}
		}
		if tags == nil {
			if tags, err = c.Tags(ctx, resource, id); err != nil {
				return err
			}
		}
		return writeJSON(stdout, map[string]any{"tags": tags})
	}}
}

// rawJSON is JSON from the server, printed indented like the rest.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
