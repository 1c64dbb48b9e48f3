package plugwatch_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/reconcile"
)

// The media server of Example, embedding a real daemon: audio runs through the gain
// plugin, and keeps running across a rebuild of it; the old library is closed once
// the node moved to the new version.
func TestExampleServerAcrossARebuild(t *testing.T) {
	root := filepath.Join(t.TempDir(), ".plugins")
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Gain(6), lib)
	require.NoError(t, os.WriteFile(filepath.Join(root, "native", "gain", "plugin.yml"),
		[]byte("id: gain\nversion: 1.0.0\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n"), 0o644))
	server := newMediaServer(nil)
	d, err := plugwatch.New(plugwatch.Config{Options: reconcile.Options{Root: root}, Host: server})
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
	}()
	current := func() *reconcile.LoadedPlugin {
		server.mu.Lock()
		defer server.mu.Unlock()
		return server.current["plugin::native::gain"]
	}
	require.Eventually(t, func() bool { return current() != nil }, 15*time.Second, time.Millisecond)

	gain := &node{server: server, kind: "plugin::native::gain", params: []byte(`{"gain": 0.5}`)}
	frame := make([]float32, 960)
	for i := range frame {
		frame[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/48000))
	}
	peak := func(s []float32) float64 {
		m := 0.0
		for _, v := range s {
			m = max(m, math.Abs(float64(v)))
		}
		return m
	}
	out, err := gain.process(frame, 48000)
	require.NoError(t, err)
	assert.InDelta(t, peak(frame)/2, peak(out), 1e-6, "gain 0.5 halves the peak")
	old := gain.in.Plugin()
	assert.EqualValues(t, 6, old.Info().APIVersion)

	// The developer rebuilds the plugin (another API version, to tell them apart).
	msg, err := exec.Command("cp", plugintest.Build(t, plugintest.Gain(9)), lib).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	require.Eventually(t, func() bool { p := current(); return p != nil && p.Info().APIVersion == 9 }, 15*time.Second, time.Millisecond)
	select {
	case <-old.Done():
		t.Fatal("the old library was closed while an instance of it was open")
	default:
	}
	out, err = gain.process(frame, 48000)
	require.NoError(t, err)
	assert.InDelta(t, peak(frame)/2, peak(out), 1e-6)
	assert.EqualValues(t, 9, gain.in.Plugin().Info().APIVersion, "the node moved to the new version")
	select {
	case <-old.Done(): // its last instance closed: the old library is closed
	case <-time.After(15 * time.Second):
		t.Fatal("the old library was never closed")
	}
	gain.close()
}
