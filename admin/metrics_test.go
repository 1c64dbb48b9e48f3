package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

func TestMetricsExposition(t *testing.T) {
	checkLeaks(t)
	m := NewMetrics()
	m.ObserveReconcile(30 * time.Millisecond)
	m.ObserveReconcile(2 * time.Second)
	st := &state.State{Plugins: make([]state.Plugin, 3), Problems: []state.Problem{
		{Code: state.BadRecord}, {Code: state.BadRecord}, {Code: state.BareLibrary}}}
	m.Follow(func() *state.State { return st })
	get(t, NewHandler(newFakeSource(1), m, nil), http.MethodGet, "/metrics").Body.Close()
	st = &state.State{Plugins: make([]state.Plugin, 3), Problems: make([]state.Problem, 4)}
	for i := range st.Problems {
		st.Problems[i].Code = state.BareLibrary // bad_record went away
	}
	m.LoadFailed()
	m.EventReceived()
	m.EventReceived()

	resp := get(t, NewHandler(newFakeSource(1), m, nil), http.MethodGet, "/metrics")
	text := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	for _, want := range []string{
		"plugwatch_reconciles_total 2\n",
		"plugwatch_reconcile_duration_seconds_count 2\n",
		"plugwatch_reconcile_duration_seconds_bucket{",
		"plugwatch_loaded_plugins 3\n",
		`plugwatch_problems{code="bare_library"} 4` + "\n",
		`plugwatch_problems{code="bad_record"} 0` + "\n",
		"plugwatch_load_failures_total 1\n",
		"plugwatch_fs_events_total 2\n",
		"go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestNilMetricsDiscards(t *testing.T) {
	var m *Metrics
	m.ObserveReconcile(time.Second)
	m.Follow(func() *state.State { return nil })
	m.LoadFailed()
	m.EventReceived()
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
}
