//go:build unix

package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The watcher's cost as the number of bundle folders grows:
//
//	go test ./watcher/ -run '^$' -bench . -benchtime 50x
//
// BenchmarkDrop moves one bundle folder into native/ beside n others, as `mv bundle
// native/` does, then hands the watcher the n+1 folders with SetExtra, as the daemon does
// after its pass. signal-ns is the time from the rename to the signal on C; setextra-ns
// the time SetExtra takes; cpu-ns the CPU the process spends from the rename until the
// watcher is idle again (nothing held by the debouncer); signals how many signals the drop
// caused. BenchmarkBulkMove moves n folders in at once and measures until all are watched.
// BenchmarkPoll measures one pass of the polling fallback (the backend refuses every
// watch, as when the inotify limit is reached): cpu-ns/poll is the CPU it costs each
// second.

// benchQuiet is the benchmarks' debounce.
const benchQuiet = 20 * time.Millisecond

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bundles makes n bundle folders (a library and a manifest each) in dir and returns them.
func bundles(b *testing.B, dir, prefix string, n int) []string {
	b.Helper()
	out := make([]string, n)
	for i := range out {
		d := filepath.Join(dir, fmt.Sprintf("%s%05d", prefix, i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, f := range []string{"libgain.so", "plugin.yml"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(f), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		out[i] = d
	}
	return out
}

// benchWatcher runs a Watcher on root for the benchmark; setup may change it before Run.
func benchWatcher(b *testing.B, root string, setup func(*Watcher, *fakeBackend)) *Watcher {
	b.Helper()
	w, err := New(Options{Root: root, Debounce: benchQuiet})
	if err != nil {
		b.Fatal(err)
	}
	fake := &fakeBackend{}
	w.newBackend = func() (backend, error) {
		nb, err := newNotifyBackend()
		fake.backend = nb
		return fake, err
	}
	w.probe = make(chan probeAsk)
	if setup != nil {
		setup(w, fake)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-w.C():
	case <-time.After(time.Minute):
		b.Fatal("no first signal")
	}
	return w
}

// benchState asks Run for its state, and whether path is watched.
func benchState(b *testing.B, w *Watcher, path string) probeState {
	reply := make(chan probeState, 1)
	select {
	case w.probe <- probeAsk{reply: reply, path: path}:
		return <-reply
	case <-time.After(time.Minute):
		b.Fatal("Run does not answer")
	}
	return probeState{}
}

// benchSettle waits until the debouncer holds nothing, then empties C.
func benchSettle(b *testing.B, w *Watcher, every time.Duration) {
	deadline := time.Now().Add(time.Minute)
	for benchState(b, w, "").pending {
		if time.Now().After(deadline) {
			b.Fatal("the watcher does not settle")
		}
		time.Sleep(every)
	}
	select {
	case <-w.C():
	default:
	}
}

func BenchmarkDrop(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("bundles=%d", n), func(b *testing.B) {
			root := b.TempDir()
			native := filepath.Join(root, "native")
			base := bundles(b, native, "b", n)
			incoming := bundles(b, b.TempDir(), "new", 1)[0]
			dropped := filepath.Join(native, "zz-new")
			w := benchWatcher(b, root, nil)
			w.SetExtra(base)
			with := append(append([]string(nil), base...), dropped)
			benchSettle(b, w, time.Millisecond)
			time.Sleep(2 * benchQuiet)

			var signal, setExtra, cpu time.Duration
			signals := 0
			b.ResetTimer()
			for range b.N {
				sent := benchState(b, w, "").sent
				cpu0 := cpuTime(b)
				t0 := time.Now()
				if err := os.Rename(incoming, dropped); err != nil {
					b.Fatal(err)
				}
				<-w.C()
				signal += time.Since(t0)
				t1 := time.Now()
				w.SetExtra(with)
				setExtra += time.Since(t1)
				benchSettle(b, w, time.Millisecond)
				cpu += cpuTime(b) - cpu0
				signals += benchState(b, w, "").sent - sent

				b.StopTimer()
				if err := os.Rename(dropped, incoming); err != nil {
					b.Fatal(err)
				}
				w.SetExtra(base)
				for benchState(b, w, dropped).has {
					time.Sleep(time.Millisecond)
				}
				benchSettle(b, w, time.Millisecond)
				time.Sleep(2 * benchQuiet) // so that the next drop is signalled at once
				b.StartTimer()
			}
			b.ReportMetric(float64(signal.Nanoseconds())/float64(b.N), "signal-ns/drop")
			b.ReportMetric(float64(setExtra.Nanoseconds())/float64(b.N), "setextra-ns/drop")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/drop")
			b.ReportMetric(float64(signals)/float64(b.N), "signals/drop")
		})
	}
}

func BenchmarkBulkMove(b *testing.B) {
	const n = 1000
	root := b.TempDir()
	native := filepath.Join(root, "native")
	if err := os.MkdirAll(native, 0o755); err != nil {
		b.Fatal(err)
	}
	outside := bundles(b, b.TempDir(), "b", n)
	inside := make([]string, n)
	for i, d := range outside {
		inside[i] = filepath.Join(native, filepath.Base(d))
	}
	w := benchWatcher(b, root, nil)
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		cpu0 := cpuTime(b)
		for i := range outside {
			if err := os.Rename(outside[i], inside[i]); err != nil {
				b.Fatal(err)
			}
		}
		w.SetExtra(inside)
		for !benchState(b, w, inside[n-1]).has {
			time.Sleep(5 * time.Millisecond)
		}
		benchSettle(b, w, 5*time.Millisecond)
		cpu += cpuTime(b) - cpu0

		b.StopTimer()
		for i := range outside {
			if err := os.Rename(inside[i], outside[i]); err != nil {
				b.Fatal(err)
			}
		}
		w.SetExtra(nil)
		for benchState(b, w, inside[0]).has {
			time.Sleep(5 * time.Millisecond)
		}
		benchSettle(b, w, 5*time.Millisecond)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkPoll(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("folders=%d", n), func(b *testing.B) {
			root := b.TempDir()
			dirs := bundles(b, filepath.Join(root, "native"), "b", n)
			w := benchWatcher(b, root, func(w *Watcher, f *fakeBackend) {
				w.pollInterval = time.Millisecond // back to back: CPU per pass
				f.addErr = func(path string) error {
					return fmt.Errorf("add %s: %w", path, syscall.ENOSPC)
				}
			})
			if !w.Polling() {
				b.Fatal("not polling")
			}
			w.SetExtra(dirs)
			// Folders changed in the last seconds are listed again on every pass, since
			// a change within the same tick of the file system's clock would not show in
			// their times: measure the steady state of folders that were made earlier.
			time.Sleep(3 * time.Second)
			polls := benchState(b, w, "").polls
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for benchState(b, w, "").polls < polls+b.N {
				time.Sleep(20 * time.Millisecond)
			}
			cpu := cpuTime(b) - cpu0
			b.StopTimer()
			done := benchState(b, w, "").polls - polls
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(done), "cpu-ns/poll")
		})
	}
}
