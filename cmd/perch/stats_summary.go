package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/perchml/perch/client"
	"github.com/perchml/perch/data"
)

// maxSummaryAttributes bounds the attributes a statistics summary lists,
// so that it stays under 30 lines; --json has them all.
const maxSummaryAttributes = 25

// writeStatsSummary writes statistics for a person: the records, the
// target, and a line an attribute (missing and invalid counts, and its
// range or most frequent values).
func writeStatsSummary(w io.Writer, st *data.Stats) error {
	fmt.Fprintf(w, "%d records", st.Records)
	if t := st.Target; t != nil {
		fmt.Fprintf(w, "; target %s (%s)", t.Name, t.Type)
		switch {
		case t.Numeric != nil:
			fmt.Fprintf(w, ": %s", numericRange(t.Numeric))
		case len(t.Values) > 0:
			fmt.Fprintf(w, ": %s", topValues(t.Values, t.Distinct))
		}
		if t.Missing+t.Invalid > 0 {
			fmt.Fprintf(w, "; %d missing, %d invalid", t.Missing, t.Invalid)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTRIBUTE\tTYPE\tMISSING\tINVALID\tVALUES")
	for i, a := range st.Attributes {
		if i == maxSummaryAttributes {
			fmt.Fprintf(tw, "… %d more attributes (--json lists them all)\t\t\t\t\n", len(st.Attributes)-i)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", cell(a.Name), a.Type, a.Missing, a.Invalid, attributeValues(a))
	}
	return tw.Flush()
}

func attributeValues(a data.AttributeStats) string {
	switch {
	case a.Numeric != nil:
		return numericRange(a.Numeric)
	case a.Categorical != nil:
		return topValues(a.Categorical.Top, a.Categorical.Distinct)
	case a.Binary != nil:
		return fmt.Sprintf("true %d, false %d", a.Binary.True, a.Binary.False)
	case a.Text != nil:
		return fmt.Sprintf("%.1f tokens a record, %d distinct", a.Text.MeanTokens, a.Text.DistinctTokens)
	}
	return "-"
}

func numericRange(n *data.NumericStats) string {
	g := func(f float64) string {
		if f == math.Trunc(f) && math.Abs(f) < 1e12 {
			return strconv.FormatFloat(f, 'f', 0, 64) // 12285, not 1.228e+04
		}
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	return fmt.Sprintf("min %s, median %s, max %s, mean %s", g(n.Min), g(n.Median), g(n.Max), g(n.Mean))
}

// topValues writes the three most frequent values and how many there are.
func topValues(top []data.ValueCount, distinct int) string {
	var parts []string
	for i, v := range top {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", cell(v.Value), v.Count))
	}
	s := strings.Join(parts, ", ")
	if distinct > len(parts) {
		s = fmt.Sprintf("%d distinct: %s, …", distinct, s)
	}
	return s
}

// dataSourceStatistics is perch datasources statistics: a summary, or
// with --json the statistics the server keeps.
func dataSourceStatistics() subcommand {
	const usage = "perch datasources statistics ID [--json]"
	return subcommand{"statistics", usage, "print a summary of the statistics of a data source created with --stats (--json: all of them)", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		var asJSON *bool
		more := func(fs *flag.FlagSet) {
			asJSON = fs.Bool("json", false, "print every statistic (histograms, top values, correlations) as JSON rather than a summary")
		}
		return withID("datasources statistics", usage, args, stdout, more, func(ctx context.Context, c *client.Client, id string) error {
			return showStatistics(ctx, c, id, *asJSON, stdout)
		})
	}}
}

// showStatistics prints a data source's statistics: a summary, or asJSON
// what the server keeps.
func showStatistics(ctx context.Context, c *client.Client, id string, asJSON bool, stdout io.Writer) error {
	b, err := c.DataSourceStatistics(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, rawJSON(b))
	}
	var st data.Stats
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("reading the statistics of %s: %v", id, err)
	}
	return writeStatsSummary(stdout, &st)
}
