//go:build linux && (amd64 || arm64)

package probe_test

import (
	"context"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// BenchmarkProbe compares probing one library through a running helper with
// native.Probe in this process, and prices a helper's start.
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
	b.Run("helper", func(b *testing.B) {
		p := probe.New(probe.Options{Workers: 1})
		defer p.Close()
		if _, err := p.Probe(ctx, lib); err != nil { // start the helper
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := p.Probe(ctx, lib); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("helper-parallel", func(b *testing.B) {
		p := probe.New(probe.Options{})
		defer p.Close()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Probe(ctx, lib); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("helper-cold", func(b *testing.B) { // a new helper for each library
		for b.Loop() {
			p := probe.New(probe.Options{Workers: 1})
			if _, err := p.Probe(ctx, lib); err != nil {
				b.Fatal(err)
			}
			p.Close()
		}
	})
}
