package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/perchml/perch"
	"github.com/perchml/perch/access"
	"github.com/perchml/perch/client"
)

// defaultServer is where perch serve listens unless told otherwise.
const defaultServer = "http://127.0.0.1:8080"

// remote is what every command that talks to a server shares: where the
// server is and the key to present.
type remote struct {
	server, key, dataDir string
}

// flags registers --server, --key and --data-dir. --key has no default
// shown: the help must not print a key taken from the environment.
func (r *remote) flags(fs *flag.FlagSet) {
	fs.StringVar(&r.server, "server", envOr("PERCH_SERVER", defaultServer), "`URL` of the perch server (env PERCH_SERVER)")
	r.keyFlags(fs)
}

// keyFlags registers --key and --data-dir alone, for predict, whose
// --server has no default.
func (r *remote) keyFlags(fs *flag.FlagSet) {
	fs.StringVar(&r.key, "key", "", "API `KEY` (env PERCH_KEY; default: the root key in the data directory)")
	fs.StringVar(&r.dataDir, "data-dir", envOr("PERCH_DATA_DIR", "perch-data"), "`DIR` whose root-key file is read when no key is given (env PERCH_DATA_DIR)")
}

// client returns a client of the server with the key the flags, the
// environment or the data directory give, in that order.
func (r *remote) client() (*client.Client, error) {
	u := strings.TrimSpace(r.server)
	if u != "" && !strings.Contains(u, "://") {
		u = "http://" + u // host:port, as --listen takes it
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return nil, usagef("--server %q: want a URL such as %s", r.server, defaultServer)
	}
	key, err := r.apiKey()
	if err != nil {
		return nil, err
	}
	return client.New(u, key), nil
}

func (r *remote) apiKey() (string, error) {
	if k := strings.TrimSpace(r.key); k != "" {
		if !access.WellFormed(k) {
			return "", usagef("--key: not a perch API key (they start with %s)", access.Prefix)
		}
		return k, nil
	}
	if k := strings.TrimSpace(os.Getenv("PERCH_KEY")); k != "" {
		if !access.WellFormed(k) {
			return "", fmt.Errorf("PERCH_KEY is not a perch API key (they start with %s)", access.Prefix)
		}
		return k, nil
	}
	path := filepath.Join(r.dataDir, access.RootKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no API key: give --key, set PERCH_KEY, or point --data-dir at the server's data directory (no %s)", path)
	}
	if err != nil {
		return "", prefix(path, err)
	}
	k := strings.TrimSpace(string(b))
	if !access.WellFormed(k) {
		return "", fmt.Errorf("%s does not hold a perch API key", path)
	}
	return k, nil
}

// remoteContext is the context of a command's requests: Ctrl-C cancels
// them.
func remoteContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// subcommand is one verb of a resource command (perch models list).
type subcommand struct {
	name  string
	usage string // the whole command line, "perch models list [...]"
	doc   string // what it does, in a line
	run   func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// dispatch runs the subcommand args[0] of a resource command. Asked for
// help, it lists the subcommands and the flags they share.
func dispatch(resource string, subs []subcommand, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	// The shared flags may come before the subcommand (perch models
	// --server URL list); they are handed on to it.
	var lead []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"-h", "-help", "--help"}, args[0]) {
		name, _, inline := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if name != "server" && name != "key" && name != "data-dir" {
			return usagef("flag %s before the subcommand: give the subcommand first (perch %s SUBCOMMAND %s ...)", args[0], resource, args[0])
		}
		n := 2
		if inline || len(args) == 1 {
			n = 1
		}
		lead, args = append(lead, args[:n]...), args[n:]
	}
	if len(args) == 0 {
		return usagef("want a subcommand: %s (run \"perch %s -h\")", strings.Join(names, ", "), resource)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fs := flag.NewFlagSet(resource, flag.ContinueOnError)
		new(remote).flags(fs)
		var b strings.Builder
		printHelp(&b, fs)
		_, flags, _ := strings.Cut(b.String(), "\nFlags:\n")
		fmt.Fprintln(stdout, "Usage:")
		for _, s := range subs {
			fmt.Fprintf(stdout, "  %s\n      %s\n", s.usage, s.doc)
		}
		fmt.Fprintf(stdout, "\nFlags:\n%s\nRun \"perch %s SUBCOMMAND -h\" for a subcommand's own flags.\n", flags, resource)
		return flag.ErrHelp
	}
	i := slices.IndexFunc(subs, func(s subcommand) bool { return s.name == args[0] })
	if i < 0 {
		return usagef("unknown subcommand %q (subcommands: %s)", args[0], strings.Join(names, ", "))
	}
	return subs[i].run(append(lead, args[1:]...), stdin, stdout, stderr)
}

// parseSub parses a subcommand's flags, as parseFlags does, with the
// subcommand's own usage line in its help and errors.
func parseSub(fs *flag.FlagSet, usage string, args []string, w io.Writer) ([]string, error) {
	pos, err := parseFlags(fs, args, io.Discard)
	if errors.Is(err, flag.ErrHelp) {
		var b strings.Builder
		printHelp(&b, fs)
		_, flags, _ := strings.Cut(b.String(), "\nFlags:\n")
		fmt.Fprintf(w, "Usage:\n  %s\n\nFlags:\n%s", usage, flags)
		return nil, err
	}
	if ue, ok := errors.AsType[usageError](err); ok {
		name := fs.Name()
		first := strings.Fields(name)[0]
		return nil, usageError{strings.Replace(ue.msg, `"perch `+first+` -h"`, `"perch `+name+` -h"`, 1)}
	}
	return pos, err
}

// oneID checks that the positional arguments are exactly one id.
func oneID(pos []string, usage string) (string, error) { return oneArg(pos, "an ID", usage) }

func noArgs(pos []string, usage string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q (usage: %s)", pos[0], usage)
	}
	return nil
}

// listFlags are the flags of every list subcommand.
type listFlags struct {
	variable, op, value, sort, pageToken string
	limit                                int
	all, json                            bool
}

func (l *listFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.variable, "filter", "", "`VARIABLE` to filter and sort by, as AML names it: CreatedAt (the default),\n"+
		"LastUpdatedAt, Status, Name, and per kind DataLocationS3, TrainingDataSourceId,\nMLModelType, Algorithm, RealtimeEndpointStatus, MLModelId, DataSourceId")
	fs.StringVar(&l.op, "op", "", "comparison `OP`: EQ, NE, GT, GE, LT, LE or Prefix (default EQ with --value)")
	fs.StringVar(&l.value, "value", "", "`VALUE` to compare with (for times: RFC 3339 or seconds since the epoch)")
	fs.StringVar(&l.sort, "sort", "asc", "`ORDER`: asc or desc")
	fs.IntVar(&l.limit, "limit", 0, "`N` entities per page, 1 to 100 (default 100)")
	fs.StringVar(&l.pageToken, "page-token", "", "`TOKEN` of the page to list, from the previous one")
	fs.BoolVar(&l.all, "all", false, "list every page, not just the first")
	fs.BoolVar(&l.json, "json", false, "print JSON ({\"items\":[…],\"nextPageToken\":…}) rather than a table")
}

var filterOps = []perch.FilterOp{perch.OpEQ, perch.OpNE, perch.OpGT, perch.OpGE, perch.OpLT, perch.OpLE, perch.OpPrefix}

func (l *listFlags) filter() (perch.Filter, error) {
	f := perch.Filter{Variable: l.variable, Value: l.value, Limit: l.limit, PageToken: l.pageToken}
	switch strings.ToLower(l.sort) {
	case "asc", "":
	case "desc":
		f.Desc = true
	default:
		return f, usagef("--sort %q: want asc or desc", l.sort)
	}
	if l.op != "" {
		i := slices.IndexFunc(filterOps, func(op perch.FilterOp) bool { return strings.EqualFold(string(op), l.op) })
		if i < 0 {
			return f, usagef("--op %q: want EQ, NE, GT, GE, LT, LE or Prefix", l.op)
		}
		f.Op = filterOps[i]
	} else if l.value != "" {
		f.Op = perch.OpEQ
	}
	if f.Op != "" && l.value == "" && l.op != "" {
		return f, usagef("--op %s needs a --value", f.Op)
	}
	if l.limit < 0 || l.limit > perch.MaxPageLimit {
		return f, usagef("--limit %d: want 1 to %d", l.limit, perch.MaxPageLimit)
	}
	return f, nil
}

// lister is one kind's list: its client method, its table's columns and
// how an entity fills them.
type lister[T any] struct {
	list    func(*client.Client) func(context.Context, perch.Filter) ([]*T, string, error)
	columns []string
	row     func(*T) []string
}

// listCmd makes a kind's list subcommand.
func listCmd[T any](resource string, l lister[T]) subcommand {
	usage := "perch " + resource + " list [--filter VARIABLE --op OP --value X] [--sort desc] [--limit N] [--all] [--json]"
	return subcommand{"list", usage, "list the " + plural(resource) + ", a page at a time", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet(resource+" list", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		var lf listFlags
		lf.register(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
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
		list := l.list(c)
		items := []*T{}
		for {
			page, next, err := list(ctx, f)
			if err != nil {
				return err
			}
			items = append(items, page...)
			if !lf.all || next == "" {
				f.PageToken = next
				break
			}
			f.PageToken = next
		}
		if lf.json {
			return writeJSON(stdout, struct {
				Items []*T   `json:"items"`
				Next  string `json:"nextPageToken,omitempty"`
			}{items, f.PageToken})
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(l.columns, "\t"))
		for _, it := range items {
			fmt.Fprintln(tw, strings.Join(l.row(it), "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if f.PageToken != "" {
			fmt.Fprintf(stderr, "more %s: --page-token %s, or --all\n", resource, f.PageToken)
		}
		return nil
	}}
}

// idCmd makes a subcommand that takes one id and prints what a client
// method answers for it (get, delete, statistics, report).
func idCmd[T any](resource, name, doc string, call func(*client.Client) func(context.Context, string) (T, error)) subcommand {
	usage := "perch " + resource + " " + name + " ID"
	return subcommand{name, usage, doc, func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		return withID(resource+" "+name, usage, args, stdout, nil, func(ctx context.Context, c *client.Client, id string) error {
			v, err := call(c)(ctx, id)
			if err != nil {
				return err
			}
			return writeJSON(stdout, v)
		})
	}}
}

// withID runs a subcommand that takes one id: it parses the server's
// flags and those more registers, then calls run with the id, a client
// and a context that Ctrl-C cancels.
func withID(name, usage string, args []string, stdout io.Writer, more func(*flag.FlagSet), run func(ctx context.Context, c *client.Client, id string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var rm remote
	rm.flags(fs)
	if more != nil {
		more(fs)
	}
	pos, err := parseSub(fs, usage, args, stdout)
	if err != nil {
		return err
	}
	id, err := oneID(pos, usage)
	if err != nil {
		return err
	}
	c, err := rm.client()
	if err != nil {
		return err
	}
	ctx, stop := remoteContext()
	defer stop()
	return run(ctx, c, id)
}

// waitFlag is the --wait flag of the create subcommands.
func waitFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("wait", false, "wait until the job is done; fail if it FAILED")
}

// nouns name one entity of each resource in messages.
var nouns = map[string]string{
	client.DataSources: "data source", client.MLModels: "model",
	client.Evaluations: "evaluation", client.BatchPredictions: "batch prediction",
}

func plural(resource string) string {
	if n, ok := nouns[resource]; ok {
		return n + "s"
	}
	return resource
}

// pollEvery is how often --wait asks the server.
var pollEvery = time.Second

// created prints a new entity, or with --wait the entity once its job is
// done; a job that FAILED is the command's failure, with its message.
func created[T any](ctx context.Context, c *client.Client, resource, id string, v *T, wait bool, get func(context.Context, string) (*T, error), stdout, stderr io.Writer) error {
	if wait {
		fmt.Fprintf(stderr, "waiting for %s %s…\n", nouns[resource], id)
		view := newProgressView(stderr)
		err := c.WaitWatching(ctx, resource, id, pollEvery, view.show)
		view.clear()
		if err != nil {
			return err
		}
		if v, err = get(ctx, id); err != nil {
			return err
		}
	}
	return writeJSON(stdout, v)
}

// tagFlag registers --tag, whose key=value pairs keyValues turns into
// tags.
func tagFlag(fs *flag.FlagSet) *multi {
	var tags multi
	fs.Var(&tags, "tag", "tag `key=value` (repeatable)")
	return &tags
}

// Columns shared by the tables.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// cell keeps a table cell to one short line.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:39]) + "…"
	}
	return s
}

func count(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
