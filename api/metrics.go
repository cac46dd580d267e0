package api

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/perchml/perch/service"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec   // route, method, code
	latency  *prometheus.HistogramVec // route, method
	inFlight prometheus.Gauge
	handler  http.Handler
}

func newMetrics(reg *prometheus.Registry, own bool) *metrics {
	m := &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "perch_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"})),
		latency: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "perch_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"})),
		inFlight: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "perch_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		})),
	}
	register(reg, service.Collector())
	if own {
		register(reg, collectors.NewGoCollector())
		register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// register adds c to reg, or returns the collector already there, so that
// two handlers may share one registry.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err)
	}
	return c
}

// routeMetrics are one route's series, looked up once rather than per
// request.
type routeMetrics struct {
	m       *metrics
	route   string
	method  string // "" for a route that takes any method
	latency prometheus.Observer
	mu      sync.RWMutex
	codes   map[int]prometheus.Counter
}

func (m *metrics) forRoute(rt *route) *routeMetrics {
	rm := &routeMetrics{m: m, route: rt.pattern, method: rt.method, codes: make(map[int]prometheus.Counter)}
	if rt.method != "" {
		rm.latency = m.latency.WithLabelValues(rt.pattern, rt.method)
	}
	return rm
}

func (rm *routeMetrics) observe(method string, code int, d time.Duration) {
	if rm.method == "" {
		// The catch-all route: its method is the request's, bounded to
		// the ones HTTP names.
		switch method {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		default:
			method = "OTHER"
		}
		rm.m.requests.WithLabelValues(rm.route, method, strconv.Itoa(code)).Inc()
		rm.m.latency.WithLabelValues(rm.route, method).Observe(d.Seconds())
		return
	}
	rm.latency.Observe(d.Seconds())
	rm.mu.RLock()
	c := rm.codes[code]
	rm.mu.RUnlock()
	if c == nil {
		c = rm.m.requests.WithLabelValues(rm.route, rm.method, strconv.Itoa(code))
		rm.mu.Lock()
		rm.codes[code] = c
		rm.mu.Unlock()
	}
	c.Inc()
}

func (a *api) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.ReadMetrics(r.Context()); err != nil {
		writeError(w, r, err)
		return
	}
	a.metrics.handler.ServeHTTP(w, r)
}
