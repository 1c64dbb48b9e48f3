package plugwatch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/reconcile"
)

// BenchmarkDropScaling: one bundle moved in (mv) to a root already holding N loaded
// plugins, until the embedding host is told it loaded: p50 over the drops, the
// daemon's CPU per drop (this process and its probe helpers) and passes per drop;
// beside it, in the same run, the floor: the same chain done once by hand in this
// process (rename, the fsnotify event, read the bundle's manifest, copy the library,
// probe it in a warm helper, dlopen it). Run it with
//
//	go test . -run '^$' -bench DropScaling -benchtime 1x
func BenchmarkDropScaling(b *testing.B) {
	for _, n := range benchSizes(100, 1000, 10000) {
		b.Run(fmt.Sprintf("bundles=%d", n), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), ".plugins")
			for i := range n {
				writeBundle(b, filepath.Join(root, "native", fmt.Sprintf("p%07d", i)), i)
			}
			h := newHost()
			helpers := probe.New(probe.Options{})
			b.Cleanup(func() { helpers.Close() }) // after the daemon stopped
			d := start(b, root, h, 100*time.Millisecond, helpers)
			h.wait(b, func() bool { return h.count() == n })
			time.Sleep(time.Second) // let the passes the start asked for finish
			src := filepath.Join(b.TempDir(), "drop")
			writeBundle(b, src, 9999999)
			dst := filepath.Join(root, "native", "zz-drop")
			const drops = 20
			var lat []time.Duration
			var cpu, kids time.Duration
			var passes, allocs, gcs uint64
			stop := benchProfile(b, n)
			defer stop()
			for b.Loop() {
				for range drops {
					time.Sleep(300 * time.Millisecond) // a quiet period before each drop
					var m0, m1 runtime.MemStats
					runtime.ReadMemStats(&m0)
					c0, k0, p0, t0 := cpuTime(helpers), helpers.CPU(), d.Passes(), time.Now()
					if err := os.Rename(src, dst); err != nil {
						b.Fatal(err)
					}
					h.wait(b, func() bool { return h.is("plugin::native::k9999999", true) })
					lat = append(lat, time.Since(t0))
					time.Sleep(300 * time.Millisecond) // any trailing pass is counted
					cpu += cpuTime(helpers) - c0
					kids += helpers.CPU() - k0
					passes += d.Passes() - p0
					runtime.ReadMemStats(&m1)
					allocs += m1.TotalAlloc - m0.TotalAlloc
					gcs += uint64(m1.NumGC - m0.NumGC)
					os.Rename(dst, src)
					h.wait(b, func() bool { return h.is("plugin::native::k9999999", false) })
				}
			}
			floor := floorChain(b, drops)
			b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(floor.Microseconds())/1000, "floor-p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.5))/float64(floor), "p50/floor")
			b.ReportMetric(float64(cpu.Microseconds())/1000/drops, "cpu-ms/drop")
			b.ReportMetric(float64(kids.Microseconds())/1000/drops, "helpers-cpu-ms/drop")
			b.ReportMetric(float64(passes)/drops, "passes/drop")
			b.ReportMetric(float64(allocs)/1024/drops, "alloc-KiB/drop")
			b.ReportMetric(float64(gcs)/drops, "GCs/drop")
		})
	}
}

// benchProfile starts a CPU profile into $PLUGWATCH_BENCH_CPUPROFILE.<n> when that is
// set, and returns what stops it.
func benchProfile(b *testing.B, n int) func() {
	f := os.Getenv("PLUGWATCH_BENCH_CPUPROFILE")
	if f == "" {
		return func() {}
	}
	out, err := os.Create(fmt.Sprintf("%s.%d", f, n))
	if err != nil {
		b.Fatal(err)
	}
	pprof.StartCPUProfile(out)
	return func() { pprof.StopCPUProfile(); out.Close() }
}

// cpuTime is the CPU time of this process and of the probe helpers (and their
// launcher) that helpers started and that ended: a helper probes one batch, so its
// time counts once it exited.
func cpuTime(helpers *probe.Prober) time.Duration {
	var self syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	return time.Duration(self.Utime.Nano()+self.Stime.Nano()) + helpers.CPU()
}

// floorChain returns the p50 over drops of the chain a drop needs, done by hand.
func floorChain(b *testing.B, drops int) time.Duration {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "native")
	os.MkdirAll(dir, 0o755)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		b.Fatal(err)
	}
	p := probe.New(probe.Options{})
	defer p.Close()
	src := filepath.Join(b.TempDir(), "drop")
	writeBundle(b, src, 9999998)
	dst := filepath.Join(dir, "drop")
	var lat []time.Duration
	for i := range drops {
		time.Sleep(50 * time.Millisecond) // the spare helper is ready, as the daemon's is
		t0 := time.Now()
		if err := os.Rename(src, dst); err != nil {
			b.Fatal(err)
		}
		<-w.Events
		if _, err := manifest.ReadManifest(filepath.Join(dst, "plugin.yml")); err != nil {
			b.Fatal(err)
		}
		cp := filepath.Join(dst, fmt.Sprintf(".libp.so.copy-%d", i))
		data, err := os.ReadFile(filepath.Join(dst, "libp.so"))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(cp, data, 0o700); err != nil {
			b.Fatal(err)
		}
		if r := p.ProbeBatch(b.Context(), []string{cp}); r[0].Err != nil {
			b.Fatal(r[0].Err)
		}
		lib, err := native.Open(cp, native.DefaultRange())
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		lib.Close()
		os.Remove(cp)
		os.Rename(dst, src)
	drain:
		for {
			select {
			case <-w.Events:
			case <-time.After(20 * time.Millisecond):
				break drain
			}
		}
	}
	return percentile(lat, 0.5)
}

// BenchmarkStart: a daemon started on a root of N bundles, until the host was told
// all N loaded; beside it, in the same run, the baseline: a loop in this process that
// dlopens every one of the N libraries once, keeping them open as the daemon does;
// and what creating N files costs the file system ("create-us/file"), since the
// daemon makes a private copy of every library. "first-loaded-ms" is when the host
// was told of the first plugin: the first read of the root and the first batch.
func BenchmarkStart(b *testing.B) {
	for _, n := range benchSizes(1000, 10000) {
		b.Run(fmt.Sprintf("bundles=%d", n), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), ".plugins")
			var libs []string
			for i := range n {
				dir := filepath.Join(root, "native", fmt.Sprintf("p%07d", i))
				writeBundle(b, dir, i)
				libs = append(libs, filepath.Join(dir, "libp.so"))
			}
			var took, first, cpu, kids time.Duration
			stop := benchProfile(b, n)
			for b.Loop() {
				h := newHost()
				ctx, cancel := context.WithCancel(context.Background())
				helpers := probe.New(probe.Options{})
				d, err := plugwatch.New(plugwatch.Config{Options: reconcile.Options{Root: root, Prober: helpers}, Host: h, Logger: benchLogger()})
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan error, 1)
				c0, k0, t0 := cpuTime(helpers), helpers.CPU(), time.Now()
				go func() { done <- d.Run(ctx) }()
				h.wait(b, func() bool { return h.count() == n })
				took, first = time.Since(t0), h.firstLoaded().Sub(t0)
				time.Sleep(time.Second) // the last helpers end
				cpu, kids = cpuTime(helpers)-c0, helpers.CPU()-k0
				cancel()
				<-done
				helpers.Close()
			}
			stop()
			t0 := time.Now()
			open := make([]*native.Library, 0, len(libs))
			for _, lib := range libs {
				l, err := native.Open(lib, native.DefaultRange())
				if err != nil {
					b.Fatal(err)
				}
				open = append(open, l) // kept open, as the daemon keeps them
			}
			loop := time.Since(t0)
			for _, l := range open {
				l.Close()
			}
			create := createFiles(b, libs)
			b.ReportMetric(float64(took.Milliseconds()), "start-ms")
			b.ReportMetric(float64(first.Milliseconds()), "first-loaded-ms")
			b.ReportMetric(float64(loop.Milliseconds()), "dlopen-loop-ms")
			b.ReportMetric(float64(took)/float64(loop), "start/loop")
			b.ReportMetric(float64(cpu.Milliseconds()), "cpu-ms")
			b.ReportMetric(float64(kids.Milliseconds()), "helpers-cpu-ms")
			b.ReportMetric(float64(create.Microseconds())/float64(n), "create-us/file")
		})
	}
}

// createFiles returns how long writing a new file with the library's bytes beside
// each of libs took, one after the other, as the daemon's private copies are: what
// the copies cost the file system alone. On ext4 it depends on how many files were
// deleted there in the last minutes (the inode allocator skips recently freed inodes
// one by one), from about 0.1 to 0.5 ms a file on the same machine.
func createFiles(b *testing.B, libs []string) time.Duration {
	data, err := os.ReadFile(libs[0])
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	for _, lib := range libs {
		if err := os.WriteFile(lib+".created", data, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(t0)
	for _, lib := range libs {
		os.Remove(lib + ".created")
	}
	return took
}

// BenchmarkMoveIn1000: 1,000 bundles moved into an empty root at once (one rename
// each, as `mv stage/* native/` does), until all are loaded.
func BenchmarkMoveIn1000(b *testing.B) {
	for b.Loop() {
		base := b.TempDir()
		root := filepath.Join(base, ".plugins")
		stage := filepath.Join(base, "stage")
		for i := range 1000 {
			writeBundle(b, filepath.Join(stage, fmt.Sprintf("p%07d", i)), i)
		}
		h := newHost()
		d := start(b, root, h, 100*time.Millisecond)
		h.wait(b, func() bool { return d.State() != nil })
		before := d.Passes()
		t0 := time.Now()
		entries, _ := os.ReadDir(stage)
		for _, e := range entries {
			if err := os.Rename(filepath.Join(stage, e.Name()), filepath.Join(root, "native", e.Name())); err != nil {
				b.Fatal(err)
			}
		}
		h.wait(b, func() bool { return h.count() == 1000 })
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "all-loaded-ms")
		b.ReportMetric(float64(d.Passes()-before), "passes")
	}
}

// BenchmarkFullResync: the time of a full pass (what --resync runs, and SIGHUP) over
// a root of N loaded plugins, nothing changed; the p50 of 15 passes.
func BenchmarkFullResync(b *testing.B) {
	for _, n := range benchSizes(1000, 10000) {
		b.Run(fmt.Sprintf("bundles=%d", n), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), ".plugins")
			for i := range n {
				writeBundle(b, filepath.Join(root, "native", fmt.Sprintf("p%07d", i)), i)
			}
			h := newHost()
			helpers := probe.New(probe.Options{})
			b.Cleanup(func() { helpers.Close() }) // after the daemon stopped
			d := start(b, root, h, 100*time.Millisecond, helpers)
			h.wait(b, func() bool { return h.count() == n })
			// The passes the start asked for finish, and the folders' times (the private
			// copies were made in them) grow older than a full pass's doubt, 2 s: a
			// daemon's resync, a minute apart, finds them so.
			time.Sleep(3 * time.Second)
			var lat []time.Duration
			stop := benchProfile(b, n)
			defer stop()
			for b.Loop() {
				for range 15 {
					p0 := d.Passes()
					d.Rescan()
					h.wait(b, func() bool { return d.Passes() > p0 })
					lat = append(lat, d.LastPass())
				}
			}
			b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "full-pass-ms")
		})
	}
}

// BenchmarkSmokeReload: a library rebuilt in place (cp of another build over it),
// until the host is told it reloaded, with and without --smoke, in the same run: what
// the smoke test adds to a reload.
func BenchmarkSmokeReload(b *testing.B) {
	builds := [2][]byte{kindLibrary(b, 1), nil}
	builds[1] = append(append([]byte(nil), builds[0]...), make([]byte, 4096)...) // another file, same plugin
	for _, smoke := range []bool{false, true} {
		b.Run(fmt.Sprintf("smoke=%v", smoke), func(b *testing.B) {
			root := filepath.Join(b.TempDir(), ".plugins")
			writeBundle(b, filepath.Join(root, "native", "p"), 1)
			lib := filepath.Join(root, "native", "p", "libp.so")
			r := &reloads{host: newHost()}
			d, err := plugwatch.New(plugwatch.Config{Options: reconcile.Options{Root: root}, Host: r, Smoke: smoke})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			defer func() { cancel(); <-done }()
			r.wait(b, func() bool { return r.count() == 1 })
			var lat []time.Duration
			for b.Loop() {
				for i := range 20 {
					time.Sleep(300 * time.Millisecond) // a quiet period before each rebuild
					n := r.n.Load()
					t0 := time.Now()
					if err := os.WriteFile(lib, builds[i%2], 0o755); err != nil {
						b.Fatal(err)
					}
					r.wait(b, func() bool { return r.n.Load() > n })
					lat = append(lat, time.Since(t0))
				}
			}
			b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "reload-p50-ms")
		})
	}
}

// reloads is a host that also counts reloads.
type reloads struct {
	*host
	n atomic.Int64
}

func (r *reloads) Reloaded(_, _ *reconcile.LoadedPlugin) {
	r.n.Add(1)
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// benchSizes returns the root sizes a scaling benchmark runs at: sizes, or those
// listed in $PLUGWATCH_BENCH_SIZES (comma-separated), to run one of them alone.
func benchSizes(sizes ...int) []int {
	env := os.Getenv("PLUGWATCH_BENCH_SIZES")
	if env == "" {
		return sizes
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
