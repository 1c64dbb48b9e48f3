package watcher

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The backend drains fsnotify at once, so that fsnotify never blocks on a send while
// Run, which has not read yet, calls into it: here nothing reads while 500 events
// arrive, and Add, WatchList and Remove still return; then every event is delivered.
func TestBackendNeverBlocksFsnotify(t *testing.T) {
	dir := t.TempDir()
	b, err := newNotifyBackend()
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Add(dir))
	for i := range 500 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), nil, 0o644))
	}
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Add(sub)
		b.WatchList()
		b.Remove(sub)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("fsnotify is blocked on a send nobody reads")
	}
	created := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(created) < 501 {
		select {
		case ev := <-b.eventC():
			created[ev.Name] = true
		case <-deadline:
			t.Fatalf("%d of 501 events delivered", len(created))
		}
	}
}

// A folder watched under its old name and, renamed, under its new one has one watch
// descriptor: removing both names, one after the other, is no panic (fsnotify's
// issue #652).
func TestRemoveBothNamesOfARenamedFolder(t *testing.T) {
	dir := t.TempDir()
	old, renamed := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	require.NoError(t, os.Mkdir(old, 0o755))
	b, err := newNotifyBackend()
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Add(old))
	require.NoError(t, os.Rename(old, renamed))
	require.NoError(t, b.Add(renamed))
	// Either may be gone already when fsnotify saw the move first; neither panics.
	for _, path := range []string{renamed, old} {
		if err := b.Remove(path); err != nil {
			assert.ErrorIs(t, err, fsnotify.ErrNonExistentWatch, path)
		}
	}
}
