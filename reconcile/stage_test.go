package reconcile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/probe"
)

// The probe helpers' pool probes a batch in one helper that has exited when it
// returns: the stage uses it so.
var _ batchProber = (*probe.Prober)(nil)

// A symlink swapped between the pass that saw its target and the copy: the copy is
// of another file than the one the pass judged, so it is "changed", never probed or
// opened on the earlier identity. A FIFO is never read.
func TestCopyIsOfTheIdentityThePassSaw(t *testing.T) {
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.so"), filepath.Join(dir, "good.so")
	require.NoError(t, os.WriteFile(bad, []byte("bad library bytes"), 0o755))
	require.NoError(t, os.WriteFile(good, []byte("good library bytes, longer"), 0o755))
	link := filepath.Join(dir, "libx.so")
	require.NoError(t, os.Symlink(bad, link))
	seen, err := pathIdentity(link) // the pass saw bad.so
	require.NoError(t, err)
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Symlink(good, link)) // swapped before the copy
	cp := &copier{pid: os.Getpid()}
	_, err = cp.copy(link, seen)
	require.ErrorIs(t, err, errChanged)
	assert.Empty(t, privateCopies(t, dir))

	// Swapped back: the copy is of bad.so, the file the pass saw.
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Symlink(bad, link))
	p, err := cp.copy(link, seen)
	require.NoError(t, err)
	data, err := os.ReadFile(p.path)
	require.NoError(t, err)
	assert.Equal(t, "bad library bytes", string(data))
	p.remove()

	fifo := filepath.Join(dir, "libfifo.so")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	_, err = cp.copy(fifo, Identity{})
	require.ErrorIs(t, err, errNotRegular, "a FIFO is refused at once, never read")
}

// A close stuck behind the loader and detached: the closes after it run, in order,
// and when the stuck one returns its goroutine ends without running any other.
func TestCloseQueueDetach(t *testing.T) {
	var q closeQueue
	stuck, entered := make(chan struct{}), make(chan struct{})
	ran := make(chan int, 3)
	q.add(func() { close(entered); <-stuck; ran <- 0 })
	<-entered
	q.add(func() { ran <- 1 })
	q.detach()
	q.add(func() { ran <- 2 })
	assert.Equal(t, 1, <-ran)
	assert.Equal(t, 2, <-ran)
	close(stuck)
	assert.Equal(t, 0, <-ran)
	q.mu.Lock()
	defer q.mu.Unlock()
	assert.Empty(t, q.queue)
}
