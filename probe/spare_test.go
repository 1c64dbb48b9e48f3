//go:build linux && (amd64 || arm64)

package probe

import (
	"context"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// waitFor fails the test unless cond holds within 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A probe takes the spare started ahead, and the Prober starts the next spare: probes
// that come after the spare is ready never wait for a process to start.
func TestSpare(t *testing.T) {
	lib := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	p := New(Options{Workers: 1})
	defer p.Close()
	for i := range 3 {
		waitFor(t, "a spare helper", p.stats.spareReady.Load)
		if _, err := p.Probe(context.Background(), lib); err != nil {
			t.Fatal(err)
		}
		if n := p.stats.coldStarts.Load(); n != 0 {
			t.Fatalf("probe %d: %d helpers started while it waited, want 0", i, n)
		}
	}
	waitFor(t, "a fourth spare", p.stats.spareReady.Load)
	if n := p.stats.starts.Load(); n != 4 {
		t.Errorf("%d helpers started, want 4 (one per probe and the spare)", n)
	}
	// A batch larger than one helper's share uses the spare too.
	many := make([]string, 2*maxPerHelper+1)
	for i := range many {
		many[i] = lib
	}
	for i, r := range p.ProbeBatch(context.Background(), many) {
		if r.Err != nil {
			t.Fatalf("library %d: %v", i, r.Err)
		}
	}
}

// A spare left idle stops; a probe that finds none starts a helper, and a new spare
// is started behind it.
func TestIdleSpareStops(t *testing.T) {
	lib := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	p := newProber(Options{Workers: 1}, 10*time.Millisecond)
	defer p.Close()
	waitFor(t, "the idle spare's stop", func() bool { return p.stats.idleStops.Load() == 1 })
	if _, err := p.Probe(context.Background(), lib); err != nil {
		t.Fatal(err)
	}
	if n := p.stats.coldStarts.Load(); n != 1 {
		t.Errorf("%d helpers started while the probe waited, want 1", n)
	}
	waitFor(t, "the second idle spare's stop", func() bool { return p.stats.idleStops.Load() == 2 })
}
