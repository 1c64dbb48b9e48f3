package watcher

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/plugwatch/plugwatch/internal/lockedbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is how long a test waits for something that should happen within milliseconds.
const wait = 30 * time.Second

// syncBuffer collects log output written from Run's goroutine.
type syncBuffer struct{ lockedbuf.Buffer }

// lines returns the logged lines that contain every one of subs.
func (b *syncBuffer) lines(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := l != ""
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// fakeBackend wraps the real fsnotify backend: errs (when set) replaces its error
// channel, and addErr (when set) can make adding a watch fail.
type fakeBackend struct {
	backend
	errs   chan error
	addErr func(path string) error
}

func (f *fakeBackend) Add(path string) error {
	if f.addErr != nil {
		if err := f.addErr(path); err != nil {
			return err
		}
	}
	return f.backend.Add(path)
}

func (f *fakeBackend) errorC() <-chan error {
	if f.errs != nil {
		return f.errs
	}
	return f.backend.errorC()
}

// harness runs a Watcher for one test and stops it at the end of the test.
type harness struct {
	t      *testing.T
	w      *Watcher
	fake   *fakeBackend
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once

	sentinels int
}

// start runs a Watcher on root and waits for its first (Full) signal. setup, when not
// nil, may change the watcher and the fake backend before Run.
func start(t *testing.T, root string, debounce time.Duration, setup func(*Watcher, *fakeBackend)) *harness {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := New(Options{Root: root, Debounce: debounce, Logger: log})
	require.NoError(t, err)
	fake := &fakeBackend{}
	w.newBackend = func() (backend, error) {
		b, err := newNotifyBackend()
		fake.backend = b
		return fake, err
	}
	w.probe = make(chan probeAsk)
	if setup != nil {
		setup(w, fake)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, w: w, fake: fake, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- w.Run(ctx) }()
	t.Cleanup(h.stop)
	require.True(t, h.next().Full, "the first signal is Full")
	return h
}

// stop cancels Run and checks that it returns nil and closes C.
func (h *harness) stop() { h.once.Do(h.doStop) }

func (h *harness) doStop() {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		require.NoError(h.t, err)
	case <-time.After(wait):
		h.t.Fatal("Run did not return after cancel")
	}
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-h.w.C():
			if !ok {
				return
			}
		case <-deadline:
			h.t.Fatal("C was not closed")
		}
	}
}

// next waits for a signal.
func (h *harness) next() Signal {
	h.t.Helper()
	select {
	case s, ok := <-h.w.C():
		require.True(h.t, ok, "C closed")
		return s
	case <-time.After(wait):
		h.t.Fatal("no signal")
	}
	return Signal{}
}

// nextFull waits for a Full signal, skipping others.
func (h *harness) nextFull() {
	h.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case s := <-h.w.C():
			if s.Full {
				return
			}
		case <-deadline:
			h.t.Fatal("no Full signal")
		}
	}
}

// state asks Run for its state between two events.
func (h *harness) state() probeState {
	h.t.Helper()
	reply := make(chan probeState, 1)
	select {
	case h.w.probe <- probeAsk{reply: reply, folders: true}:
		return <-reply
	case <-time.After(wait):
		h.t.Fatal("Run does not answer")
	}
	return probeState{}
}

// eventually waits until cond holds, checking every few milliseconds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func (h *harness) watching(path string) bool { return h.state().watched[path] }

// settle waits until the debouncer holds nothing, then empties C: a later signal comes
// from a later change.
func (h *harness) settle() {
	h.t.Helper()
	h.eventually("the debouncer is idle", func() bool { return !h.state().pending })
	select {
	case <-h.w.C():
	default:
	}
}

// inFsnotify reports whether fsnotify itself still has a watch on path.
func (h *harness) inFsnotify(path string) bool {
	for _, p := range h.fake.WatchList() {
		if p == path {
			return true
		}
	}
	return false
}

// makeTree makes folders (paths ending in /) and files under root.
func makeTree(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			require.NoError(t, os.MkdirAll(full, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(p), 0o644))
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
}

var _ backend = (*fakeBackend)(nil)

// drain waits until Run has handled every event of the changes made so far: it writes
// an ignored file in dir, a watched folder, and waits for its event, which comes after
// theirs; then it waits for the debouncer to be idle. A signal still in C stays there.
func (h *harness) drain(dir string) {
	h.t.Helper()
	h.sentinels++
	sentinel := filepath.Join(dir, fmt.Sprintf(".sentinel-%d", h.sentinels))
	write(h.t, sentinel)
	h.eventually("the sentinel's event is read", func() bool { return h.state().last == sentinel })
	h.eventually("the debouncer is idle", func() bool { return !h.state().pending })
}

// sentSince returns how many signals Run sent since the state before was taken.
func (h *harness) sentSince(before probeState) int { return h.state().sent - before.sent }
