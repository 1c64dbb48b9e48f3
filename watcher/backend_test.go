package watcher

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
