package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/reconcile"
)

func TestMetricsExposition(t *testing.T) {
	checkLeaks(t)
	m := NewMetrics()
	m.ObserveReconcile(30 * time.Millisecond)
	m.ObserveReconcile(2 * time.Second)
	m.SetLoaded(3)
	m.SetProblems(map[reconcile.Code]int{reconcile.BadRecord: 2, reconcile.BareLibrary: 1})
	m.SetProblems(map[reconcile.Code]int{reconcile.BareLibrary: 4}) // bad_record went away
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
	m.SetLoaded(1)
	m.SetProblems(map[reconcile.Code]int{reconcile.Crashed: 1})
	m.LoadFailed()
	m.EventReceived()
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
}
