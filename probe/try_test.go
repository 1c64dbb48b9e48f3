//go:build linux && (amd64 || arm64)

package probe_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// The Try API as the reconcile probe stage uses it for a smoke test: default
// options, the result, the error's call and packet, the packets per output pin and
// the per-packet p50. (The command line's tests check every option and figure.)

func TestTryGain(t *testing.T) {
	p := newProber(t, probe.Options{})
	lib := plugintest.Build(t, plugintest.Gain(6))
	r, err := p.Try(context.Background(), lib, probe.TryOptions{})
	require.NoError(t, err)
	require.Equal(t, probe.TryOK, r.Result, "%+v", r.Error)
	require.Nil(t, r.Error)
	require.Equal(t, map[string]int{"out": 50}, r.OutputPackets())
	require.Equal(t, 50, r.Calls().Count)
	require.Greater(t, r.Calls().P50, 0.0)
	require.Equal(t, "plugin::native::gain", r.Kind)
	require.Equal(t, -6.02, *r.Input.PeakDBFS)
	require.Equal(t, -12.04, *r.Outputs[0].PeakDBFS)
	require.Equal(t, 48000, r.Outputs[0].Frames)
}

func TestTryFailures(t *testing.T) {
	p := newProber(t, probe.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		fault   string
		result  probe.TryResult
		call    string
		timeout time.Duration
	}{
		{"crash", probe.TryCrashed, "process_packet", 0},
		{"error", probe.TryFailed, "process_packet", 0},
		{"refuse", probe.TryFailed, "create_instance", 0},
		{"hang", probe.TryHung, "process_packet", time.Second},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			lib := plugintest.Build(t, plugintest.FaultyGain(6, tc.fault))
			r, err := p.Try(ctx, lib, probe.TryOptions{Params: []byte(`{"at": 7}`), Timeout: tc.timeout})
			require.NoError(t, err)
			require.Equal(t, tc.result, r.Result)
			require.Equal(t, tc.call, r.Error.Call, "%+v", r.Error)
			if tc.call == "process_packet" {
				require.Equal(t, 7, r.Error.Packet)
			}
		})
	}
}

func TestTryNotProbed(t *testing.T) {
	p := newProber(t, probe.Options{})
	lib := plugintest.Build(t, plugintest.Spec{Kind: "future", ABI: 12})
	r, err := p.Try(context.Background(), lib, probe.TryOptions{})
	require.NoError(t, err)
	require.Equal(t, probe.TryFailed, r.Result)
	require.Equal(t, "probe", r.Error.Call)
	require.Equal(t, "abi_version", r.Error.Code)
	require.True(t, errors.Is(r.Error.Err, native.ErrABIVersion), "%v", r.Error.Err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.NotContains(t, string(b), "outputs")
}

func TestTryOptionErrors(t *testing.T) {
	p := newProber(t, probe.Options{})
	lib := plugintest.Build(t, plugintest.Gain(6))
	for what, opts := range map[string]probe.TryOptions{
		"an unknown pin":    {Pin: "nope"},
		"text to audio":     {Input: "text:hi"},
		"an unknown input":  {Input: "square:3"},
		"params not JSON":   {Params: []byte("{")},
		"an unknown output": {Outputs: map[string]string{"nope": filepath.Join(t.TempDir(), "x.wav")}},
	} {
		_, err := p.Try(context.Background(), lib, opts)
		require.ErrorIs(t, err, probe.ErrTryOptions, what)
	}
	_, err := p.Try(context.Background(), lib, probe.TryOptions{Input: filepath.Join(t.TempDir(), "missing.wav")})
	require.ErrorIs(t, err, os.ErrNotExist)
}
