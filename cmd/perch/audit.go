package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/perchml/perch"
)

const auditUsage = "perch audit [--key-id ID] [--action A] [--resource R] [--outcome allowed|denied] [--since TIME|DURATION] [--limit N] [--json]"

// runAudit: perch audit — a server's audit log, newest first: the changes
// keys made and the requests they were refused. --key-id, not --key,
// names whose events to list, since --key is the API key presented.
func runAudit(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var rm remote
	rm.flags(fs)
	var f perch.AuditFilter
	fs.StringVar(&f.KeyID, "key-id", "", "only the events of the key with this `ID` (as perch keys list shows it)")
	fs.StringVar(&f.Action, "action", "", "only this `ACTION` (machinelearning:DeleteMLModel); a final * makes it a prefix (perch:*)")
	fs.StringVar(&f.Resource, "resource", "", "only the resources starting with `PREFIX` (mlmodel/, object/in/)")
	fs.StringVar(&f.Outcome, "outcome", "", "only the `OUTCOME`: allowed (changes) or denied (refused requests)")
	since := fs.String("since", "", "only events from `TIME` on: RFC 3339, or a duration meaning that long ago (24h)")
	until := fs.String("until", "", "only events before `TIME` (RFC 3339)")
	fs.IntVar(&f.Limit, "limit", 0, fmt.Sprintf("`N` events, 1 to %d (default %d)", perch.MaxAuditLimit, perch.DefaultAuditLimit))
	fs.StringVar(&f.PageToken, "page-token", "", "`TOKEN` of the page to list, from the previous one")
	asJSON := fs.Bool("json", false, "print JSON ({\"items\":[…],\"nextPageToken\":…}) rather than a table")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if err := noArgs(pos, auditUsage); err != nil {
		return err
	}
	switch f.Outcome {
	case "", perch.AuditAllowed, perch.AuditDenied:
	default:
		return usagef("--outcome %q: want allowed or denied", f.Outcome)
	}
	now := time.Now()
	if f.Since, err = auditTime("since", *since, now); err != nil {
		return err
	}
	if f.Until, err = auditTime("until", *until, now); err != nil {
		return err
	}
	if f.Limit < 0 || f.Limit > perch.MaxAuditLimit {
		return usagef("--limit %d: want 1 to %d", f.Limit, perch.MaxAuditLimit)
	}
	c, err := rm.client()
	if err != nil {
		return err
	}
	ctx, stop := remoteContext()
	defer stop()
	items, next, err := c.ListAudit(ctx, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*perch.AuditEvent{}
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			Items []*perch.AuditEvent `json:"items"`
			Next  string              `json:"nextPageToken,omitempty"`
		}{items, next})
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKEY\tACTION\tRESOURCE\tOUTCOME\tSOURCE")
	for _, e := range items {
		key := e.KeyName
		if key == "" && e.KeyID != "" {
			key = e.KeyID[:min(len(e.KeyID), 12)]
		}
		fmt.Fprintln(tw, strings.Join([]string{when(e.Time), cell(key), string(e.Action), cell(e.Resource), e.Outcome, cell(e.SourceIP)}, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(stderr, "more events: --page-token %s\n", next)
	}
	return nil
}

// auditTime reads --since or --until: an RFC 3339 time, or (for either) a
// duration before now.
func auditTime(flagName, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("--%s %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration (24h)", flagName, v)
}
