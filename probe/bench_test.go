//go:build linux && (amd64 || arm64)

package probe_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
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
// spare. It reports the helpers' CPU time per library too ("helper-cpu-us/lib").
//
//	go test ./probe -run '^$' -bench 'Probe$/batch'

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
	for _, n := range []int{1, 100, 1000} {
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
			p.Close() // the helpers' CPU counts once they ended
			b.ReportMetric(float64(p.CPU().Microseconds())/float64(b.N*n), "helper-cpu-us/lib")
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

// BenchmarkProbeHoldingDescriptors probes one library at a time, each with a warm
// spare, while this process holds 10,000 open descriptors of as many folders (a
// daemon holding 10,000 plugins does), with the helpers started by the launcher (the default command) and
// by this process (a Command of the same program). It reports the helpers' CPU time
// per probe, the launcher's included ("helper-cpu-us/lib"), and this process's own.
//
//	go test ./probe -run '^$' -bench HoldingDescriptors -benchtime 200x
func BenchmarkProbeHoldingDescriptors(b *testing.B) {
	lib := plugintest.Build(b, plugintest.Spec{Kind: "gain", ABI: 6})
	for _, held := range []int{0, 10000} {
		var files []*os.File
		dirs := b.TempDir()
		for i := range held {
			// Folders of their own, as the daemon holds (one per private copy).
			dir := filepath.Join(dirs, strconv.Itoa(i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			f, err := os.Open(dir)
			if err != nil {
				b.Skipf("cannot hold %d descriptors: %v", held, err)
			}
			files = append(files, f)
		}
		for _, via := range []string{"launcher", "direct"} {
			b.Run(fmt.Sprintf("held=%d/%s", held, via), func(b *testing.B) {
				opts := probe.Options{Workers: 1}
				if via == "direct" {
					opts.Command = func() *exec.Cmd { return exec.Command("/proc/self/exe") }
				} else {
					probe.UseLauncherAlways(b)
				}
				p := probe.New(opts)
				defer p.Close()
				var self time.Duration
				cpu0 := p.CPU()
				for range b.N {
					b.StopTimer()
					waitSpare(b, p)
					b.StartTimer()
					s0 := selfCPU()
					if _, err := p.Probe(context.Background(), lib); err != nil {
						b.Fatal(err)
					}
					self += selfCPU() - s0
				}
				b.StopTimer()
				p.Close() // the last helpers' time is counted once they ended
				b.ReportMetric(float64((p.CPU()-cpu0).Microseconds())/float64(b.N), "helper-cpu-us/lib")
				b.ReportMetric(float64(self.Microseconds())/float64(b.N), "self-cpu-us/lib")
			})
		}
		for _, f := range files {
			f.Close()
		}
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
