package admin

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/plugwatch/plugwatch/reconcile"
)

// Metrics holds plugwatch's Prometheus metrics in a registry of its own (never the
// global default registry), together with the Go runtime and process collectors.
// Its methods are safe for concurrent use, and a nil *Metrics discards every
// observation, so a daemon without an admin API can call them unconditionally.
//
// The metrics, all named plugwatch_*:
//
//	reconciles_total                counter    reconcile passes finished
//	reconcile_duration_seconds      histogram  duration of a reconcile pass
//	loaded_plugins                  gauge      plugins loaded now
//	problems{code}                  gauge      problems in the state document, by code
//	load_failures_total             counter    libraries that failed to load
//	fs_events_total                 counter    filesystem events received
type Metrics struct {
	reg          *prometheus.Registry
	reconciles   prometheus.Counter
	duration     prometheus.Histogram
	loaded       prometheus.Gauge
	problems     *prometheus.GaugeVec
	loadFailures prometheus.Counter
	fsEvents     prometheus.Counter

	mu    sync.Mutex
	codes map[reconcile.Code]bool // every code SetProblems has set
}

// NewMetrics returns a Metrics with every metric registered and at zero.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		reconciles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plugwatch_reconciles_total",
			Help: "Reconcile passes finished.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "plugwatch_reconcile_duration_seconds",
			Help: "Duration of a reconcile pass, probing included.",
			// 1 ms to about 16 s: a stat-only pass up to one that probes slow libraries.
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		loaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "plugwatch_loaded_plugins",
			Help: "Plugins loaded now.",
		}),
		problems: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "plugwatch_problems",
			Help: "Problems in the state document, by code.",
		}, []string{"code"}),
		loadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plugwatch_load_failures_total",
			Help: "Libraries that failed to load.",
		}),
		fsEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plugwatch_fs_events_total",
			Help: "Filesystem events received.",
		}),
		codes: make(map[reconcile.Code]bool),
	}
	m.reg.MustRegister(
		m.reconciles, m.duration, m.loaded, m.problems, m.loadFailures, m.fsEvents,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry that holds the metrics, for serving or testing; nil
// for a nil *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// ObserveReconcile counts one finished reconcile pass that took d.
func (m *Metrics) ObserveReconcile(d time.Duration) {
	if m == nil {
		return
	}
	m.reconciles.Inc()
	m.duration.Observe(d.Seconds())
}

// SetLoaded sets the number of loaded plugins.
func (m *Metrics) SetLoaded(n int) {
	if m == nil {
		return
	}
	m.loaded.Set(float64(n))
}

// SetProblems sets the number of problems of each code. A code that an earlier call
// reported and byCode lacks drops to 0, so its series stays continuous.
func (m *Metrics) SetProblems(byCode map[reconcile.Code]int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.codes {
		if _, ok := byCode[c]; !ok {
			m.problems.WithLabelValues(string(c)).Set(0)
		}
	}
	for c, n := range byCode {
		m.codes[c] = true
		m.problems.WithLabelValues(string(c)).Set(float64(n))
	}
}

// LoadFailed counts one library that failed to load.
func (m *Metrics) LoadFailed() {
	if m == nil {
		return
	}
	m.loadFailures.Inc()
}

// EventReceived counts one filesystem event received from the watcher.
func (m *Metrics) EventReceived() {
	if m == nil {
		return
	}
	m.fsEvents.Inc()
}
