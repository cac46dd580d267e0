package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/perchml/perch"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/metrics"
)

// An evaluation report holds the ROC curve, a table of 101 thresholds and
// histograms: thousands of lines of JSON. What a person reads first is a
// summary that fits a terminal: the metric, what it compares with, and the
// confusion matrix or residuals it comes from. --json prints the report.

// maxSummaryLines bounds a summary, whatever the number of classes.
const maxSummaryLines = 30

// maxSummaryClasses is the number of classes a MULTICLASS confusion matrix
// shows; the rest, the least frequent, are counted together.
const maxSummaryClasses = 10

// writeEvaluationSummary writes the summary of an evaluation report.
func writeEvaluationSummary(w io.Writer, ev *learn.Evaluation) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s evaluation of %d records (%d invalid)\n", ev.Type, ev.Records, ev.InvalidRecords)
	switch {
	case ev.Binary != nil:
		binarySummary(&b, ev.Binary)
	case ev.Multiclass != nil:
		multiclassSummary(&b, ev.Multiclass)
	case ev.Regression != nil:
		regressionSummary(&b, ev.Regression)
	default:
		fmt.Fprintf(&b, "metrics:%s\n", metricSummary(ev))
	}
	_, err := w.Write(trimLines(b.Bytes()))
	return err
}

// trimLines drops the spaces tabwriter leaves at the ends of lines.
func trimLines(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := make([]byte, 0, len(b))
	for _, l := range lines {
		nl := bytes.HasSuffix(l, []byte("\n"))
		out = append(out, bytes.TrimRight(l, " \n")...)
		if nl {
			out = append(out, '\n')
		}
	}
	return out
}

func binarySummary(b *bytes.Buffer, r *metrics.BinaryReport) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "BinaryAUC\t%s\t(a random guess: %s)\n", num(r.AUC), num(r.Baseline))
	fmt.Fprintf(tw, "log loss\t%s\t\n", num(r.LogLoss))
	fmt.Fprintf(tw, "threshold\t%s\t(a score at or above it predicts 1)\n", num(r.Threshold))
	tw.Flush()
	fmt.Fprintf(b, "at the threshold:\n")
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  accuracy\t%s\n", num(r.Accuracy))
	fmt.Fprintf(tw, "  precision\t%s\n", num(r.Precision))
	fmt.Fprintf(tw, "  recall\t%s\n", num(r.Recall))
	fmt.Fprintf(tw, "  F1\t%s\n", num(r.F1))
	fmt.Fprintf(tw, "  false positive rate\t%s\n", num(r.FalsePositiveRate))
	tw.Flush()
	c := r.Confusion
	fmt.Fprintf(b, "confusion matrix at %s:\n", num(r.Threshold))
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tpredicted 1\tpredicted 0\trecords\t\n")
	fmt.Fprintf(tw, "  actual 1\t%d TP\t%d FN\t%d\t\n", c.TP, c.FN, r.Positives)
	fmt.Fprintf(tw, "  actual 0\t%d FP\t%d TN\t%d\t\n", c.FP, c.TN, r.Negatives)
	tw.Flush()
	// The threshold that would do best by F1 on this data, a hint for
	// perch models update --threshold.
	if i := bestF1(r.Thresholds); i >= 0 {
		t := r.Thresholds[i]
		fmt.Fprintf(b, "best F1 on this data: %s at threshold %s (precision %s, recall %s)\n",
			num(t.F1), num(t.Threshold), num(t.Precision), num(t.Recall))
	}
	warning(b, r.Warning)
}

// bestF1 is the index of the row with the highest F1, the first of equals;
// -1 when there are no rows.
func bestF1(rows []metrics.ThresholdRow) int {
	best := -1
	for i, t := range rows {
		if best < 0 || t.F1 > rows[best].F1 {
			best = i
		}
	}
	return best
}

func multiclassSummary(b *bytes.Buffer, r *metrics.MulticlassReport) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "MulticlassAvgFScore\t%s\t(macro-F1; always the most frequent class: %s)\n", num(r.AvgF1), num(r.BaselineF1))
	fmt.Fprintf(tw, "accuracy\t%s\t\n", num(r.Accuracy))
	tw.Flush()

	k := len(r.Classes)
	shown := shownClasses(r.Classes)
	others := k > len(shown)
	var left []int // the classes counted together as "others"
	for c := range k {
		if !slices.Contains(shown, c) {
			left = append(left, c)
		}
	}
	// cell is the count of rows whose actual class is in as and predicted
	// class in ps.
	cell := func(as, ps []int) int {
		n := 0
		for _, a := range as {
			for _, p := range ps {
				if a < len(r.Confusion) && p < len(r.Confusion[a]) {
					n += r.Confusion[a][p]
				}
			}
		}
		return n
	}
	fmt.Fprintf(b, "confusion matrix, %d classes (rows actual, columns predicted):\n", k)
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{""}
	for _, c := range shown {
		header = append(header, shortLabel(r.Classes[c].Class))
	}
	if others {
		header = append(header, "others")
	}
	header = append(header, "F1", "records")
	fmt.Fprintf(tw, "%s\t\n", strings.Join(header, "\t"))
	for _, a := range shown {
		row := []string{shortLabel(r.Classes[a].Class)}
		for _, p := range shown {
			row = append(row, strconv.Itoa(cell([]int{a}, []int{p})))
		}
		if others {
			row = append(row, strconv.Itoa(cell([]int{a}, left)))
		}
		row = append(row, num(r.Classes[a].F1), strconv.Itoa(r.Classes[a].Support))
		fmt.Fprintf(tw, "%s\t\n", strings.Join(row, "\t"))
	}
	if others {
		row := []string{"others"}
		support := 0
		for _, a := range left {
			support += r.Classes[a].Support
		}
		for _, p := range shown {
			row = append(row, strconv.Itoa(cell(left, []int{p})))
		}
		row = append(row, strconv.Itoa(cell(left, left)), "", strconv.Itoa(support))
		fmt.Fprintf(tw, "%s\t\n", strings.Join(row, "\t"))
	}
	tw.Flush()
	if others {
		fmt.Fprintf(b, "%d less frequent classes left out, counted as others (--json has them all)\n", len(left))
	}
	warning(b, r.Warning)
}

// shownClasses picks the classes a summary's confusion matrix shows: the
// maxSummaryClasses with the most records, in the report's order.
func shownClasses(classes []metrics.ClassRow) []int {
	idx := make([]int, len(classes))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) <= maxSummaryClasses {
		return idx
	}
	slices.SortStableFunc(idx, func(a, b int) int { return classes[b].Support - classes[a].Support })
	idx = idx[:maxSummaryClasses]
	slices.Sort(idx)
	return idx
}

// shortLabel keeps a class label to a column's width.
func shortLabel(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return `""`
	}
	if utf8.RuneCountInString(s) > 16 {
		s = string([]rune(s)[:15]) + "…"
	}
	return s
}

// residualQuantiles are the quantiles a REGRESSION summary shows.
var residualQuantiles = []struct {
	name string
	q    float64
}{{"5%", 0.05}, {"25%", 0.25}, {"median", 0.5}, {"75%", 0.75}, {"95%", 0.95}}

func regressionSummary(b *bytes.Buffer, r *metrics.RegressionReport) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RegressionRMSE\t%s\t(always the training mean: %s)\n", num(r.RMSE), num(r.BaselineRMSE))
	fmt.Fprintf(tw, "MAE\t%s\t\n", num(r.MAE))
	fmt.Fprintf(tw, "R²\t%s\t\n", num(r.R2))
	tw.Flush()
	h := r.Residuals
	if len(h.Counts) > 0 {
		fmt.Fprintf(b, "residuals, actual − predicted (from %d bins over %s to %s):\n", len(h.Counts), num(h.Lower), num(h.Upper))
		for _, q := range residualQuantiles {
			fmt.Fprintf(b, "  %-6s  %9s\n", q.name, num(histogramQuantile(h, q.q)))
		}
	}
	warning(b, r.Warning)
}

// histogramQuantile estimates the q-quantile of the residuals from their
// histogram, taking each bin's residuals as spread evenly across it. It
// is NaN for an empty histogram.
func histogramQuantile(h metrics.ResidualHistogram, q float64) float64 {
	total := 0
	for _, n := range h.Counts {
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	width := (h.Upper - h.Lower) / float64(len(h.Counts))
	target := q * float64(total)
	seen := 0.0
	for i, n := range h.Counts {
		if n > 0 && seen+float64(n) >= target {
			return h.Lower + width*(float64(i)+(target-seen)/float64(n))
		}
		seen += float64(n)
	}
	return h.Upper
}

func warning(b *bytes.Buffer, w string) {
	if w != "" {
		fmt.Fprintf(b, "warning: %s\n", w)
	}
}

// num prints a metric to four significant digits.
func num(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

// parseReport reads an evaluation report as the server stores it.
func parseReport(b []byte) (*learn.Evaluation, error) {
	var ev learn.Evaluation
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("the server's evaluation report: %w", err)
	}
	return &ev, nil
}

// writeEvaluation writes a server's evaluation for a person: what it
// measured, its status and, given the report of a COMPLETED evaluation,
// the report's summary.
func writeEvaluation(w io.Writer, e *perch.Evaluation, report *learn.Evaluation) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "evaluation %s", e.ID)
	if e.Name != "" {
		fmt.Fprintf(&b, " (%s)", cell(e.Name))
	}
	fmt.Fprintf(&b, ": %s", e.Status)
	if e.FinishedAt != nil {
		fmt.Fprintf(&b, " at %s", when(*e.FinishedAt))
	}
	fmt.Fprintf(&b, "\nmodel %s on data source %s\n", e.MLModel, e.DataSource)
	if e.Message != "" {
		fmt.Fprintf(&b, "message: %s\n", oneLine(e.Message))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	if report != nil {
		return writeEvaluationSummary(w, report)
	}
	if len(e.PerformanceMetrics) > 0 {
		_, err := fmt.Fprintf(w, "%s\n", metric(e.PerformanceMetrics))
		return err
	}
	return nil
}
