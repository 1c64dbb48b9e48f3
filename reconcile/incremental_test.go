package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// These pin down cases a pass that looks only at what changed once got wrong; the
// random comparisons in book_test.go found them.

// A stale plugin keeps its kind and pushes the next claimant aside on every pass,
// also on one asked for by events from elsewhere.
func TestStalePluginKeepsDemotingOnUnrelatedPasses(t *testing.T) {
	root := newRoot(t)
	a := filepath.Join(root, "native", "a", "libp.so")
	b := filepath.Join(root, "native", "b", "libp.so")
	plugintest.Install(t, plugintest.Spec{Kind: "k", Description: "a"}, a)
	plugintest.Install(t, plugintest.Spec{Kind: "k", Description: "b"}, b)
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)

	plugintest.Install(t, plugintest.Spec{Kind: "k", ABI: 12}, a) // a's rebuild fails: a stays, stale
	_, err = c.ReconcileHint(t.Context(), []string{filepath.Dir(a)})
	require.NoError(t, err)
	require.True(t, c.State().Plugins[0].Stale)
	skipped := "skipped plugin::native::k " + b + " conflict " + a
	require.Contains(t, document(c.State()), skipped)

	plugintest.Install(t, plugintest.Spec{Kind: "other"}, filepath.Join(root, "native", "c", "libp.so"))
	_, err = c.ReconcileHint(t.Context(), []string{filepath.Join(root, "native", "c")})
	require.NoError(t, err)
	require.Contains(t, document(c.State()), skipped)
}

// A record that stops parsing keeps its plugin, stale; removing it unloads the
// plugin, though neither version of the record had a claim.
func TestBrokenRecordRemovedUnloadsItsPlugin(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "k"}, filepath.Join(root, "bundles", "a", "2.0.0", "libp.so"))
	record := filepath.Join(root, "active", "a.json")
	write(t, record, `{"plugin_id":"a","version":"2.0.0","node_kind":"k","kind":"native","entrypoint":".plugins/bundles/a/2.0.0/libp.so","installed_at_ms":1}`)
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)

	write(t, record, "{")
	_, err = c.ReconcileHint(t.Context(), []string{record})
	require.NoError(t, err)
	require.True(t, c.State().Plugins[0].Stale)

	require.NoError(t, os.Remove(record))
	_, err = c.ReconcileHint(t.Context(), []string{record})
	require.NoError(t, err)
	require.Empty(t, c.State().Plugins)
}

// A plugin shadowed, then wanted again, is opened again; when that open fails (the
// process is at its memory-mapping limit) it is judged, load_failed, rather than
// waited for until the next full pass.
func TestReopenThatFailsIsJudged(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "k", Description: "local"}, filepath.Join(root, "native", "a", "libp.so"))
	plugintest.Install(t, plugintest.Spec{Kind: "k", Description: "market"}, filepath.Join(root, "bundles", "a", "2.0.0", "libp.so"))
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	record := filepath.Join(root, "active", "a.json")
	write(t, record, `{"plugin_id":"a","version":"2.0.0","node_kind":"k","kind":"native","entrypoint":".plugins/bundles/a/2.0.0/libp.so","installed_at_ms":1}`)
	_, err = c.ReconcileHint(t.Context(), []string{record})
	require.NoError(t, err)
	require.Equal(t, "market", c.State().Plugins[0].Description)

	c.scan.stage.limits.mu.Lock()
	c.scan.stage.limits.maxMaps = func() int { return 1 }
	c.scan.stage.limits.limitAt = time.Time{} // read at the next open
	c.scan.stage.limits.mu.Unlock()
	require.NoError(t, os.Remove(record))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = c.ReconcileHint(ctx, []string{record})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(c.State().Problems, func(p state.Problem) bool { return p.Code == state.LoadFailed }))
}

// A library a process limit refused is load_failed until the next full pass, which
// opens it again though nothing in its folder changed; a pass asked for by events
// from elsewhere leaves it as it is.
func TestFullPassRetriesAProcessLimit(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "k"}, filepath.Join(root, "native", "a", "libp.so"))
	c := newController(t, root, nil)
	c.scan.now = func() time.Time { return time.Now().Add(2 * racy) } // a takes as it was
	limit := func(maxMaps func() int) {
		c.scan.stage.limits.mu.Lock()
		defer c.scan.stage.limits.mu.Unlock()
		c.scan.stage.limits.maxMaps = maxMaps
		c.scan.stage.limits.limitAt = time.Time{} // read at the next open
	}
	failed := func() bool {
		return slices.ContainsFunc(c.State().Problems, func(p state.Problem) bool { return p.Code == state.LoadFailed })
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	limit(func() int { return 1 })
	_, err := c.Reconcile(ctx, false)
	require.NoError(t, err)
	require.Empty(t, c.State().Plugins)
	require.True(t, failed(), "%v", c.State().Problems)

	limit(maxMapCount)
	_, err = c.ReconcileHint(ctx, []string{filepath.Join(root, "native", "b")})
	require.NoError(t, err)
	require.True(t, failed(), "a pass from elsewhere tried it again")
	_, err = c.Reconcile(ctx, true)
	require.NoError(t, err)
	require.Len(t, c.State().Plugins, 1, "%v", c.State().Problems)
	require.False(t, failed())
}
