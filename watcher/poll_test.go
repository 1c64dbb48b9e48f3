package watcher

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startPolling runs a Watcher on root that polls every few milliseconds, treating
// folder times older than recent as settled.
func startPolling(t *testing.T, root string, recent time.Duration) *harness {
	return start(t, root, quiet, func(w *Watcher, _ *fakeBackend) {
		w.pollInterval = 2 * time.Millisecond
		w.recentFor = recent
		w.newBackend = func() (backend, error) { return nil, syscall.EMFILE }
	})
}

// passes waits until polling made n more passes.
func (h *harness) passes(n int) {
	h.t.Helper()
	polls := h.state().polls
	h.eventually("more passes", func() bool { return h.state().polls >= polls+n })
}

// calm waits until polling has seen every change made so far (each file is stat'ed
// once in filePasses passes; a file written while a pass looked at it shows twice),
// then empties C.
func (h *harness) calm() {
	h.t.Helper()
	h.passes(2 * filePasses)
	h.settle()
}

// Polling lists a folder only when its own stat changed; files are stat'ed in turn,
// so a file rewritten in place is seen within filePasses passes.
func TestPollingListsOnlyChangedFolders(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/a/liba.so", "native/b/libb.so", "active/")
	native := filepath.Join(root, "native")
	h := startPolling(t, root, 0)
	require.True(t, h.w.Polling())
	h.passes(3) // the file system's clock has moved on since the folders were made
	h.calm()

	lists := h.state().lists
	h.passes(2 * filePasses)
	assert.Equal(t, lists, h.state().lists, "nothing changed: nothing listed")
	assert.Empty(t, h.w.C())

	lib := filepath.Join(native, "a", "liba.so")
	write(t, lib) // in place: the folder's own stat does not change
	assert.Equal(t, []string{lib}, h.next().Paths)
	assert.Equal(t, lists, h.state().lists)

	h.calm()
	c := filepath.Join(native, "c")
	require.NoError(t, os.Mkdir(c, 0o755))
	assert.Equal(t, []string{c}, h.next().Paths)
	assert.True(t, h.watching(c))
	h.calm()
	write(t, filepath.Join(c, "libc.so"))
	assert.Equal(t, []string{filepath.Join(c, "libc.so")}, h.next().Paths)

	// Hidden files and a record's neighbours do not wake it.
	h.calm()
	write(t, filepath.Join(native, "a", ".liba.so.plugwatch-1"))
	write(t, filepath.Join(root, "active", "notes.txt"))
	h.passes(2 * filePasses)
	assert.False(t, h.state().pending)
	assert.Empty(t, h.w.C())

	// rm -r unlinks the library, then the folder: a pass between the two sees the
	// library go first, and the folder in a later signal.
	b := filepath.Join(native, "b")
	require.NoError(t, os.RemoveAll(b))
	var got []string
	for !slices.Contains(got, b) {
		got = append(got, h.next().Paths...)
	}
	for _, p := range got {
		assert.True(t, p == b || p == filepath.Join(b, "libb.so"), "a path outside native/b: %s", p)
	}
	h.eventually("native/b is no longer polled", func() bool { return !h.watching(filepath.Join(native, "b")) })
}

// A folder whose times are recent is listed again on every pass, since a change made
// within the same tick of the file system's clock would leave them as they are.
func TestPollingListsRecentFoldersAgain(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/a/liba.so")
	h := startPolling(t, root, time.Hour)
	lists := h.state().lists
	h.passes(3)
	assert.GreaterOrEqual(t, h.state().lists, lists+3)
}

// The root and its own folders appearing or going while polling is a full rescan.
func TestPollingTopFolders(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	h := startPolling(t, root, 0)
	h.settle()
	require.NoError(t, os.Mkdir(filepath.Join(root, "bundles"), 0o755))
	h.nextFull()
	h.eventually("bundles/ is polled", func() bool { return h.watching(filepath.Join(root, "bundles")) })
	require.NoError(t, os.RemoveAll(filepath.Join(root, "native")))
	h.nextFull()
}

// A folder polled only as the ancestor of a missing extra folder has its entries
// looked at once it is an extra folder itself: a file rewritten in place there is seen.
func TestPollingAncestorBecomesExtra(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "native/")
	base := t.TempDir()
	f := filepath.Join(base, "libf.so")
	write(t, f)
	missing := filepath.Join(base, "x", "y")
	h := startPolling(t, root, 0)
	h.w.SetExtra([]string{missing})
	require.True(t, h.watching(base), "the ancestor stands in")
	h.calm()

	h.w.SetExtra([]string{base, missing})
	assert.Equal(t, []string{base}, h.next().Paths, "its entries were not looked at until now")
	h.calm()
	require.NoError(t, os.WriteFile(f, []byte("rebuilt"), 0o644))
	assert.Equal(t, []string{f}, h.next().Paths)
}
