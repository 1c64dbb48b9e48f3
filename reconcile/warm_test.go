package reconcile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// A full pass reads its bundle folders ahead on several goroutines, and a pass asked
// for by events reads ahead too (warm.go): each folder is still listed once, and
// every one is read whole.
func TestPassListsEachFolderOnce(t *testing.T) {
	root := newRoot(t)
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "gain"}))
	require.NoError(t, err)
	const n = 3 * statsPerWorker // spread over more than one worker
	var dirs []string
	for i := range n {
		dir := filepath.Join(root, "native", fmt.Sprintf("p%04d", i))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "libgain.so"), data, 0o755))
		write(t, filepath.Join(dir, "plugin.yml"), fmt.Sprintf("id: p%04d\nversion: 1.0.%d\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n", i, i))
		dirs = append(dirs, dir)
	}
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	var mu sync.Mutex
	listed := map[string]int{}
	s.readDir = func(dir string) ([]fs.DirEntry, error) {
		mu.Lock()
		listed[dir]++
		mu.Unlock()
		return os.ReadDir(dir)
	}
	d, err := s.Desired(t.Context())
	require.NoError(t, err)
	for _, dir := range dirs {
		assert.Equal(t, 1, listed[dir], "%s listed", dir)
	}
	require.Len(t, d.Plugins, 1)
	assert.Equal(t, "1.0.0", d.Plugins[0].Version) // the first in folder order
	assert.Empty(t, d.Problems)
	skipped := map[string]bool{}
	for _, sk := range d.Skipped {
		skipped[sk.Version] = true
	}
	for i := 1; i < n; i++ {
		assert.True(t, skipped[fmt.Sprintf("1.0.%d", i)], "p%04d not among the skipped", i)
	}

	// Many folders moved in at once, read by the pass their events ask for.
	stage := t.TempDir()
	var moved []string
	for i := n; i < 2*n; i++ {
		name := fmt.Sprintf("p%04d", i)
		from := filepath.Join(stage, name)
		require.NoError(t, os.MkdirAll(from, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(from, "libgain.so"), data, 0o755))
		write(t, filepath.Join(from, "plugin.yml"), fmt.Sprintf("id: %s\nversion: 1.0.%d\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n", name, i))
		to := filepath.Join(root, "native", name)
		require.NoError(t, os.Rename(from, to))
		moved = append(moved, to)
	}
	d, err = s.DesiredHint(t.Context(), moved)
	require.NoError(t, err)
	for _, dir := range append(dirs, moved...) {
		assert.Equal(t, 1, listed[dir], "%s listed", dir)
	}
	require.Len(t, d.Plugins, 1)
	assert.Equal(t, "1.0.0", d.Plugins[0].Version)
	assert.Empty(t, d.Problems)
	assert.Len(t, d.Skipped, 2*n-1)
}
