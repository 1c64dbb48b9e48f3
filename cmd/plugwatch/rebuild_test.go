package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// These tests do to a running daemon what real build tools do, and assert the exact
// events a user (an SSE client) sees: one line per change the user made.

// waitEvents waits until at least n events arrived and returns their types.
func (ev *events) waitEvents(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(ev.types()) >= n }, deadline, time.Millisecond,
		"fewer than %d events: %v", n, ev.types())
	return ev.types()
}

// errorLines returns the daemon's log lines at level ERROR.
func (d *daemon) errorLines() []string {
	var out []string
	for _, line := range strings.Split(d.log.String(), "\n") {
		var rec struct{ Level string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "ERROR" {
			out = append(out, line)
		}
	}
	return out
}

// rebuilds runs build for builds 1 to n of the gain plugin, one after the other, and
// checks that each is exactly one more reloaded event, and no error line at the end.
func (d *daemon) rebuilds(t *testing.T, ev *events, n int, build func(desc string) *exec.Cmd) {
	t.Helper()
	var want []string
	for i := 1; i <= n; i++ {
		desc := fmt.Sprintf("build %d", i)
		msg, err := build(desc).CombinedOutput()
		require.NoError(t, err, "%s", msg)
		d.waitFor(desc, loadedWith("plugin::native::gain", desc))
		want = append(want, "reloaded plugin::native::gain")
		assert.Equal(t, want, ev.waitEvents(t, i), "after %s\n%s", desc, d.log)
	}
	assert.Empty(t, d.errorLines(), "%s", d.log)
}

// gainBundle makes native/gain/ with a manifest and the library of spec.
func gainBundle(t *testing.T, root string, spec plugintest.Spec) string {
	t.Helper()
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, spec, lib)
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	return lib
}

// A linker deletes its output before it writes the new one: one reloaded event,
// never unloaded, loaded or missing_library on the way, however long the gap.
func TestRunUnlinkThenWriteIsOneReload(t *testing.T) {
	root := newRoot(t)
	lib := gainBundle(t, root, plugintest.Spec{Kind: "gain", Description: "v1"})
	// The quiet period is long enough for this test's own gap between the two steps
	// on a busy machine; a linker's gap is a fraction of a millisecond.
	d := startDaemon(t, root, "--debounce", "3s")
	ev := d.subscribe()
	d.waitFor("v1", loadedWith("plugin::native::gain", "v1"))
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "v2"}))
	require.NoError(t, err)
	passes := d.reconciles()
	require.NoError(t, os.Remove(lib))
	// The daemon sees the library gone before the new one comes (not a sleep to
	// synchronise: it waits for the pass that saw the deletion).
	require.Eventually(t, func() bool { return d.reconciles() > passes }, deadline, time.Millisecond)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	d.waitFor("v2", loadedWith("plugin::native::gain", "v2"))
	assert.Equal(t, []string{"reloaded plugin::native::gain"}, ev.waitEvents(t, 1))
	assert.Empty(t, d.errorLines(), "%s", d.log)
}

// `cc -o native/gain/libgain.so` straight into the bundle folder, five times, of a
// 16 MiB library: five reloads.
func TestRunCompilerOutputIntoTheBundle(t *testing.T) {
	root := newRoot(t)
	const pad = 16 << 20
	lib := gainBundle(t, root, plugintest.Spec{Kind: "gain", Description: "build 0", PadBytes: pad})
	d := startDaemon(t, root)
	ev := d.subscribe()
	d.waitFor("build 0", loadedWith("plugin::native::gain", "build 0"))
	d.rebuilds(t, ev, 5, func(desc string) *exec.Cmd {
		return plugintest.CompileCommand(t, plugintest.Spec{Kind: "gain", Description: desc, PadBytes: pad}, lib)
	})
}

// A symlinked build output in a --trust folder, rebuilt five times by the compiler
// (whose linker deletes the output, then writes it): every build is seen at once
// (no resync), as one reload.
func TestRunTrustedSymlinkRebuiltFiveTimes(t *testing.T) {
	root := newRoot(t)
	target := filepath.Join(t.TempDir(), "src", "gain", "target", "release")
	out := plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "build 0"}, filepath.Join(target, "libgain.so"))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native", "gain"), 0o755))
	require.NoError(t, os.Symlink(out, filepath.Join(root, "native", "gain", "libgain.so")))
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	d := startDaemon(t, root, "--trust", filepath.Dir(filepath.Dir(target)), "--resync", "0")
	ev := d.subscribe()
	d.waitFor("build 0", loadedWith("plugin::native::gain", "build 0"))
	d.rebuilds(t, ev, 5, func(desc string) *exec.Cmd {
		return plugintest.CompileCommand(t, plugintest.Spec{Kind: "gain", Description: desc}, out)
	})
}

// cp of a 16 MiB build over a loaded library, ten times: ten reloads, no problem
// event and no error line.
func TestRunLargeCopyOverLoadedLibrary(t *testing.T) {
	root := newRoot(t)
	const pad = 16 << 20
	lib := gainBundle(t, root, plugintest.Spec{Kind: "gain", Description: "build 0", PadBytes: pad})
	d := startDaemon(t, root)
	ev := d.subscribe()
	d.waitFor("build 0", loadedWith("plugin::native::gain", "build 0"))
	d.rebuilds(t, ev, 10, func(desc string) *exec.Cmd {
		return exec.Command("cp", plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: desc, PadBytes: pad}), lib)
	})
}

// rm -r of a loaded bundle of 200 files, caught half-way by the daemon: only
// unloaded, never no_manifest or missing_library on the way.
func TestRunRemoveManyFilesIsOneUnload(t *testing.T) {
	root := newRoot(t)
	lib := gainBundle(t, root, plugintest.Spec{Kind: "gain"})
	dir := filepath.Dir(lib)
	for i := range 198 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("asset-%03d.txt", i)), "data")
	}
	d := startDaemon(t, root)
	ev := d.subscribe()
	d.waitFor("loaded", loadedWith("plugin::native::gain", ""))
	msg, err := exec.Command("rm", "-r", dir).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	d.waitFor("unloaded", gone("plugin::native::gain"))
	assert.Equal(t, []string{"unloaded plugin::native::gain"}, ev.waitEvents(t, 1))
	st := d.state()
	assert.Empty(t, st.Problems)
}

// A bundle whose constructor sleeps 10 s (or hangs) holds up nothing else: a bundle
// dropped and another removed just after are applied while it is still being probed.
func TestRunSlowConstructorDelaysOnlyItself(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec plugintest.Spec
	}{
		{"slow", plugintest.Spec{Kind: "slow", SlowMs: 10000}},
		{"hanging", plugintest.Spec{Kind: "slow", Crash: "ctor_hang"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			old := bundle(t, plugintest.Spec{Kind: "old"}, "1.0.0")
			require.NoError(t, os.Rename(old, filepath.Join(root, "native", "old")))
			d := startDaemon(t, root, "--probe-timeout", "20s")
			ev := d.subscribe()
			d.waitFor("old", loadedWith("plugin::native::old", ""))

			require.NoError(t, os.Rename(bundle(t, tc.spec, "1.0.0"), filepath.Join(root, "native", "slow")))
			// The slow probe is under way (the daemon looked at the new folder).
			passes := d.reconciles()
			require.Eventually(t, func() bool { return d.reconciles() > passes }, deadline, time.Millisecond)
			start := time.Now()
			require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "echo"}, "1.0.0"), filepath.Join(root, "native", "echo")))
			require.NoError(t, os.RemoveAll(filepath.Join(root, "native", "old")))
			st := d.waitFor("echo loaded and old unloaded", func(st *state.State) bool {
				return plugin(st, "plugin::native::echo") != nil && plugin(st, "plugin::native::old") == nil
			})
			took := time.Since(start)
			assert.Nil(t, plugin(st, "plugin::native::slow"), "the slow one is still being probed (%v)", took)
			assert.Equal(t, []string{"loaded plugin::native::echo", "unloaded plugin::native::old"}, ev.waitEvents(t, 2))
		})
	}
}

// A storm of 1,000 bundles reaches an SSE client as 1,000 loaded events.
func TestRunStormReachesEverySubscriber(t *testing.T) {
	if testing.Short() {
		t.Skip("a storm of 1,000 bundles")
	}
	root := newRoot(t)
	d := startDaemon(t, root)
	ev := d.subscribe()
	stage := filepath.Join(t.TempDir(), "stage")
	const n = 1000
	// One build, its kind string patched in place (same length): 1,000 kinds.
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "k0000"}))
	require.NoError(t, err)
	for i := range n {
		kind := fmt.Sprintf("k%04d", i)
		dir := filepath.Join(stage, kind)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		lib := bytes.Replace(data, []byte("k0000\x00"), []byte(kind+"\x00"), 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "lib"+kind+".so"), lib, 0o755))
		writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor(kind, "1.0.0", kind))
	}
	msg, err := exec.Command("sh", "-c", "mv "+stage+"/* "+filepath.Join(root, "native")+"/").CombinedOutput()
	require.NoError(t, err, "%s", msg)
	d.waitFor("all loaded", func(st *state.State) bool { return len(st.Plugins) == n })
	got := ev.waitEvents(t, n)
	loaded := 0
	for _, e := range got {
		if strings.HasPrefix(e, "loaded ") {
			loaded++
		}
	}
	assert.Equal(t, n, loaded)
}
