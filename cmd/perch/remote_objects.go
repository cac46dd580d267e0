package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// runObjects: perch objects put|get|list|delete, the server's object
// store: data to upload, batch predictions' output to fetch.
func runObjects(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch("objects", []subcommand{
		objectPut(), objectGet(), objectList(), objectDelete(),
	}, args, stdin, stdout, stderr)
}

// objectCmd is the part the object subcommands share: flags, the
// client, the context.
func objectCmd(name, usage string, args []string, stdout io.Writer, extra func(fs *flag.FlagSet)) (*remote, []string, error) {
	fs := flag.NewFlagSet("objects "+name, flag.ContinueOnError)
	rm := new(remote)
	rm.flags(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseSub(fs, usage, args, stdout)
	return rm, pos, err
}

func objectPut() subcommand {
	const usage = "perch objects put FILE [KEY]"
	return subcommand{"put", usage, "upload a file (- for stdin) as the object KEY (default: uploads/<its sha256>/<its name>)", func(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		rm, pos, err := objectCmd("put", usage, args, stdout, nil)
		if err != nil {
			return err
		}
		if len(pos) == 0 || len(pos) > 2 {
			return usagef("want a FILE and at most a KEY (usage: %s)", usage)
		}
		path, key := pos[0], ""
		if len(pos) == 2 {
			key = pos[1]
		} else if path == "-" {
			return usagef("stdin needs a KEY (usage: %s)", usage)
		}
		r := stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return prefix(path, err)
			}
			defer f.Close()
			r = f
			if key == "" {
				sum, err := fileSHA256(f)
				if err != nil {
					return prefix(path, err)
				}
				key = uploadKey(sum, path)
			}
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		info, err := c.PutObject(ctx, key, r)
		if err != nil {
			return err
		}
		return writeJSON(stdout, info)
	}}
}

func objectGet() subcommand {
	const usage = "perch objects get KEY [--out FILE]"
	return subcommand{"get", usage, "download an object to stdout or a file", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		var out *string
		rm, pos, err := objectCmd("get", usage, args, stdout, func(fs *flag.FlagSet) {
			out = fs.String("out", "", "`FILE` to write (default: stdout)")
		})
		if err != nil {
			return err
		}
		key, err := oneArg(pos, "a KEY", usage)
		if err != nil {
			return err
		}
		if *out != "" {
			if err := checkOutDir(*out); err != nil {
				return err
			}
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		rc, err := c.GetObject(ctx, key)
		if err != nil {
			return err
		}
		defer rc.Close()
		if *out == "" {
			_, err = io.Copy(stdout, rc)
			return err
		}
		// Written beside its final name and renamed, so a failed download
		// leaves no partial file behind.
		tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := io.Copy(tmp, rc); err != nil {
			tmp.Close()
			return fmt.Errorf("downloading %s: %w", key, err)
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), *out)
	}}
}

func objectList() subcommand {
	const usage = "perch objects list [--prefix PREFIX] [--json]"
	return subcommand{"list", usage, "list the objects, in key order", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		var pfx *string
		var asJSON *bool
		rm, pos, err := objectCmd("list", usage, args, stdout, func(fs *flag.FlagSet) {
			pfx = fs.String("prefix", "", "list only the keys starting with `PREFIX`")
			asJSON = fs.Bool("json", false, "print JSON ({\"items\":[…]}) rather than a table")
		})
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		items, err := c.ListObjects(ctx, *pfx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, map[string]any{"items": items})
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tSIZE\tMODIFIED")
		for _, o := range items {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", strings.ReplaceAll(o.Key, "\t", " "), o.Size, when(o.ModTime))
		}
		return tw.Flush()
	}}
}

func objectDelete() subcommand {
	const usage = "perch objects delete KEY"
	return subcommand{"delete", usage, "delete an object", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		rm, pos, err := objectCmd("delete", usage, args, stdout, nil)
		if err != nil {
			return err
		}
		key, err := oneArg(pos, "a KEY", usage)
		if err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		return c.DeleteObject(ctx, key)
	}}
}

// oneArg checks that the positional arguments are exactly one.
func oneArg(pos []string, what, usage string) (string, error) {
	switch {
	case len(pos) == 0:
		return "", usagef("want %s (usage: %s)", what, usage)
	case len(pos) > 1:
		return "", usagef("unexpected argument %q (usage: %s)", pos[1], usage)
	}
	return pos[0], nil
}
