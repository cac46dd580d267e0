package service

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The service's Prometheus series, shared by every Service of the
// process; Collector serves them.
var (
	mPredictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perch_predictions_total",
		Help: "Records predicted in real time (predict, predictions and explain requests, REST and AML), by model.",
	}, []string{"model"})
	mPredictSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "perch_prediction_duration_seconds",
		Help:    "Time to predict one real-time request (one record, or a batch of up to 1,000), by model.",
		Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, .1, 1},
	}, []string{"model"})
	mJobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "perch_jobs_total",
		Help: "Jobs that ended, by kind (datasource, train, evaluate, batch) and outcome (completed, failed, waiting, interrupted).",
	}, []string{"kind", "outcome"})
	mJobSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "perch_job_duration_seconds",
		Help:    "Time a job ran, by kind and outcome.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	}, []string{"kind", "outcome"})
)

var allMetrics = []prometheus.Collector{mPredictions, mPredictSeconds, mJobs, mJobSeconds}

type collector struct{}

// Collector returns the service's metrics, for a registry to serve.
func Collector() prometheus.Collector { return collector{} }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range allMetrics {
		c.Describe(ch)
	}
}

func (collector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range allMetrics {
		c.Collect(ch)
	}
}

// modelMetrics are one model's series, looked up once per cache entry so
// that a prediction only adds to them.
type modelMetrics struct {
	count   prometheus.Counter
	seconds prometheus.Observer
}

func newModelMetrics(id string) modelMetrics {
	return modelMetrics{mPredictions.WithLabelValues(id), mPredictSeconds.WithLabelValues(id)}
}

// observe records n records predicted in one request that began at start.
func (m modelMetrics) observe(n int, start time.Time) {
	m.count.Add(float64(n))
	m.seconds.Observe(time.Since(start).Seconds())
}

// observeJob records a job's end.
func observeJob(kind JobKind, outcome string, d time.Duration) {
	mJobs.WithLabelValues(string(kind), outcome).Inc()
	mJobSeconds.WithLabelValues(string(kind), outcome).Observe(d.Seconds())
}
