//go:build linux && (amd64 || arm64)

package native_test

import (
	"math"
	"testing"
	"time"

	"github.com/ebitengine/purego"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// benchFrame is 20 ms of 48 kHz stereo: 1920 samples, a 440 Hz sine of amplitude 0.5.
func benchFrame() native.AudioFrame {
	return native.AudioFrame{SampleRate: 48000, Channels: 2, Samples: sine(960, 2, 440, 0.5)}
}

// sine returns frames × channels interleaved samples of a sine of the given
// frequency at 48 kHz, phase 0 at the first frame.
func sine(frames, channels int, hz, amplitude float64) []float32 {
	s := make([]float32, frames*channels)
	for i := range frames {
		v := float32(amplitude * math.Sin(2*math.Pi*hz*float64(i)/48000))
		for c := range channels {
			s[i*channels+c] = v
		}
	}
	return s
}

// driver opens the C benchmark driver and returns its drive function:
// double drive(const void *api, int n), the mean ns per process_packet of n calls.
func driver(tb testing.TB) func(api uintptr, n int32) float64 {
	h, err := purego.Dlopen(plugintest.Build(tb, plugintest.Driver()), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { purego.Dlclose(h) })
	sym, err := purego.Dlsym(h, "drive")
	if err != nil {
		tb.Fatal(err)
	}
	var drive func(api uintptr, n int32) float64
	purego.RegisterFunc(&drive, sym)
	return drive
}

// benchInstance returns an instance of the version 6 gain with params {"gain":0.5}
// and an Output that counts packets, and its library.
func benchInstance(b *testing.B, reuse bool) (*native.Library, *native.Instance) {
	l := openLib(b, plugintest.Gain(6))
	var outputs int
	in, err := l.NewInstance([]byte(`{"gain":0.5}`), native.InstanceOptions{
		Logger:      discard,
		Output:      func(string, native.Packet) { outputs++ },
		ReuseOutput: reuse,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close() })
	return l, in
}

// BenchmarkProcess is one process_packet of a 20 ms 48 kHz stereo frame through an
// Instance of the version 6 gain, its output copied into new Go memory ("go") or into
// memory the instance reuses ("go-reuse", InstanceOptions.ReuseOutput), against the
// same plugin driven by a loop in C whose output callback copies the samples into a
// buffer it reuses ("c"). "ratio" runs go-reuse and c in turns and reports both in
// µs per call and their ratio.
func BenchmarkProcess(b *testing.B) {
	for name, reuse := range map[string]bool{"go": false, "go-reuse": true} {
		b.Run(name, func(b *testing.B) {
			_, in := benchInstance(b, reuse)
			var p native.Packet = benchFrame()
			b.ReportAllocs()
			for b.Loop() {
				if err := in.Process("in", p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("c", func(b *testing.B) {
		l, _ := benchInstance(b, false)
		drive := driver(b)
		b.ResetTimer()
		if drive(l.API(), int32(b.N)) < 0 {
			b.Fatal("drive failed")
		}
	})
	b.Run("ratio", func(b *testing.B) {
		l, in := benchInstance(b, true)
		drive := driver(b)
		var p native.Packet = benchFrame()
		const n = 1000
		var goNS, cNS float64
		for b.Loop() {
			start := time.Now()
			for range n {
				if err := in.Process("in", p); err != nil {
					b.Fatal(err)
				}
			}
			goNS += float64(time.Since(start).Nanoseconds()) / n
			ns := drive(l.API(), n)
			if ns < 0 {
				b.Fatal("drive failed")
			}
			cNS += ns
		}
		runs := float64(b.N)
		b.ReportMetric(goNS/runs/1000, "go-µs/op")
		b.ReportMetric(cNS/runs/1000, "c-µs/op")
		b.ReportMetric(goNS/cNS, "go/c")
	})
}
