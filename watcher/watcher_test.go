package watcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const quiet = 20 * time.Millisecond

func TestNewFoldersAreWatched(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/", "active/")
	h := start(t, root, quiet, nil)

	// A folder created in native/, then a file written in it.
	gain := filepath.Join(root, "native", "gain")
	require.NoError(t, os.Mkdir(gain, 0o755))
	h.next()
	h.eventually("native/gain is watched", func() bool { return h.watching(gain) })
	h.settle()
	write(t, filepath.Join(gain, "libgain.so"))
	h.next()

	// A folder moved in with its files.
	src := filepath.Join(t.TempDir(), "moved")
	makeTree(t, src, "libmoved.so", "plugin.yml")
	moved := filepath.Join(root, "native", "moved")
	h.settle()
	require.NoError(t, os.Rename(src, moved))
	h.next()
	h.eventually("native/moved is watched", func() bool { return h.watching(moved) })
	h.settle()
	write(t, filepath.Join(moved, "plugin.yml"))
	h.next()

	// mkdir -p bundles/<id>/<version>/ where bundles/ did not exist.
	version := filepath.Join(root, "bundles", "slint", "0.5.0")
	require.NoError(t, os.MkdirAll(version, 0o755))
	h.next()
	h.eventually("bundles/slint/0.5.0 is watched", func() bool { return h.watching(version) })
	h.settle()
	write(t, filepath.Join(version, "libslint.so"))
	h.next()

	// A record written in active/.
	h.settle()
	write(t, filepath.Join(root, "active", "slint.json"))
	h.next()

	// A folder renamed in place keeps being watched under its new name (inotify watches
	// the inode, and fsnotify drops the old name's watch when it sees the move).
	renamed := filepath.Join(root, "native", "renamed")
	require.NoError(t, os.Rename(moved, renamed))
	h.next()
	h.eventually("native/renamed is watched", func() bool {
		return h.watching(renamed) && h.inFsnotify(renamed) && !h.inFsnotify(moved)
	})
	h.settle()
	write(t, filepath.Join(renamed, "plugin.yml"))
	h.next()

	// A removed folder's watch is dropped, without error.
	require.NoError(t, os.RemoveAll(gain))
	h.next()
	h.eventually("native/gain is no longer watched", func() bool {
		return !h.watching(gain) && !h.inFsnotify(gain)
	})
	assert.Empty(t, h.logs.lines("level=WARN"))
	assert.Empty(t, h.logs.lines("level=ERROR"))
}

func TestFoldersPresentAtStartAreWatched(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root,
		"active/", "native/gain/", "native/.hidden/", "bundles/slint/0.5.0/lib/",
		"bundles/slint/.tmp-123/", "cache/x/", "wasm/")
	h := start(t, root, quiet, nil)
	got := h.state().watched
	want := map[string]bool{}
	for _, p := range []string{"", "active", "native", "native/gain", "bundles", "bundles/slint", "bundles/slint/0.5.0"} {
		want[filepath.Join(root, p)] = true
	}
	assert.Equal(t, want, got)
}

func TestIgnoredNamesDoNotSignal(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/gain/", "bundles/slint/0.5.0/", "active/")
	version := filepath.Join(root, "bundles", "slint", "0.5.0")
	h := start(t, root, quiet, nil)

	ignored := []string{
		filepath.Join(version, ".libslint.so.plugwatch-42"),
		filepath.Join(version, "libslint.so.tmp"),
		filepath.Join(version, ".plugin.yml.swp"),
		filepath.Join(version, "plugin.yml.swp"),
		filepath.Join(version, "plugin.yml~"),
		filepath.Join(root, "native", "gain", ".libgain.so.1234.tmp"),
		filepath.Join(root, "active", "notes.txt"),
		filepath.Join(root, "README"),
	}
	for _, p := range ignored {
		write(t, p)
	}
	require.NoError(t, os.Mkdir(filepath.Join(root, "bundles", "slint", ".tmp-99"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "cache", "dl"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "wasm"), 0o755))
	write(t, filepath.Join(root, "wasm", "x.wasm"))

	// Events arrive in order: once the sentinel's is seen, the others were handled.
	sentinel := filepath.Join(version, "plugin.yml")
	write(t, sentinel)
	h.eventually("the sentinel is seen", func() bool { return len(h.logs.lines("path="+sentinel)) > 0 })
	events := h.logs.lines("watcher: event")
	for _, l := range events {
		assert.Contains(t, l, "path="+sentinel, "only the sentinel's events count")
	}
	assert.NotContains(t, h.state().watched, filepath.Join(root, "cache"))
}

func TestBurstIsCoalesced(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/gain/")
	gain := filepath.Join(root, "native", "gain")
	// A quiet period long enough that a busy machine does not make one inside the burst.
	h := start(t, root, 250*time.Millisecond, nil)
	h.settle()
	before := h.state().sent

	begin := time.Now()
	for i := range 200 {
		write(t, filepath.Join(gain, fmt.Sprintf("file%03d", i)))
	}
	elapsed := time.Since(begin)
	last := filepath.Join(gain, "file199")
	h.eventually("the last write is seen", func() bool { return len(h.logs.lines("path="+last)) > 0 })
	h.settle()

	sent := h.state().sent - before
	// Leading and trailing edge, plus one every max(1 s, debounce) of a long burst, plus
	// a pair each time a busy machine paused the burst (or Run) for a quiet period:
	// far fewer than the writes. The exact counts are the fake-clock tests'.
	most := max(20, 4+int(elapsed/time.Second))
	assert.GreaterOrEqual(t, sent, 1)
	assert.LessOrEqual(t, sent, most, "200 writes in %v", elapsed)
}

func TestFirstEventIsSignalledAtOnce(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	h := start(t, root, time.Hour, nil)
	h.settle()
	src := filepath.Join(t.TempDir(), "gain")
	makeTree(t, src, "libgain.so")
	require.NoError(t, os.Rename(src, filepath.Join(root, "native", "gain")))
	select {
	case <-h.w.C():
	case <-time.After(wait): // far shorter than the hour of debounce
		t.Fatal("the first event was not signalled at once")
	}
}

func TestRootAndNativeRecreated(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, ".plugins")
	native := filepath.Join(root, "native")
	makeTree(t, root, "native/")
	h := start(t, root, quiet, nil)

	require.NoError(t, os.RemoveAll(root))
	h.nextFull()
	h.eventually("the parent stands in for the root", func() bool {
		st := h.state().watched
		return st[parent] && !st[root]
	})
	require.NoError(t, os.MkdirAll(native, 0o755))
	h.nextFull()
	h.eventually("native/ is watched again", func() bool { return h.watching(native) })
	h.settle()
	write(t, filepath.Join(native, "libstray.so"))
	h.next()

	require.NoError(t, os.RemoveAll(native))
	h.nextFull()
	h.eventually("native/ is no longer watched", func() bool { return !h.inFsnotify(native) })
	require.NoError(t, os.Mkdir(native, 0o755))
	h.nextFull()
	h.eventually("native/ is watched again", func() bool { return h.inFsnotify(native) })
	h.settle()
	require.NoError(t, os.Mkdir(filepath.Join(native, "gain"), 0o755))
	h.next()
	h.eventually("native/gain is watched", func() bool { return h.watching(filepath.Join(native, "gain")) })
	assert.False(t, h.watching(parent), "the parent is no longer watched")
}

func TestMissingRootIsPickedUp(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "a", "b", ".plugins")
	h := start(t, root, quiet, nil)
	assert.True(t, h.watching(base))

	require.NoError(t, os.MkdirAll(filepath.Join(root, "native", "gain"), 0o755))
	h.nextFull()
	gain := filepath.Join(root, "native", "gain")
	h.eventually("native/gain is watched", func() bool { return h.watching(gain) })
	h.settle()
	write(t, filepath.Join(gain, "libgain.so"))
	h.next()
}

func TestErrorsAskForFullRescan(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	errs := make(chan error)
	h := start(t, root, quiet, func(_ *Watcher, f *fakeBackend) { f.errs = errs })

	for _, err := range []error{fsnotify.ErrEventOverflow, errors.New("read failed")} {
		h.settle()
		select {
		case errs <- err:
		case <-time.After(wait):
			t.Fatal("Run does not read errors")
		}
		assert.True(t, h.next().Full, "after %v", err)
	}
	assert.Len(t, h.logs.lines("level=WARN", "overflow"), 1)
	assert.False(t, h.w.Polling())
}

func TestWatchLimitFallsBackToPolling(t *testing.T) {
	for _, at := range []string{"start", "later"} {
		t.Run(at, func(t *testing.T) {
			root := t.TempDir()
			makeTree(t, root, "native/gain/")
			gain := filepath.Join(root, "native", "gain")
			h := start(t, root, quiet, func(w *Watcher, f *fakeBackend) {
				w.pollInterval = 5 * time.Millisecond
				f.addErr = func(path string) error {
					if at == "start" && path == gain || at == "later" && filepath.Base(path) == "late" {
						return fmt.Errorf("add %s: %w", path, syscall.ENOSPC)
					}
					return nil
				}
			})
			if at == "later" {
				assert.False(t, h.w.Polling())
				require.NoError(t, os.Mkdir(filepath.Join(root, "native", "late"), 0o755))
				h.nextFull()
			}
			require.True(t, h.w.Polling())
			h.eventually("polling covers native/gain", func() bool { return h.watching(gain) })
			h.settle()

			write(t, filepath.Join(gain, "libgain.so"))
			h.next()
			require.NoError(t, os.Mkdir(filepath.Join(gain, "more"), 0o755))
			h.next()

			// Hidden files do not wake it: two whole passes after the write, nothing.
			h.settle()
			write(t, filepath.Join(gain, ".libgain.so.plugwatch-7"))
			write(t, filepath.Join(gain, "x.tmp"))
			polls := h.state().polls
			h.eventually("two more passes", func() bool { return h.state().polls >= polls+2 })
			st := h.state()
			assert.False(t, st.pending)
			assert.Empty(t, h.w.C())

			lines := h.logs.lines("level=ERROR")
			require.Len(t, lines, 1, "one error line")
			assert.Contains(t, lines[0], "fs.inotify.max_user_watches")
		})
	}
}

func TestNotificationsUnavailable(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	h := start(t, root, quiet, func(w *Watcher, _ *fakeBackend) {
		w.pollInterval = 5 * time.Millisecond
		w.newBackend = func() (backend, error) { return nil, syscall.EMFILE }
	})
	require.True(t, h.w.Polling())
	h.settle()
	write(t, filepath.Join(root, "native", "libstray.so"))
	h.next()
	assert.Len(t, h.logs.lines("level=ERROR"), 1)
}

func TestExtraFolders(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	one, two := t.TempDir(), t.TempDir()
	h := start(t, root, quiet, nil)

	h.w.SetExtra([]string{one})
	assert.True(t, h.watching(one))
	h.settle()
	write(t, filepath.Join(one, "libgain.so"))
	h.next()
	h.settle()
	// A private copy's name is dropped before debouncing: written before a sentinel
	// that is seen, it was read and never logged as an event.
	write(t, filepath.Join(one, ".libgain.so.plugwatch-1"))
	early := filepath.Join(one, "libearly.so")
	write(t, early)
	h.eventually("the first sentinel is seen", func() bool { return len(h.logs.lines("path="+early)) > 0 })
	h.settle()
	seen := len(h.logs.lines("watcher: event", "path="+one))

	h.w.SetExtra([]string{two})
	st := h.state()
	assert.False(t, st.watched[one])
	assert.True(t, st.watched[two])
	assert.False(t, h.inFsnotify(one))
	h.settle()
	write(t, filepath.Join(one, "libgain.so"))
	sentinel := filepath.Join(two, "libother.so")
	write(t, sentinel)
	h.eventually("the sentinel is seen", func() bool { return len(h.logs.lines("path="+sentinel)) > 0 })
	for _, l := range h.logs.lines("watcher: event") {
		assert.NotContains(t, l, "plugwatch-1")
	}
	assert.Len(t, h.logs.lines("watcher: event", "path="+one), seen, "no event once it is no longer watched")

	// A missing extra folder is picked up when it appears.
	later := filepath.Join(two, "target", "release")
	h.w.SetExtra([]string{later})
	assert.True(t, h.watching(two), "its nearest parent stands in")
	require.NoError(t, os.MkdirAll(later, 0o755))
	h.eventually("the folder is watched", func() bool { return h.watching(later) })
	h.settle()
	write(t, filepath.Join(later, "libgain.so"))
	h.next()
}

func TestSetExtraOutsideRun(t *testing.T) {
	root := t.TempDir()
	extra := t.TempDir()
	w, err := New(Options{Root: root})
	require.NoError(t, err)
	w.SetExtra([]string{extra, extra, ""}) // before Run: kept
	assert.Equal(t, []string{extra}, w.extras)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-w.C()
	cancel()
	require.NoError(t, <-done)
	_, open := <-w.C()
	assert.False(t, open, "C is closed")
	w.SetExtra([]string{root}) // after Run: returns
	assert.Error(t, w.Run(context.Background()), "Run runs once")
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := New(Options{})
	assert.Error(t, err)
	_, err = New(Options{Root: "x", Debounce: -time.Second})
	assert.Error(t, err)
	w, err := New(Options{Root: "rel"})
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(w.root))
	assert.Equal(t, DefaultDebounce, w.debounce)
}

func TestRunStopsOnCancel(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/gain/", "bundles/a/1/")
	h := start(t, root, time.Hour, nil)
	write(t, filepath.Join(root, "native", "gain", "libgain.so"))
	write(t, filepath.Join(root, "native", "gain", "plugin.yml"))
	h.eventually("a signal is held", func() bool { return h.state().pending })
	h.stop() // Run returns with the trailing timer armed; goleak checks nothing is left
}
