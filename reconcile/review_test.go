package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// A marketplace upgrade whose new library does not load keeps the old version,
// stale (docs/state.md), though the record now names another file.
func TestControllerBrokenUpgradeKeepsOldVersion(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "echo", Description: "v1"}, filepath.Join(root, "bundles", "echo", "1.0.0", "libecho.so"))
	record := filepath.Join(root, "active", "echo.json")
	write(t, record, `{"plugin_id":"echo","version":"1.0.0","node_kind":"echo","kind":"native","entrypoint":".plugins/bundles/echo/1.0.0/libecho.so","installed_at_ms":1}`)
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	plugintest.Install(t, plugintest.Spec{Kind: "echo", ABI: 12}, filepath.Join(root, "bundles", "echo", "2.0.0", "libecho.so"))
	write(t, record, `{"plugin_id":"echo","version":"2.0.0","node_kind":"echo","kind":"native","entrypoint":".plugins/bundles/echo/2.0.0/libecho.so","installed_at_ms":2}`)
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"problem abi_version"}, types(events))
	st := c.State()
	require.Len(t, st.Plugins, 1)
	assert.True(t, st.Plugins[0].Stale)
	assert.Equal(t, "v1", st.Plugins[0].Description)
}

// A bundle whose library resolves into another folder is read again when events come
// from that folder: its last reading is never reused.
func TestControllerSymlinkIntoAnotherFolderIsReadAgain(t *testing.T) {
	root := newRoot(t)
	a := filepath.Join(root, "native", "a")
	plugintest.Install(t, plugintest.Spec{Kind: "a"}, filepath.Join(a, "liba.so"))
	write(t, filepath.Join(a, "plugin.yml"), "id: a\nversion: 1.0.0\nnode_kind: a\nkind: native\nentrypoint: liba.so\n")
	impl := filepath.Join(a, "libbimpl.so")
	plugintest.Install(t, plugintest.Spec{Kind: "b", Description: "v1"}, impl)
	b := filepath.Join(root, "native", "b")
	require.NoError(t, os.MkdirAll(b, 0o755))
	require.NoError(t, os.Symlink("../a/libbimpl.so", filepath.Join(b, "libb.so")))
	write(t, filepath.Join(b, "plugin.yml"), "id: b\nversion: 1.0.0\nnode_kind: b\nkind: native\nentrypoint: libb.so\n")
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	v2, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "b", Description: "v2"}))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(impl, v2, 0o755)) // rebuilt in place
	events, err := c.ReconcileHint(t.Context(), []string{impl})
	require.NoError(t, err)
	assert.Equal(t, []string{"reloaded plugin::native::b"}, types(events))
}

// A pass that ends with its context leaves no probed copy behind, nor does Close.
func TestCancelledPassLeavesNoCopy(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "gain")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libgain.so"))
	ctx, cancel := context.WithCancel(context.Background())
	inner := InProcess(native.DefaultRange())
	c, err := NewController(ControllerOptions{Options: Options{Root: root, Prober: ProberFunc(func(ctx context.Context, p string) (native.Metadata, error) {
		m, err := inner.Probe(ctx, p)
		cancel()
		return m, err
	})}})
	require.NoError(t, err)
	_, err = c.Reconcile(ctx, false)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, c.Close(context.Background()))
	assert.Empty(t, privateCopies(t, dir))
}

// A stale record's library written again within the quiet period keeps its problem:
// no resolved-then-problem flapping.
func TestPendingLibraryKeepsItsProblem(t *testing.T) {
	root := newRoot(t)
	lib := filepath.Join(root, "bundles", "echo", "1.0.0", "libecho.so")
	plugintest.Install(t, plugintest.Spec{Kind: "echo"}, lib)
	record := filepath.Join(root, "active", "echo.json")
	write(t, record, `{"plugin_id":"echo","version":"1.0.0","node_kind":"echo","kind":"native","entrypoint":".plugins/bundles/echo/1.0.0/libecho.so","installed_at_ms":1}`)
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(record, old, old))
	require.NoError(t, os.Chtimes(lib, old, old))
	c, err := NewController(ControllerOptions{Options: Options{Root: root, Quiet: time.Minute}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	plugintest.Truncated(t, plugintest.Spec{Kind: "echo"}, lib, 1000)
	_, err = c.Reconcile(t.Context(), false) // seen changing now: not judged yet
	require.NoError(t, err)
	later := time.Now().Add(2 * time.Minute) // once quiet, it is judged
	c.scan.now = func() time.Time { return later }
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"problem incomplete"}, types(events))
	plugintest.Truncated(t, plugintest.Spec{Kind: "echo"}, lib, 2000) // being written again
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, events)
	st := c.State()
	require.Len(t, st.Plugins, 1)
	assert.True(t, st.Plugins[0].Stale)
	assert.Equal(t, state.Warn, codes(&Desired{Problems: st.Problems})[state.Key{Path: lib, Code: state.Incomplete}])
}
