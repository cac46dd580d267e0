package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/pipeline"
)

// runPipeline: perch pipeline create|list|get|pause|resume|delete|test|runs|replay,
// managing a server's pipelines.
func runPipeline(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch("pipeline", []subcommand{
		pipelineCreate(),
		listCmd("pipeline", lister[perch.Pipeline]{
			list: func(c *client.Client) func(context.Context, perch.Filter) ([]*perch.Pipeline, string, error) {
				return c.ListPipelines
			},
			columns: []string{"ID", "NAME", "MODEL", "STATE", "STATUS", "SOURCE", "CREATED"},
			row: func(p *perch.Pipeline) []string {
				src := p.Source.Objects
				if p.Source.Prefix != "" {
					src += " (" + p.Source.Prefix + ")"
				}
				return []string{p.ID, cell(p.Name), p.Model, string(p.State), string(p.Status), src, when(p.CreatedAt)}
			},
		}),
		idCmd("pipeline", "get", "show a pipeline", func(c *client.Client) func(context.Context, string) (*perch.Pipeline, error) {
			return c.GetPipeline
		}),
		idCmd("pipeline", "pause", "stop a pipeline from starting runs; objects that land meanwhile are taken when it resumes", func(c *client.Client) func(context.Context, string) (*perch.Pipeline, error) {
			return c.PausePipeline
		}),
		idCmd("pipeline", "resume", "make a paused or failed pipeline RUNNING again", func(c *client.Client) func(context.Context, string) (*perch.Pipeline, error) {
			return c.ResumePipeline
		}),
		idCmd("pipeline", "delete", "stop a pipeline for good (with the root key); it stays readable", func(c *client.Client) func(context.Context, string) (*perch.Pipeline, error) {
			return c.DeletePipeline
		}),
		pipelineTest(),
		pipelineRuns(),
		idCmd("pipeline", "replay", "read a pipeline's dead letters again, after a fix; those that read reach the sinks", func(c *client.Client) func(context.Context, string) (*pipeline.ReplayResult, error) {
			return c.ReplayPipeline
		}),
	}, args, stdin, stdout, stderr)
}

func pipelineCreate() subcommand {
	const usage = "perch pipeline create --file DEFINITION.yaml|.json (- for stdin)"
	return subcommand{"create", usage, "create a pipeline from its definition, in YAML or JSON (with the root key)", func(args []string, stdin io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet("pipeline create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		file := fs.String("file", "", "the definition: a YAML or JSON `FILE`, or - for standard input")
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		if err := need("file", *file); err != nil {
			return err
		}
		var def []byte
		if *file == "-" {
			def, err = io.ReadAll(stdin)
		} else {
			def, err = os.ReadFile(*file)
		}
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(*file))
		yaml := ext == ".yaml" || ext == ".yml" || (ext != ".json" && !strings.HasPrefix(strings.TrimSpace(string(def)), "{"))
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		p, err := c.CreatePipelineFrom(ctx, def, yaml)
		if err != nil {
			return err
		}
		return writeJSON(stdout, p)
	}}
}

func pipelineTest() subcommand {
	const usage = "perch pipeline test ID --file FILE [--json]"
	return subcommand{"test", usage, "run a pipeline on a local file and print what it would write, writing nothing", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet("pipeline test", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		file := fs.String("file", "", "the `FILE` to run the pipeline on; its extension picks the format (.csv, .jsonl, .gz)")
		asJSON := fs.Bool("json", false, "print the server's JSON answer")
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		id, err := oneID(pos, usage)
		if err != nil {
			return err
		}
		if err := need("file", *file); err != nil {
			return err
		}
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		pv, err := c.TestPipeline(ctx, id, filepath.Base(*file), f)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, pv)
		}
		fmt.Fprintf(stdout, "%s: %d records, %d predicted, %d dead letters; nothing was written.\n", *file, pv.Records, pv.Predicted, pv.DeadLetters)
		for _, w := range pv.Writes {
			fmt.Fprintf(stdout, "\n== %s %s: %d rows\n", w.Sink, w.Target, w.Rows)
			io.WriteString(stdout, w.Content)
			if w.Truncated {
				fmt.Fprintln(stdout, "… (cut short)")
			}
		}
		return nil
	}}
}

func pipelineRuns() subcommand {
	const usage = "perch pipeline runs ID [--sort desc] [--limit N] [--all] [--json]"
	return subcommand{"runs", usage, "list a pipeline's runs: one per object version (a stream's: one a minute), with counts, errors and duration", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("pipeline runs", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		var lf listFlags
		lf.register(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		id, err := oneID(pos, usage)
		if err != nil {
			return err
		}
		f, err := lf.filter()
		if err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		var runs []*perch.PipelineRun
		for {
			page, next, err := c.ListPipelineRuns(ctx, id, f)
			if err != nil {
				return err
			}
			runs = append(runs, page...)
			f.PageToken = next
			if !lf.all || next == "" {
				break
			}
		}
		// Runs are kept by id, which follows from the object: show them
		// in the order they were made.
		slices.SortStableFunc(runs, func(a, b *perch.PipelineRun) int { return a.CreatedAt.Compare(b.CreatedAt) })
		if lf.json {
			if runs == nil {
				runs = []*perch.PipelineRun{}
			}
			return writeJSON(stdout, struct {
				Items []*perch.PipelineRun `json:"items"`
				Next  string               `json:"nextPageToken,omitempty"`
			}{runs, f.PageToken})
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tKEY\tSTATUS\tROWS\tPREDICTED\tDEAD LETTERS\tDURATION\tCREATED\tMESSAGE")
		for _, r := range runs {
			dur := "-"
			if r.DurationMS > 0 {
				dur = fmt.Sprintf("%dms", r.DurationMS)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", r.ID, cell(r.Key), r.Status, r.Rows, r.Predicted, r.DeadLetters, dur, when(r.CreatedAt), cell(r.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if f.PageToken != "" {
			fmt.Fprintf(stderr, "more runs: --page-token %s, or --all\n", f.PageToken)
		}
		return nil
	}}
}
