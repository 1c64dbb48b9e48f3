package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// run --smoke: a library is tried before it is opened; a rebuild that fails its
// smoke test keeps the old version loaded, stale, with smoke_failed; a good rebuild
// replaces it.
func TestRunSmokeGuardsEachReload(t *testing.T) {
	root := newRoot(t)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Gain(6), lib)
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	d := startDaemon(t, root, "--smoke")
	ev := d.subscribe()
	st := d.waitFor("gain loaded", func(st *state.State) bool { return plugin(st, "plugin::native::gain") != nil })
	p := plugin(st, "plugin::native::gain")
	require.NotNil(t, p.Smoke, "the state document carries the smoke result")
	assert.Equal(t, "ok", p.Smoke.Result)
	assert.Equal(t, map[string]int{"out": 50}, p.Smoke.Outputs)
	assert.Positive(t, p.Smoke.ProcessP50US)

	// A rebuild that fails at its first packet: the old version stays, stale.
	msg, err := exec.Command("cp", plugintest.Build(t, plugintest.FaultyGain(6, "error")), lib).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	st = d.waitFor("smoke_failed", func(st *state.State) bool { return hasProblem(st, lib, state.SmokeFailed) })
	p = plugin(st, "plugin::native::gain")
	require.NotNil(t, p, "the old version stays loaded")
	assert.True(t, p.Stale)
	assert.Equal(t, []string{"problem smoke_failed"}, ev.waitEvents(t, 1))

	// A good rebuild: reloaded, the problem resolved.
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Gain(9)))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	st = d.waitFor("v9 loaded", func(st *state.State) bool {
		p := plugin(st, "plugin::native::gain")
		return p != nil && p.APIVersion == 9
	})
	assert.False(t, plugin(st, "plugin::native::gain").Stale)
	assert.Equal(t, []string{"problem smoke_failed", "reloaded plugin::native::gain", "resolved smoke_failed"}, ev.waitEvents(t, 3))
}
