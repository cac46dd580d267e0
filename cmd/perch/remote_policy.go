package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// runPolicy: perch policy simulate --as KEY --action A [--resource R] ...
func runPolicy(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch("policy", []subcommand{policySimulate()}, args, stdin, stdout, stderr)
}

func policySimulate() subcommand {
	const usage = "perch policy simulate --as KEY --action ACTION [--resource KIND/ID] [--tag key=value ...] [--source-ip IP] [--json]"
	return subcommand{"simulate", usage, "say whether a key may do an action on a resource, and which statement decides", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet("policy simulate", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		as := fs.String("as", "", "the `KEY` asked about: its name, or its id")
		action := fs.String("action", "", "the `ACTION`, e.g. machinelearning:Predict")
		resource := fs.String("resource", "*", "the `RESOURCE` (KIND/ID, or * for an action on no one resource)")
		sourceIP := fs.String("source-ip", "", "the `IP` address the request would come from")
		tags := tagFlag(fs)
		asJSON := fs.Bool("json", false, "print the decision as JSON")
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		if err := need("as", *as); err != nil {
			return err
		}
		if err := need("action", *action); err != nil {
			return err
		}
		in := service.SimulateInput{Key: *as, Action: perch.Action(*action), Resource: *resource, SourceIP: *sourceIP}
		if in.Tags, err = keyValues("tag", *tags); err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		res, err := c.SimulatePolicy(ctx, in)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, res)
		}
		verdict := "DENIED"
		if res.Allowed {
			verdict = "ALLOWED"
		}
		_, err = fmt.Fprintf(stdout, "%s: %s\n", verdict, res.Reason)
		return err
	}}
}
