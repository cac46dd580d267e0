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

const usage = `perch turns structured data into predictions.

Usage:
  perch schema infer FILE [--target NAME] [--positive VALUE]
  perch stats FILE --schema SCHEMA [--rearrangement JSON]
  perch recipe suggest --schema SCHEMA [--data FILE]
  perch train --data FILE --schema SCHEMA --type BINARY|MULTICLASS|REGRESSION
              [--recipe RECIPE] [--rearrangement JSON] [--param key=value ...] --out MODEL
  perch evaluate --model MODEL --data FILE [--schema SCHEMA] [--rearrangement JSON]
  perch predict --model MODEL (--record key=value ... | --csv 'LINE')
  perch batch --model MODEL --in FILE --out FILE

Run "perch COMMAND -h" for a command's flags.
`

// command is one subcommand: it parses its own flags from args and writes
// its result to stdout.
type command func(args []string, stdin io.Reader, stdout io.Writer) error

var commands = map[string]command{
	"schema":   runSchema,
	"stats":    runStats,
	"recipe":   runRecipe,
	"train":    runTrain,
	"evaluate": runEvaluate,
	"predict":  runPredict,
	"batch":    runBatch,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0 on success, 1
// when the command failed, 2 when the command line itself is wrong.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "perch: unknown command %q\n%s", args[0], usage)
		return 2
	}
	err := cmd(args[1:], stdin, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "perch %s: %v\n", args[0], err)
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

// oneLine keeps a failure to the one line the command promises.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// parseFlags parses flags that may stand before, between or after the
// positional arguments, and returns the positionals.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stderr)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
