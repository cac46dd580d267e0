// Command perch trains, evaluates and serves predictive models from CSV
// data. Run "perch help" for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand: it parses its own flags from args, writes its
// result to stdout and its progress and notes to stderr.
type command struct {
	synopsis string
	run      func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// order is the order "perch help" lists the commands in.
var order = []string{"serve", "quickstart", "schema", "stats", "recipe", "train", "evaluate", "predict", "batch",
	"datasources", "models", "evaluations", "batchpredictions", "objects", "keys", "policy", "audit", "pipeline"}

// commands is filled in by init, since printHelp reads it and the
// commands call printHelp.
var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":      {"perch serve [--data-dir DIR] [--listen ADDR] [--database URL] [--objects URL]", runServe},
		"quickstart": {"perch quickstart [--data-dir DIR] [--listen ADDR] [serve's other flags]", runQuickstart},
		"schema":     {"perch schema infer FILE [--target NAME] [--positive VALUE] [--sample N] [--type NAME=TYPE ...]", runSchema},
		"stats":      {"perch stats FILE --schema SCHEMA [--rearrangement JSON] [--json]", runStats},
		"recipe":     {"perch recipe suggest --schema SCHEMA [--data FILE]", runRecipe},
		"train": {"perch train --data FILE --schema SCHEMA --type BINARY|MULTICLASS|REGRESSION\n" +
			"              [--recipe RECIPE] [--rearrangement JSON] [--param key=value ...] --out MODEL", runTrain},
		"evaluate": {"perch evaluate --model MODEL --data FILE [--schema SCHEMA] [--rearrangement JSON] [--json]", runEvaluate},
		"predict": {"perch predict --model MODEL (--record key=value ... | --csv 'LINE')\n" +
			"  perch predict --model MODEL < RECORDS.jsonl\n" +
			"  perch predict --server URL --model ID (--record key=value ... | --csv 'LINE' | < RECORDS.jsonl)", runPredict},
		"batch": {"perch batch --model MODEL --in FILE --out FILE|- [--header true|false|auto]", runBatch},
		// On a server (--server URL --key KEY; run "perch COMMAND -h").
		"datasources":      {"perch datasources create|list|get|update|delete|statistics|tags ...", runDataSources},
		"models":           {"perch models create|list|get|update|delete|endpoint|tags ...", runModels},
		"evaluations":      {"perch evaluations create|list|get|update|delete|report|tags ...", runEvaluations},
		"batchpredictions": {"perch batchpredictions create|list|get|update|delete|tags ...", runBatchPredictions},
		"objects":          {"perch objects put|get|list|delete ...", runObjects},
		"keys":             {"perch keys create|list|policy|delete ...", runKeys},
		"policy":           {"perch policy simulate --as KEY --action ACTION [--resource KIND/ID] ...", runPolicy},
		"audit":            {auditUsage, runAudit},
		"pipeline":         {"perch pipeline create|list|get|pause|resume|delete|test|runs|replay ...", runPipeline},
		"version":          {"perch version (or perch --version)", runVersion},
	}
}

func usage() string {
	var b strings.Builder
	b.WriteString("perch turns structured data into predictions.\n\nUsage:\n")
	for _, name := range order {
		fmt.Fprintf(&b, "  %s\n", commands[name].synopsis)
	}
	// version closes the list, outside order: it works on no data.
	fmt.Fprintf(&b, "  %s\n", commands["version"].synopsis)
	b.WriteString("\nRun \"perch help COMMAND\" or \"perch COMMAND -h\" for a command's flags.\n")
	return b.String()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0 on success, 1
// when the command failed, 2 when the command line itself is wrong. A
// failure is reported as one line on stderr.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	if args[0] == "help" {
		if len(args) == 1 {
			fmt.Fprint(stdout, usage())
			return 0
		}
		if _, ok := commands[args[1]]; !ok {
			fmt.Fprintf(stderr, "perch help: unknown command %q (commands: %s)\n", args[1], strings.Join(append(order, "version"), ", "))
			return 2
		}
		args = []string{args[1], "-h"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "perch: unknown command %q (commands: %s; run \"perch help\")\n", args[0], strings.Join(append(order, "version"), ", "))
		return 2
	}
	err := cmd.run(args[1:], stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "perch %s: %s\n", args[0], oneLine(err.Error()))
		return 2
	default:
		fmt.Fprintf(stderr, "perch %s: %s\n", args[0], oneLine(err.Error()))
		return 1
	}
}

// usageError is a mistake in the command line rather than in the data.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// oneLine keeps a failure to the one line the command promises: an error
// that spans lines has them joined.
func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// parseFlags parses flags that may stand before, between or after the
// positional arguments, and returns the positionals. Asked for help (-h),
// it prints the command's synopsis and flags to w and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, w io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(w, fs)
				return nil, err
			}
			msg := strings.Replace(err.Error(), ": -", ": --", 1)
			return nil, usageError{fmt.Sprintf("%s (run \"perch %s -h\" for the flags)", msg, strings.Fields(fs.Name())[0])}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// printHelp writes a command's synopsis and flags, spelt with the two
// dashes the synopsis uses.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	name := strings.Fields(fs.Name())[0]
	fmt.Fprintf(w, "Usage:\n  %s\n\nFlags:\n", commands[name].synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		if typ != "" {
			typ = " " + typ
		}
		fmt.Fprintf(w, "  --%s%s\n      %s", f.Name, typ, strings.ReplaceAll(text, "\n", "\n      "))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// multi is a flag that may be given many times.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// keyValues turns key=value flags into a map.
func keyValues(flagName string, kv []string) (map[string]string, error) {
	out := make(map[string]string, len(kv))
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--%s %q: want key=value", flagName, s)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

func need(name, value string) error {
	if value == "" {
		return usagef("--%s is required", name)
	}
	return nil
}
