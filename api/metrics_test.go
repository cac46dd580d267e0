package api_test

import (
	"regexp"
	"strconv"
	"testing"
)

// metricValue returns the value of one series in a /metrics page, 0 when
// it is absent.
func metricValue(t *testing.T, page []byte, series string) float64 {
	t.Helper()
	m := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(page)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPredictionMetrics checks the per-model prediction series and the
// jobs' series on /metrics.
func TestPredictionMetrics(t *testing.T) {
	a := trained(t)
	e := a.env
	count := `perch_predictions_total{model="` + a.model + `"}`
	hist := `perch_prediction_duration_seconds_count{model="` + a.model + `"}`
	before := e.call(t, 200, "GET", "/metrics", nil).body
	rec := map[string]any{"record": a.record(foundingRecord)}
	for range 3 {
		e.call(t, 200, "POST", "/v1/models/"+a.model+"/predict", rec)
	}
	e.call(t, 200, "POST", "/v1/models/"+a.model+"/predictions", map[string]any{"records": []any{rec["record"], rec["record"]}})
	after := e.call(t, 200, "GET", "/metrics", nil).body
	if d := metricValue(t, after, count) - metricValue(t, before, count); d != 5 {
		t.Errorf("%s grew by %v, want 5 (3 predictions and a batch of 2)", count, d)
	}
	if d := metricValue(t, after, hist) - metricValue(t, before, hist); d != 4 {
		t.Errorf("%s grew by %v, want 4 requests", hist, d)
	}
	for _, s := range []string{
		`perch_jobs_total{kind="datasource",outcome="completed"}`,
		`perch_jobs_total{kind="train",outcome="completed"}`,
		`perch_job_duration_seconds_count{kind="train",outcome="completed"}`,
	} {
		if metricValue(t, after, s) < 1 {
			t.Errorf("/metrics lacks %s", s)
		}
	}
}
