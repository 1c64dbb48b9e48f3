//go:build linux && (amd64 || arm64)

package probe_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// BenchmarkProbe compares native.Probe in this process with ProbeBatch through
// helpers, each batch started with a warm spare helper (the time waiting for it is
// not counted), and reports the cost per library ("ns/lib"): every batch pays for
// stopping its helpers, and the libraries past the first helper's wait for the next
// spare.
func BenchmarkProbe(b *testing.B) {
	lib := plugintest.Build(b, plugintest.Spec{Kind: "gain", ABI: 6, Description: "Adjusts volume"})
	ctx := context.Background()
	b.Run("in-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := native.Probe(lib, native.DefaultRange()); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range []int{1, 100} {
		// Distinct files: the loader maps each once per helper.
		dir := b.TempDir()
		paths := make([]string, n)
		for i := range paths {
			paths[i] = plugintest.Install(b, plugintest.Spec{Kind: "gain", ABI: 6}, filepath.Join(dir, "lib"+strconv.Itoa(i)+".so"))
		}
		b.Run("batch-"+strconv.Itoa(n), func(b *testing.B) {
			p := probe.New(probe.Options{})
			defer p.Close()
			var spent time.Duration
			for range b.N {
				b.StopTimer()
				waitSpare(b, p)
				b.StartTimer()
				start := time.Now()
				for _, r := range p.ProbeBatch(ctx, paths) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
				spent += time.Since(start)
			}
			b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N*n), "ns/lib")
		})
	}
	b.Run("cold", func(b *testing.B) { // a new Prober for each library: no spare ready
		for range b.N {
			p := probe.New(probe.Options{Workers: 1})
			if _, err := p.Probe(ctx, lib); err != nil {
				b.Fatal(err)
			}
			p.Close()
		}
	})
}

// waitSpare waits until p has a spare helper.
func waitSpare(b *testing.B, p *probe.Prober) {
	deadline := time.Now().Add(10 * time.Second)
	for !probe.SpareReady(p) {
		if time.Now().After(deadline) {
			b.Fatal("no spare helper within 10s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}
