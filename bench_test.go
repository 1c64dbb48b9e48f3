package plugwatch_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/reconcile"
)

// The benchmarks of the run loop. Run them with
//
//	go test . -run '^$' -bench . -benchtime 1x
//
// They report the figures the README quotes as custom metrics.

// kindLibrary returns a library reporting kind "kNNNNNN": the test plugin compiled
// with kind "k0000000" and its kind string patched in place (same length).
func kindLibrary(b *testing.B, n int) []byte {
	b.Helper()
	data, err := os.ReadFile(plugintest.Build(b, plugintest.Spec{Kind: "k0000000"}))
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Replace(data, []byte("k0000000\x00"), fmt.Appendf(nil, "k%07d\x00", n), 1)
}

func writeBundle(b *testing.B, dir string, n int) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "libp.so"), kindLibrary(b, n), 0o755); err != nil {
		b.Fatal(err)
	}
	m := fmt.Sprintf("id: p%07d\nversion: 1.0.0\nnode_kind: k%07d\nkind: native\nentrypoint: libp.so\n", n, n)
	if err := os.WriteFile(filepath.Join(dir, "plugin.yml"), []byte(m), 0o644); err != nil {
		b.Fatal(err)
	}
	old := time.Now().Add(-time.Hour) // written long ago, as a finished bundle is
	os.Chtimes(filepath.Join(dir, "libp.so"), old, old)
	os.Chtimes(filepath.Join(dir, "plugin.yml"), old, old)
	os.Chtimes(dir, old, old)
}

// host counts loads and unloads and wakes waiters. It keeps the count as it goes:
// a waiter that counted the map on every wake would hold the lock the daemon's
// callbacks wait for, for a time that grows with the root.
type host struct {
	mu      sync.Mutex
	loaded  map[string]bool
	n       int       // how many are loaded
	first   time.Time // when the first was loaded
	changed chan struct{}
}

func newHost() *host { return &host{loaded: map[string]bool{}, changed: make(chan struct{}, 1)} }

func (h *host) set(kind string, on bool) {
	h.mu.Lock()
	switch was := h.loaded[kind]; {
	case on && !was:
		h.n++
		if h.first.IsZero() {
			h.first = time.Now()
		}
	case !on && was:
		h.n--
	}
	h.loaded[kind] = on
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}
func (h *host) Loaded(p *reconcile.LoadedPlugin)      { h.set(p.Info().Kind, true) }
func (h *host) Reloaded(_, _ *reconcile.LoadedPlugin) {}
func (h *host) Unloaded(p *reconcile.LoadedPlugin)    { h.set(p.Info().Kind, false) }
func (h *host) is(kind string, on bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.loaded[kind] == on
}

// firstLoaded returns when the first plugin was loaded.
func (h *host) firstLoaded() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first
}

func (h *host) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *host) wait(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond) // for conditions the host is not told of
	defer tick.Stop()
	for !cond() {
		select {
		case <-h.changed:
		case <-tick.C:
		case <-deadline:
			b.Fatal("timed out")
		}
	}
}

// start runs a daemon on root until the benchmark ends.
func start(b *testing.B, root string, h *host, debounce time.Duration, prober ...reconcile.Prober) *plugwatch.Daemon {
	b.Helper()
	log := benchLogger()
	opts := reconcile.Options{Root: root}
	if len(prober) > 0 {
		opts.Prober = prober[0]
	}
	d, err := plugwatch.New(plugwatch.Config{Options: opts, Debounce: debounce, Resync: time.Minute, Host: h, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return d
}

// benchLogger logs at debug level to $PLUGWATCH_BENCH_LOG when that is set, else
// nowhere.
func benchLogger() *slog.Logger {
	f := os.Getenv("PLUGWATCH_BENCH_LOG")
	if f == "" {
		return nil
	}
	w, _ := os.Create(f)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// BenchmarkDropToLoaded: one bundle dropped into a root already holding 1,000 loaded
// plugins (or none), moved in whole (mv) or copied (cp -r), until the host is told it
// loaded; p50 and p99 over 40 drops, with --debounce 100ms and 200ms.
func BenchmarkDropToLoaded(b *testing.B) {
	type variant struct {
		size     int
		debounce time.Duration
		how      string
	}
	var variants []variant
	for _, debounce := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		for _, how := range []string{"mv", "cp-r"} {
			variants = append(variants, variant{1000, debounce, how})
		}
	}
	variants = append(variants, variant{0, 200 * time.Millisecond, "mv"})
	for _, v := range variants {
		debounce, how := v.debounce, v.how
		b.Run(fmt.Sprintf("root=%d/debounce=%v/%s", v.size, debounce, how), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), ".plugins")
			for i := range v.size {
				writeBundle(b, filepath.Join(root, "native", fmt.Sprintf("p%07d", i)), i)
			}
			h := newHost()
			start(b, root, h, debounce)
			h.wait(b, func() bool { return h.count() == v.size })
			src := filepath.Join(b.TempDir(), "drop")
			writeBundle(b, src, 9999999)
			dst := filepath.Join(root, "native", "zz-drop")
			var lat []time.Duration
			for b.Loop() {
				for range 40 {
					// A quiet period before each drop, as between two real ones.
					time.Sleep(2 * debounce)
					t0 := time.Now()
					if how == "mv" {
						if err := os.Rename(src, dst); err != nil {
							b.Fatal(err)
						}
					} else if err := exec.Command("cp", "-r", src, dst).Run(); err != nil {
						b.Fatal(err)
					}
					h.wait(b, func() bool { return h.is("plugin::native::k9999999", true) })
					lat = append(lat, time.Since(t0))
					if how == "mv" {
						os.Rename(dst, src)
					} else {
						os.RemoveAll(dst)
					}
					h.wait(b, func() bool { return h.is("plugin::native::k9999999", false) })
				}
			}
			b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkConverge1000: 1,000 bundles copied into an empty root at once (cp -r of
// a folder holding them); the time until all 1,000 are loaded and how many passes
// it took.
func BenchmarkConverge1000(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	for i := range 1000 {
		writeBundle(b, filepath.Join(src, fmt.Sprintf("p%07d", i)), i)
	}
	for b.Loop() {
		root := filepath.Join(b.TempDir(), ".plugins")
		h := newHost()
		d := start(b, root, h, 100*time.Millisecond)
		h.wait(b, func() bool { return d.State() != nil })
		before := d.Passes()
		t0 := time.Now()
		cmd := exec.Command("sh", "-c", `cp -r "$0"/* "$1"/`, src, filepath.Join(root, "native"))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatal(err, string(out))
		}
		h.wait(b, func() bool { return h.count() == 1000 })
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "converge-ms")
		b.ReportMetric(float64(d.Passes()-before), "passes")
	}
}

// BenchmarkIdleCPU: the CPU time the daemon uses in 5 s with nothing changing, 1,000
// plugins loaded (the benchmark goroutine only waits meanwhile).
func BenchmarkIdleCPU(b *testing.B) {
	root := filepath.Join(b.TempDir(), ".plugins")
	for i := range 1000 {
		writeBundle(b, filepath.Join(root, "native", fmt.Sprintf("p%07d", i)), i)
	}
	h := newHost()
	start(b, root, h, 100*time.Millisecond)
	h.wait(b, func() bool { return h.count() == 1000 })
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	time.Sleep(2 * time.Second) // let the passes the load itself asked for finish
	for b.Loop() {
		c0 := cpu()
		time.Sleep(5 * time.Second) // the measured idle period, not synchronisation
		b.ReportMetric(float64((cpu()-c0).Microseconds())/1000, "cpu-ms/5s")
	}
}

// BenchmarkSlowNeighbour: the time to loaded of a normal bundle moved in 200 ms after
// a bundle whose constructor sleeps 2 s, against the same drop with no slow
// neighbour, measured in the same run. Probes never stall a pass, so the two should
// be equal.
func BenchmarkSlowNeighbour(b *testing.B) {
	slow, err := os.ReadFile(plugintest.Build(b, plugintest.Spec{Kind: "slow", SlowMs: 2000}))
	if err != nil {
		b.Fatal(err)
	}
	for _, neighbour := range []bool{false, true} {
		b.Run(fmt.Sprintf("slow-neighbour=%v", neighbour), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), ".plugins")
			h := newHost()
			d := start(b, root, h, 100*time.Millisecond)
			h.wait(b, func() bool { return d.State() != nil })
			var lat []time.Duration
			for b.Loop() {
				for i := range 5 {
					if neighbour {
						dir := filepath.Join(root, "native", fmt.Sprintf("slow%d", i))
						if err := os.MkdirAll(dir, 0o755); err != nil {
							b.Fatal(err)
						}
						// A new file each round: a new identity, probed again.
						if err := os.WriteFile(filepath.Join(dir, "libslow.so"), slow, 0o755); err != nil {
							b.Fatal(err)
						}
						time.Sleep(200 * time.Millisecond) // the user's pace, not synchronisation
					}
					src := filepath.Join(b.TempDir(), "drop")
					writeBundle(b, src, 9000000+i)
					kind := fmt.Sprintf("plugin::native::k%07d", 9000000+i)
					t0 := time.Now()
					if err := os.Rename(src, filepath.Join(root, "native", fmt.Sprintf("drop%d", i))); err != nil {
						b.Fatal(err)
					}
					h.wait(b, func() bool { return h.is(kind, true) })
					lat = append(lat, time.Since(t0))
					// Let the slow library finish (probed, then opened here: its constructor
					// runs twice) before the next round.
					time.Sleep(4500 * time.Millisecond)
				}
			}
			b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 1).Microseconds())/1000, "max-ms")
		})
	}
}
