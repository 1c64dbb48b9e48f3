package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `mv bundle native/`: one signal, naming the folder, and no second one once the new
// folder is watched; SetExtra with the folder, already watched, adds none either.
func TestDropIsOneSignal(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/a/liba.so", "native/b/libb.so")
	native := filepath.Join(root, "native")
	h := start(t, root, quiet, nil)
	h.w.SetExtra([]string{filepath.Join(native, "a"), filepath.Join(native, "b")})
	h.drain(native)
	h.settle()

	src := filepath.Join(t.TempDir(), "gain")
	makeTree(t, src, "libgain.so", "plugin.yml")
	gain := filepath.Join(native, "gain")
	before := h.state()
	require.NoError(t, os.Rename(src, gain))
	s := h.next()
	assert.False(t, s.Full)
	assert.Equal(t, []string{gain}, s.Paths)
	assert.True(t, h.inFsnotify(gain), "the folder is watched before the signal is sent")
	h.w.SetExtra([]string{filepath.Join(native, "a"), filepath.Join(native, "b"), gain})
	h.drain(native)
	assert.Equal(t, 1, h.sentSince(before), "one signal for the drop")
	assert.Empty(t, h.w.C())

	// And it is watched: a change in it is the next signal.
	write(t, filepath.Join(gain, "plugin.yml"))
	assert.Equal(t, []string{filepath.Join(gain, "plugin.yml")}, h.next().Paths)

	// Moved away: the watch is dropped. The kernel reports the move to the folder's own
	// watch too, which may come once the first signal is sent: at most two.
	h.drain(native)
	h.settle() // the write may have sent a second event
	before = h.state()
	require.NoError(t, os.Rename(gain, filepath.Join(t.TempDir(), "gone")))
	assert.Equal(t, []string{gain}, h.next().Paths)
	h.drain(native)
	assert.LessOrEqual(t, h.sentSince(before), 2)
	assert.False(t, h.inFsnotify(gain))
}

// `mkdir native/x && cp lib native/x/`, with the copy landing before the folder's watch
// exists: the one signal for the folder comes after the watch is in place (so the pass
// it starts finds the library), and what is written after the watch sends its own.
func TestWrittenBeforeTheWatchIsSeen(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	native := filepath.Join(root, "native")
	x := filepath.Join(native, "x")
	lib := filepath.Join(x, "libx.so")
	var copied atomic.Bool
	h := start(t, root, quiet, func(_ *Watcher, f *fakeBackend) {
		f.addErr = func(path string) error {
			if path == x && !copied.Load() {
				write(t, lib) // cp, between the mkdir and the watch
				copied.Store(true)
			}
			return nil
		}
	})
	h.settle()
	before := h.state()
	require.NoError(t, os.Mkdir(x, 0o755))
	s := h.next()
	require.True(t, copied.Load(), "the library was copied before the watch was added")
	assert.Equal(t, []string{x}, s.Paths, "the folder's signal, sent once it is watched")
	assert.FileExists(t, lib, "the pass that signal starts finds the library")
	h.drain(native)
	assert.Equal(t, 1, h.sentSince(before), "one signal")

	write(t, filepath.Join(x, "plugin.yml"))
	assert.Equal(t, []string{filepath.Join(x, "plugin.yml")}, h.next().Paths)
}

// A version folder created while the watch of its bundles/<id>/ was being set up is
// watched all the same: the folder is listed once its watch exists.
func TestFolderCreatedWhileParentWatchIsSetUp(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "bundles/")
	id := filepath.Join(root, "bundles", "slint")
	version := filepath.Join(id, "0.6.0")
	h := start(t, root, quiet, func(_ *Watcher, f *fakeBackend) {
		f.addErr = func(path string) error {
			if path == id {
				require.NoError(t, os.MkdirAll(version, 0o755))
			}
			return nil
		}
	})
	require.NoError(t, os.Mkdir(id, 0o755))
	h.next()
	h.eventually("the version folder is watched", func() bool { return h.watching(version) })
	h.settle()
	write(t, filepath.Join(version, "libslint.so"))
	h.next()
}

// A symlink to a bundle folder shares the folder's watch: it is no new watch (no
// signal of its own, no loop), and removing either name leaves the other watched.
func TestSymlinkedFoldersShareAWatch(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/real/")
	native := filepath.Join(root, "native")
	real, link := filepath.Join(native, "real"), filepath.Join(native, "link")
	require.NoError(t, os.Symlink("real", link))
	h := start(t, root, quiet, nil)
	st := h.state().watched
	assert.True(t, st[real] && st[link], "both names are watched")
	assert.True(t, h.inFsnotify(real) != h.inFsnotify(link), "by one watch")

	// Another symlink appears: one signal, for its event.
	h.settle()
	before := h.state()
	other := filepath.Join(native, "other")
	require.NoError(t, os.Symlink("real", other))
	assert.Equal(t, []string{other}, h.next().Paths)
	h.drain(native)
	assert.Equal(t, 1, h.sentSince(before))

	// The first name goes (the one holding the watch): the folder stays watched.
	require.NoError(t, os.Remove(link))
	h.next()
	h.eventually("the link is no longer watched", func() bool { return !h.watching(link) })
	h.drain(native)
	write(t, filepath.Join(real, "libreal.so"))
	h.next()
	assert.True(t, h.inFsnotify(real) || h.inFsnotify(other))
}

// SetExtra applies the difference: folders already watched are only marked, a folder
// outside the layout gets a watch (and counts as a change), and a folder taken out
// loses its watch unless the layout wants it.
func TestSetExtraByDifference(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/a/", "native/b/")
	native := filepath.Join(root, "native")
	a, b := filepath.Join(native, "a"), filepath.Join(native, "b")
	outside := t.TempDir()
	h := start(t, root, quiet, nil)
	h.settle()

	before := h.state()
	h.w.SetExtra([]string{a, b})
	h.drain(native)
	assert.Equal(t, 0, h.sentSince(before), "folders already watched are no change")

	h.w.SetExtra([]string{a, b, outside})
	assert.True(t, h.inFsnotify(outside))
	assert.Equal(t, []string{outside}, h.next().Paths)

	h.w.SetExtra([]string{a})
	st := h.state().watched
	assert.True(t, st[b], "still a bundle folder")
	assert.False(t, st[outside])
	assert.False(t, h.inFsnotify(outside))
	assert.True(t, h.inFsnotify(b))
}

// A folder whose watch fails for another reason than the limit is logged once, tried
// again every second, and counts as a change once it is watched.
func TestFailedWatchIsTriedAgain(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	native := filepath.Join(root, "native")
	locked := filepath.Join(native, "locked")
	var refuse atomic.Bool
	refuse.Store(true)
	var tries atomic.Int32
	h := start(t, root, quiet, func(w *Watcher, f *fakeBackend) {
		w.pollInterval = 5 * time.Millisecond
		f.addErr = func(path string) error {
			if path == locked && refuse.Load() {
				tries.Add(1)
				return fmt.Errorf("add %s: %w", path, syscall.EACCES)
			}
			return nil
		}
	})
	require.NoError(t, os.Mkdir(locked, 0o755))
	assert.Equal(t, []string{locked}, h.next().Paths)
	h.eventually("it is tried again", func() bool { return tries.Load() >= 3 })
	assert.False(t, h.watching(locked))
	h.settle()

	refuse.Store(false)
	assert.Equal(t, []string{locked}, h.next().Paths)
	assert.True(t, h.watching(locked))
	assert.Len(t, h.logs.lines("level=WARN", "cannot watch folder"), 1)
	h.settle()
	write(t, filepath.Join(locked, "liblocked.so"))
	h.next()
}

// An extra folder that appears under a folder standing in for it is watched; it is a
// change only when it holds something.
func TestExtraFolderAppears(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	native := filepath.Join(root, "native")
	base := t.TempDir()
	empty, full := filepath.Join(base, "empty"), filepath.Join(base, "full")
	h := start(t, root, quiet, nil)
	h.w.SetExtra([]string{empty, full})
	assert.True(t, h.watching(base), "the parent stands in")
	h.settle()

	before := h.state()
	require.NoError(t, os.Mkdir(empty, 0o755))
	h.eventually("the empty folder is watched", func() bool { return h.watching(empty) })
	h.drain(native)
	assert.Equal(t, 0, h.sentSince(before))

	src := filepath.Join(t.TempDir(), "full")
	makeTree(t, src, "libfull.so")
	require.NoError(t, os.Rename(src, full))
	assert.Equal(t, []string{full}, h.next().Paths)
	assert.True(t, h.watching(full))
	h.eventually("the parent no longer stands in", func() bool { return !h.watching(base) })
}

// An extra folder replaced by a new one under the same name is watched again.
func TestExtraFolderReplaced(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	extra := filepath.Join(t.TempDir(), "build")
	require.NoError(t, os.Mkdir(extra, 0o755))
	h := start(t, root, quiet, nil)
	h.w.SetExtra([]string{extra})
	h.next()
	h.settle()

	require.NoError(t, os.RemoveAll(extra))
	require.NoError(t, os.Mkdir(extra, 0o755))
	assert.Equal(t, []string{extra}, h.next().Paths, "its going")
	h.eventually("the new folder is watched", func() bool { return h.inFsnotify(extra) && h.watching(extra) })
	h.eventually("the parent no longer stands in", func() bool { return !h.watching(filepath.Dir(extra)) })
	h.settle()
	write(t, filepath.Join(extra, "libgain.so"))
	assert.Equal(t, []string{filepath.Join(extra, "libgain.so")}, h.next().Paths)
}
