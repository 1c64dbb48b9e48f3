package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/state"
)

// recorder is a Host that records what it is told.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }
func (r *recorder) Loaded(p *LoadedPlugin) {
	r.add("loaded " + p.Info().Kind + " " + p.Metadata().Description)
}
func (r *recorder) Reloaded(old, new *LoadedPlugin) {
	r.add("reloaded " + new.Info().Kind + " " + old.Metadata().Description + " -> " + new.Metadata().Description)
}
func (r *recorder) Unloaded(p *LoadedPlugin) { r.add("unloaded " + p.Info().Kind) }

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

var _ Host = (*recorder)(nil)

func types(events []state.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, string(e.Type)+" "+e.Kind+string(e.Code))
	}
	return out
}

func newController(t *testing.T, root string, host Host) *Controller {
	t.Helper()
	c, err := NewController(ControllerOptions{Options: Options{Root: root}, Host: host})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close(context.Background())) })
	return c
}

func privateCopies(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := layout.CopyOwner(e.Name()); ok {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestControllerLoadReloadUnload(t *testing.T) {
	root := newRoot(t)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "v1"}, lib)
	host := &recorder{}
	c := newController(t, root, host)

	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"loaded plugin::native::gain", "problem no_manifest"}, types(events))
	assert.Equal(t, []string{"loaded plugin::native::gain v1"}, host.take())
	st := c.State()
	assert.EqualValues(t, 1, st.Generation)
	require.Len(t, st.Plugins, 1)
	assert.Equal(t, lib, st.Plugins[0].Library)
	assert.Len(t, privateCopies(t, filepath.Dir(lib)), 1, "one private copy beside the library")

	// Nothing changed: no event, same generation.
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, events)
	assert.EqualValues(t, 1, c.State().Generation)

	// The manifest's version changes, the library does not: no event, but the
	// document changed, so it is a new generation.
	write(t, filepath.Join(filepath.Dir(lib), "plugin.yml"), "id: gain\nversion: 1.0.1\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n")
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"resolved no_manifest"}, types(events))
	assert.EqualValues(t, 2, c.State().Generation)
	assert.Equal(t, "1.0.1", c.State().Plugins[0].Version)
	write(t, filepath.Join(filepath.Dir(lib), "plugin.yml"), "id: gain\nversion: 1.0.2\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n")
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, events)
	assert.EqualValues(t, 3, c.State().Generation)
	assert.Equal(t, "1.0.2", c.State().Plugins[0].Version)

	// Rebuilt in place (cp over the file): reloaded, make-before-break.
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "v2"}))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"reloaded plugin::native::gain"}, types(events))
	assert.Equal(t, []string{"reloaded plugin::native::gain v1 -> v2"}, host.take())
	assert.EqualValues(t, 4, c.State().Generation)
	assert.Eventually(t, func() bool { return len(privateCopies(t, filepath.Dir(lib))) == 1 }, 30*time.Second, time.Millisecond,
		"the old copy is removed once closed (in the background)")

	// Removed: unloaded.
	require.NoError(t, os.RemoveAll(filepath.Dir(lib)))
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"unloaded plugin::native::gain"}, types(events))
	assert.Empty(t, c.State().Plugins)
}

// The first reconcile publishes what generation 1 holds, as changes from nothing,
// however its passes came to it: here b's probe finishes before a's (whose
// constructor is slow), so b is loaded first and then pushed aside by a, which
// sorts first. The host is told each of those; the events say only that a loaded
// and b was skipped, once each.
func TestControllerFirstReconcileEvents(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "vad", Description: "a", SlowMs: 500}, filepath.Join(root, "native", "a", "libvad.so"))
	plugintest.Install(t, plugintest.Spec{Kind: "vad", Description: "b"}, filepath.Join(root, "native", "b", "libvad.so"))
	host := &recorder{}
	c := newController(t, root, host)
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"loaded plugin::native::vad", "skipped plugin::native::vad", "problem no_manifest", "problem no_manifest"}, types(events))
	for _, e := range events {
		assert.EqualValues(t, 1, e.Generation)
	}
	assert.Equal(t, filepath.Join(root, "native", "a", "libvad.so"), events[0].Library)
	// Whether b was loaded first depends on which helper probed which library.
	if told := host.take(); len(told) == 1 {
		assert.Equal(t, []string{"loaded plugin::native::vad a"}, told)
	} else {
		assert.Equal(t, []string{"loaded plugin::native::vad b", "unloaded plugin::native::vad", "loaded plugin::native::vad a"}, told)
	}
}

func TestControllerBrokenRebuildKeepsOldVersion(t *testing.T) {
	root := newRoot(t)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "v1"}, lib)
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)

	for _, broken := range []plugintest.Spec{{Kind: "gain", ABI: 12}, {NullKind: true}, {Kind: "gain", Bad: "null_pin_name"}} {
		plugintest.Install(t, broken, lib)
		_, err = c.Reconcile(t.Context(), false)
		require.NoError(t, err)
		st := c.State()
		require.Len(t, st.Plugins, 1, broken)
		assert.True(t, st.Plugins[0].Stale, broken)
		assert.Equal(t, "v1", st.Plugins[0].Description)
	}
	// A truncated rebuild too (it is judged at once: no quiet period here).
	plugintest.Truncated(t, plugintest.Spec{Kind: "gain"}, lib, 1000)
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Contains(t, types(events), "problem incomplete")
	assert.True(t, c.State().Plugins[0].Stale)

	// Fixed: reloaded, no longer stale.
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "v3"}, lib)
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Contains(t, types(events), "reloaded plugin::native::gain")
	assert.False(t, c.State().Plugins[0].Stale)
	assert.Equal(t, "v3", c.State().Plugins[0].Description)

	// Deleted: unloaded, never stale.
	require.NoError(t, os.Remove(lib))
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, c.State().Plugins)
}

func TestControllerShadowedTakesOver(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "local"}, filepath.Join(root, "native", "gain", "libgain.so"))
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "market"}, filepath.Join(root, "bundles", "gain", "2.0.0", "libgain.so"))
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, "local", c.State().Plugins[0].Description)

	record := filepath.Join(root, "active", "gain.json")
	write(t, record, `{"plugin_id":"gain","version":"2.0.0","node_kind":"gain","kind":"native","entrypoint":".plugins/bundles/gain/2.0.0/libgain.so","installed_at_ms":1}`)
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"unloaded plugin::native::gain", "loaded plugin::native::gain", "skipped plugin::native::gain", "problem version_diverged"}, types(events))
	assert.Equal(t, "market", c.State().Plugins[0].Description)

	// The marketplace library breaks: it stays, stale, and still shadows the local
	// bundle, which the warning still names.
	market := filepath.Join(root, "bundles", "gain", "2.0.0", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", ABI: 12}, market)
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"problem abi_version"}, types(events))
	st := c.State()
	require.Len(t, st.Plugins, 1)
	assert.True(t, st.Plugins[0].Stale)
	assert.Equal(t, state.Shadowed, st.Skipped[0].Reason)
	assert.Equal(t, state.Warn, codes(&Desired{Problems: st.Problems})[state.Key{Path: filepath.Join(root, "native", "gain", "libgain.so"), Code: state.VersionDiverged}])
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "market"}, market)
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)

	require.NoError(t, os.Remove(record))
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"unloaded plugin::native::gain", "loaded plugin::native::gain", "resolved version_diverged"}, types(events))
	assert.Equal(t, "local", c.State().Plugins[0].Description)
}

func TestControllerQuietPeriod(t *testing.T) {
	root := newRoot(t)
	c, err := NewController(ControllerOptions{Options: Options{Root: root, Quiet: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	// A library still being written, in a folder without its manifest yet: not judged.
	// (Young is when plugwatch saw the file change, so it appears after a first pass.)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Truncated(t, plugintest.Spec{Kind: "gain"}, lib, 2000)
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, events, "nothing judged yet, no problem")
	assert.False(t, c.RetryAt().IsZero())
	// Once quiet (the clock moves past the quiet period), it is judged.
	c.scan.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	events, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.Contains(t, types(events), "problem incomplete")
}

func TestUnloadWaitsForRelease(t *testing.T) {
	root := newRoot(t)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, lib)
	var held *LoadedPlugin
	host := &acquirer{got: func(p *LoadedPlugin) { held = p }}
	c := newController(t, root, host)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	require.NotNil(t, held)

	require.NoError(t, os.RemoveAll(filepath.Dir(lib)))
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	select {
	case <-held.Done():
		t.Fatal("closed while the host still holds it")
	default:
	}
	assert.NotZero(t, held.API(), "the API table is still mapped")
	assert.False(t, held.Acquire(), "an unloaded plugin cannot be acquired again")
	held.Release()
	<-held.Done()
}

type acquirer struct{ got func(*LoadedPlugin) }

func (a *acquirer) Loaded(p *LoadedPlugin) {
	if p.Acquire() {
		a.got(p)
	}
}
func (a *acquirer) Reloaded(old, new *LoadedPlugin) {}
func (a *acquirer) Unloaded(p *LoadedPlugin)        {}

func TestLeftoverCopiesOfDeadProcessesAreRemoved(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "gain")
	// pid 1 runs (init); a pid beyond pid_max does not.
	live := filepath.Join(dir, ".libgain.so.plugwatch-1-1")
	dead := filepath.Join(dir, ".libgain.so.plugwatch-999999999-3")
	other := filepath.Join(dir, ".libgain.so.swp")
	for _, p := range []string{live, dead, other} {
		write(t, p, "x")
	}
	newController(t, root, nil)
	assert.FileExists(t, live)
	assert.NoFileExists(t, dead)
	assert.FileExists(t, other)
}

func TestControllerBrokenManifestOrRecordKeepsPluginStale(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "gain")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libgain.so"))
	write(t, filepath.Join(dir, "plugin.yml"), "id: gain\nversion: 1.0.0\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n")
	plugintest.Install(t, plugintest.Spec{Kind: "echo"}, filepath.Join(root, "bundles", "echo", "1.0.0", "libecho.so"))
	record := filepath.Join(root, "active", "echo.json")
	write(t, record, `{"plugin_id":"echo","version":"1.0.0","node_kind":"echo","kind":"native","entrypoint":".plugins/bundles/echo/1.0.0/libecho.so","installed_at_ms":1}`)
	c := newController(t, root, nil)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	require.Len(t, c.State().Plugins, 2)

	write(t, filepath.Join(dir, "plugin.yml"), "id: [gain\n")
	write(t, record, `{"plugin_id":"echo",`)
	events, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"problem bad_manifest", "problem bad_record"}, types(events))
	st := c.State()
	require.Len(t, st.Plugins, 2)
	assert.True(t, st.Plugins[0].Stale)
	assert.True(t, st.Plugins[1].Stale)

	// The record removed: not stale any more, unloaded.
	require.NoError(t, os.Remove(record))
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	st = c.State()
	require.Len(t, st.Plugins, 1)
	assert.Equal(t, "plugin::native::gain", st.Plugins[0].Kind)
}

func TestLeftoverMirrorsOfDeadProcessesAreRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ours := filepath.Join(tmp, "plugwatch-999999999-123")
	write(t, filepath.Join(ours, ".libgain.so.plugwatch-999999999-1"), "x")
	notOurs := filepath.Join(tmp, "plugwatch-999999999-456")
	write(t, filepath.Join(notOurs, "notes.txt"), "a user's file")
	newController(t, newRoot(t), nil)
	assert.NoDirExists(t, ours)
	assert.FileExists(t, filepath.Join(notOurs, "notes.txt"))
}
