package admin

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/plugwatch/plugwatch/state"
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
	loaded       *prometheus.Desc
	problems     *prometheus.Desc
	loadFailures prometheus.Counter
	fsEvents     prometheus.Counter

	mu    sync.Mutex
	state func() *state.State // what Follow gave; loaded_plugins and problems are read from it
	codes map[state.Code]bool // every code a scrape has seen
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
		loaded:   prometheus.NewDesc("plugwatch_loaded_plugins", "Plugins loaded now.", nil, nil),
		problems: prometheus.NewDesc("plugwatch_problems", "Problems in the state document, by code.", []string{"code"}, nil),
		loadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plugwatch_load_failures_total",
			Help: "Libraries that failed to load.",
		}),
		fsEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plugwatch_fs_events_total",
			Help: "Filesystem events received.",
		}),
		codes: make(map[state.Code]bool),
	}
	m.reg.MustRegister(
		m.reconciles, m.duration, stateCollector{m}, m.loadFailures, m.fsEvents,
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

// Follow makes loaded_plugins and problems{code} read the state document that
// state returns (nil: none yet) whenever they are collected, so they are never
// behind the state a client has seen.
func (m *Metrics) Follow(state func() *state.State) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = state
}

// stateCollector collects the metrics derived from the state document. A code seen
// once stays in the exposition, at 0 when it has no problem, so its series stays
// continuous.
type stateCollector struct{ m *Metrics }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.loaded
	ch <- c.m.problems
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var st *state.State
	if m.state != nil {
		st = m.state()
	}
	byCode := map[state.Code]int{}
	loaded := 0
	if st != nil {
		loaded = len(st.Plugins)
		for _, p := range st.Problems {
			byCode[p.Code]++
			m.codes[p.Code] = true
		}
	}
	ch <- prometheus.MustNewConstMetric(m.loaded, prometheus.GaugeValue, float64(loaded))
	for code := range m.codes {
		ch <- prometheus.MustNewConstMetric(m.problems, prometheus.GaugeValue, float64(byCode[code]), string(code))
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
