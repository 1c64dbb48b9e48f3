//go:build linux && (amd64 || arm64)

package probe

import (
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// A helper left idle stops; the next probe starts another.
func TestIdleHelperStops(t *testing.T) {
	lib := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	p := New(Options{Workers: 1})
	defer p.Close()
	p.idleTimeout = 10 * time.Millisecond
	for range 2 {
		if _, err := p.Probe(t.Context(), lib); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			p.mu.Lock()
			n := p.started
			p.mu.Unlock()
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the idle helper was not stopped within 10s")
			}
			time.Sleep(time.Millisecond)
		}
	}
}
