//go:build linux && (amd64 || arm64)

package native_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// discard is a logger that drops every line.
var discard = slog.New(slog.DiscardHandler)

// openLib opens the library of s, closed when the test ends.
func openLib(tb testing.TB, s plugintest.Spec) *native.Library {
	tb.Helper()
	l, err := native.Open(plugintest.Build(tb, s), native.DefaultRange())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// output is one packet an instance output.
type output struct {
	pin string
	p   native.Packet
}

// sink collects outputs; its Output is safe for concurrent use.
type sink struct {
	mu   sync.Mutex
	outs []output
}

func (s *sink) Output(pin string, p native.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outs = append(s.outs, output{pin, p})
}

// take returns the outputs so far and forgets them.
func (s *sink) take() []output {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.outs
	s.outs = nil
	return o
}

// record is one log line.
type record struct {
	level  slog.Level
	record string // the record's own message
	msg    string // the plugin's message, for a plugin's line; else the record's
	kind   string
	target string
	path   string
}

// logs is a slog.Handler that keeps every line, safe for concurrent use.
type logs struct {
	mu      sync.Mutex
	records []record
	changed chan struct{} // closed and replaced at every line
}

func newLogs() *logs { return &logs{changed: make(chan struct{})} }

func (h *logs) Enabled(context.Context, slog.Level) bool { return true }
func (h *logs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logs) WithGroup(string) slog.Handler            { return h }
func (h *logs) Handle(_ context.Context, r slog.Record) error {
	rec := record{level: r.Level, record: r.Message, msg: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "kind":
			rec.kind = a.Value.String()
		case "target":
			rec.target = a.Value.String()
		case "message":
			rec.msg = a.Value.String()
		case "path":
			rec.path = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, rec)
	close(h.changed)
	h.changed = make(chan struct{})
	return nil
}

func (h *logs) logger() *slog.Logger { return slog.New(h) }

// find returns the first line with message msg.
func (h *logs) find(msg string) (record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.records, func(r record) bool { return r.msg == msg })
	if i < 0 {
		return record{}, false
	}
	return h.records[i], true
}

// wait returns the first line with message msg, waiting for it up to a deadline.
func (h *logs) wait(t *testing.T, msg string) record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		changed := h.changed
		h.mu.Unlock()
		if r, ok := h.find(msg); ok {
			return r
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line %q in %+v", msg, h.records)
		}
	}
}

// newInstance creates an instance of l, closed when the test ends.
func newInstance(t *testing.T, l *native.Library, params string, opts native.InstanceOptions) *native.Instance {
	t.Helper()
	var p []byte
	if params != "" {
		p = []byte(params)
	}
	if opts.Logger == nil {
		opts.Logger = discard
	}
	in, err := l.NewInstance(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Close(); err != nil && !errors.Is(err, native.ErrInstanceClosed) {
			t.Error(err)
		}
	})
	return in
}

// wantCallError checks that err is a *native.CallError of call matching sentinel, with
// the message msg unless msg is "-".
func wantCallError(t *testing.T, err error, call string, sentinel error, msg string) {
	t.Helper()
	var e *native.CallError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *native.CallError", err, err)
	}
	if e.Call != call || !errors.Is(err, sentinel) || (msg != "-" && e.Message != msg) {
		t.Fatalf("err = %q\n(call %q, message %q), want call %q, %v, message %q", err, e.Call, e.Message, call, sentinel, msg)
	}
}

// peakDB returns the peak of samples in dBFS.
func peakDB(samples []float32) float64 {
	var peak float64
	for _, s := range samples {
		peak = max(peak, math.Abs(float64(s)))
	}
	return 20 * math.Log10(peak)
}
