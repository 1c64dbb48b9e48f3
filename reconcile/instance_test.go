package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

type keeper struct {
	mu     sync.Mutex
	loaded []*LoadedPlugin
}

func (k *keeper) Loaded(p *LoadedPlugin)        { k.mu.Lock(); k.loaded = append(k.loaded, p); k.mu.Unlock() }
func (k *keeper) Reloaded(_, new *LoadedPlugin) { k.Loaded(new) }
func (k *keeper) Unloaded(*LoadedPlugin)        {}

// gainLoaded returns a controller that loaded a gain plugin of API version 6 from
// the library it returns, and the host it tells.
func gainLoaded(t *testing.T) (*Controller, *keeper, string) {
	t.Helper()
	root := newRoot(t)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Gain(6), lib)
	k := &keeper{}
	c := newController(t, root, k)
	_, err := c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	require.Len(t, k.loaded, 1)
	return c, k, lib
}

// A reload serves new instances from the new version while old ones finish; the old
// library closes only after its last instance closed.
func TestInstancesAcrossAReload(t *testing.T) {
	c, k, lib := gainLoaded(t)
	p1 := k.loaded[0]
	var outs int
	in1, err := p1.NewInstance([]byte(`{"gain":0.5}`), native.InstanceOptions{Output: func(string, native.Packet) { outs++ }})
	require.NoError(t, err)
	require.EqualValues(t, 6, in1.APIVersion())

	data, err := os.ReadFile(plugintest.Build(t, plugintest.Gain(9)))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	require.Len(t, k.loaded, 2)
	p2 := k.loaded[1]

	// The old instance still runs its old library.
	require.NoError(t, in1.Process("in", native.AudioFrame{SampleRate: 48000, Channels: 1, Samples: []float32{1}}))
	require.Equal(t, 1, outs)
	_, err = p1.NewInstance(nil, native.InstanceOptions{})
	require.True(t, errors.Is(err, ErrUnloaded), "%v", err)
	t.Log(err)
	in2, err := p2.NewInstance(nil, native.InstanceOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 9, in2.APIVersion())

	select {
	case <-p1.Done():
		t.Fatal("old library closed while an instance runs")
	default:
	}
	require.NoError(t, in1.Close())
	var ce *native.CallError
	if assert.ErrorAs(t, in1.Close(), &ce) {
		assert.Equal(t, lib, ce.Path, "an instance's errors name the user's file, not the private copy")
	}
	select {
	case <-p1.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("old library not closed after its last instance")
	}
	require.NoError(t, in2.Close())
}

// Close waits for the libraries the passes unloaded too, not only for those it
// unloads: an old version a host still holds after a reload keeps Close waiting
// until the host releases it (or ctx ends).
func TestCloseWaitsForWhatThePassesUnloaded(t *testing.T) {
	c, k, lib := gainLoaded(t)
	old := k.loaded[0]
	require.True(t, old.Acquire())
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Gain(9)))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	require.Len(t, k.loaded, 2, "reloaded")

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond) // it cannot finish: old is held
	defer cancel()
	require.ErrorIs(t, c.Close(ctx), context.DeadlineExceeded)
	old.Release()
	select {
	case <-old.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the old version was not closed after its release")
	}
}
