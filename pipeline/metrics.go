package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The pipelines' Prometheus series, shared by every engine of the
// process; Collector serves them.
var (
	mObjects = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perch_pipeline_objects_total",
		Help: "Object versions a pipeline finished, by outcome: completed, or quarantined after its last attempt.",
	}, []string{"pipeline", "outcome"})
	mRecords = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perch_pipeline_records_total",
		Help: "Records committed, by outcome: predicted (written to every sink) or dead_letter.",
	}, []string{"pipeline", "outcome"})
	mErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perch_pipeline_run_errors_total",
		Help: "Run attempts that failed and are tried again (a sink down, a store error).",
	}, []string{"pipeline"})
	mLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "perch_pipeline_lag_seconds",
		Help:    "Time from an object landing (its modification time) to its run starting.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"pipeline"})
	mLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "perch_pipeline_land_to_commit_seconds",
		Help:    "Time from an object landing to its run's last commit.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"pipeline"})
	mBatch = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "perch_pipeline_sink_write_seconds",
		Help:    "Time to write one batch to a sink, by sink kind.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"sink"})
)

type collector struct{}

// Collector returns the pipelines' metrics, for a registry to serve.
func Collector() prometheus.Collector { return collector{} }

var all = []prometheus.Collector{mObjects, mRecords, mErrors, mLag, mLatency, mBatch}

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range all {
		c.Describe(ch)
	}
}

func (collector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range all {
		c.Collect(ch)
	}
}

// since returns the seconds from t, if t is set.
func since(t time.Time) (float64, bool) {
	if t.IsZero() {
		return 0, false
	}
	return max(time.Since(t).Seconds(), 0), true
}
