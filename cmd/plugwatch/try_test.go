package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/probe"
)

// The plugins that run, for the try_*.txtar scripts (`plug NAME DEST`).
func init() {
	for name, spec := range map[string]plugintest.Spec{
		"gain-run":    plugintest.Gain(6),
		"gain-run2":   plugintest.Gain(2),
		"gain-crash":  plugintest.FaultyGain(6, "crash"),
		"gain-error":  plugintest.FaultyGain(6, "error"),
		"gain-refuse": plugintest.FaultyGain(6, "refuse"),
		"gain-hang":   plugintest.FaultyGain(6, "hang"),
		"upper-run":   plugintest.Upper(9),
		"sine-run":    plugintest.Sine(6),
	} {
		catalogue[name] = spec
	}
}

// runTry runs the real binary: plugwatch try ARGS --json, in dir. It returns the
// document, decoded, its bytes and the exit status.
func runTry(t *testing.T, dir string, args ...string) (*probe.Report, []byte, int) {
	t.Helper()
	cmd := exec.Command("plugwatch", append([]string{"try", "--json"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	if len(out) == 0 {
		return nil, nil, code
	}
	var r probe.Report
	require.NoError(t, json.Unmarshal(out, &r), "plugwatch try %q printed:\n%s\nstderr: %s", args, out, stderr.String())
	return &r, out, code
}

// TestTrySchemaRealOutput: what `plugwatch try --json` prints for every kind of
// result validates against docs/try.schema.json, with the exit status and the call
// and packet of each failure.
func TestTrySchemaRealOutput(t *testing.T) {
	s := compileSchema(t, "try.schema.json")
	dir := t.TempDir()
	lib := func(name string, spec plugintest.Spec) string {
		return plugintest.Install(t, spec, filepath.Join(dir, name))
	}
	gain := lib("libgain.so", plugintest.Gain(6))
	lib("libgain2.so", plugintest.Gain(2))
	lib("libcrash.so", plugintest.FaultyGain(6, "crash"))
	lib("liberror.so", plugintest.FaultyGain(3, "error"))
	lib("librefuse.so", plugintest.FaultyGain(6, "refuse"))
	lib("libhang.so", plugintest.FaultyGain(1, "hang"))
	lib("libupper.so", plugintest.Upper(7))
	lib("libsine.so", plugintest.Sine(4))
	lib("libfuture.so", plugintest.Spec{Kind: "future", ABI: 12})
	lib("libsegv.so", plugintest.Spec{Kind: "segv", Crash: "entry_segv"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "params.json"), []byte(`{"gain": 0.25}`), 0o644))

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		result probe.TryResult
		call   string
		packet int
	}{
		{"gain", []string{"./libgain.so"}, 0, probe.TryOK, "", 0},
		{"gain v2 with params from a file", []string{"./libgain2.so", "--params", "@params.json"}, 0, probe.TryOK, "", 0},
		{"gain with NULL params", []string{"./libgain.so", "--params", "null"}, 0, probe.TryOK, "", 0},
		{"silence", []string{"./libgain.so", "--input", "silence"}, 0, probe.TryOK, "", 0},
		{"text", []string{"./libupper.so"}, 0, probe.TryOK, "", 0},
		{"audio through a passthrough pin", []string{"./libupper.so", "--pin", "echo"}, 0, probe.TryOK, "", 0},
		{"a source", []string{"./libsine.so"}, 0, probe.TryOK, "", 0},
		{"a source that fails", []string{"./libsine.so", "--params", `{"fail_tick": 4}`}, 1, probe.TryFailed, "tick", 4},
		{"a crash at packet 9", []string{"./libcrash.so", "--params", `{"at": 9}`}, 1, probe.TryCrashed, "process_packet", 9},
		{"an error at packet 12", []string{"./liberror.so", "--params", `{"at": 12}`}, 1, probe.TryFailed, "process_packet", 12},
		{"NULL from create_instance", []string{"./librefuse.so"}, 1, probe.TryFailed, "create_instance", 0},
		{"a hang at packet 2", []string{"./libhang.so", "--params", `{"at": 2}`, "--timeout", "1s"}, 1, probe.TryHung, "process_packet", 2},
		{"a library that cannot be probed", []string{"./libfuture.so"}, 1, probe.TryFailed, "probe", 0},
		{"a library that crashes when opened", []string{"./libsegv.so"}, 1, probe.TryFailed, "probe", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, out, code := runTry(t, dir, tc.args...)
			require.Equal(t, tc.code, code, "exit status:\n%s", out)
			require.NotNil(t, r)
			mustValidate(t, s, tc.name, out)
			require.Equal(t, tc.result, r.Result, "%s", out)
			require.True(t, filepath.IsAbs(r.Library))
			if tc.call == "" {
				require.Nil(t, r.Error)
				return
			}
			require.Equal(t, tc.call, r.Error.Call, "%s", out)
			require.Equal(t, tc.packet, r.Error.Packet, "%s", out)
		})
	}

	// The numbers: gain 0.5 on the default sine, 1 s at 48 kHz in 20 ms frames.
	r, _, _ := runTry(t, dir, gain)
	require.Equal(t, "plugin::native::gain", r.Kind)
	require.EqualValues(t, 6, r.APIVersion)
	require.Equal(t, 50, r.Input.Packets)
	require.Equal(t, 48000, r.Input.Frames)
	require.Equal(t, -6.02, *r.Input.PeakDBFS)
	require.Equal(t, -9.03, *r.Input.RMSDBFS)
	require.Len(t, r.Outputs, 1)
	require.Equal(t, 50, r.Outputs[0].Packets)
	require.Equal(t, 48000, r.Outputs[0].Frames)
	require.Equal(t, -12.04, *r.Outputs[0].PeakDBFS)
	require.Equal(t, -15.05, *r.Outputs[0].RMSDBFS)
	require.Equal(t, 50, r.Calls().Count)
	require.NotNil(t, r.Timings.CreateInstance)

	// A source ticked 10 times gives 10 packets.
	r, _, _ = runTry(t, dir, "./libsine.so", "--ticks", "10", "--params", `{"max_ticks": 0}`)
	require.Nil(t, r.Input)
	require.Equal(t, 10, r.Outputs[0].Packets)
	require.Equal(t, 10, r.Timings.Tick.Count)
	require.Nil(t, r.Timings.ProcessPacket)
}

// TestTryWAV: --output writes 32-bit IEEE float WAV whose samples are the output's;
// --input reads 16, 24 and 32-bit PCM and 32-bit float, plain or
// WAVE_FORMAT_EXTENSIBLE, its rate and channels winning.
func TestTryWAV(t *testing.T) {
	dir := t.TempDir()
	plugintest.Install(t, plugintest.Gain(6), filepath.Join(dir, "libgain.so"))
	r, _, code := runTry(t, dir, "./libgain.so", "--output", "out=out.wav", "--duration", "100ms")
	require.Equal(t, 0, code)
	require.Equal(t, probe.TryOK, r.Result)
	data, err := os.ReadFile(filepath.Join(dir, "out.wav"))
	require.NoError(t, err)
	require.Equal(t, "RIFF", string(data[:4]))
	require.Equal(t, "WAVE", string(data[8:12]))
	require.Equal(t, "fmt ", string(data[12:16]))
	require.EqualValues(t, 3, binary.LittleEndian.Uint16(data[20:]), "format tag: IEEE float")
	require.EqualValues(t, 1, binary.LittleEndian.Uint16(data[22:]), "channels")
	require.EqualValues(t, 48000, binary.LittleEndian.Uint32(data[24:]), "rate")
	require.EqualValues(t, 32, binary.LittleEndian.Uint16(data[34:]), "bits")
	samples := wavData(t, data)
	require.Len(t, samples, 4800*4)
	for i := range 4800 {
		got := math.Float32frombits(binary.LittleEndian.Uint32(samples[4*i:]))
		want := float32(0.5 * 0.5 * math.Sin(2*math.Pi*440*float64(i)/48000))
		require.InDelta(t, want, got, 1e-6, "sample %d", i)
	}

	// Inputs of every sample format: 3 channels at 22050 Hz, a 1 kHz sine of
	// amplitude 0.5, 0.2 s; read in 50 ms frames: 4 packets of 1102.5 rounded.
	const rate, channels, frames = 22050, 3, 4410
	for _, f := range []struct {
		name       string
		tag, bits  int
		extensible bool
	}{
		{"pcm16", 1, 16, false}, {"pcm24", 1, 24, false}, {"pcm32", 1, 32, false}, {"float32", 3, 32, false},
		{"pcm24x", 1, 24, true}, {"float32x", 3, 32, true},
	} {
		t.Run(f.name, func(t *testing.T) {
			name := f.name + ".wav"
			writeWAVFixture(t, filepath.Join(dir, name), f.tag, f.bits, f.extensible, rate, channels, frames)
			r, out, code := runTry(t, dir, "./libgain.so", "--input", name, "--frame", "50ms", "--rate", "8000", "--channels", "1")
			require.Equal(t, 0, code, "%s", out)
			in := r.Input
			require.Equal(t, rate, in.SampleRate)
			require.Equal(t, channels, in.Channels)
			require.Equal(t, frames, in.Frames)
			require.Equal(t, 4, in.Packets) // 1103, 1103, 1103, 1101
			require.Equal(t, -6.02, *in.PeakDBFS)
			require.Equal(t, -12.04, *r.Outputs[0].PeakDBFS)
		})
	}
}

// wavData returns the bytes of the data chunk of a WAV file.
func wavData(t *testing.T, b []byte) []byte {
	t.Helper()
	for off := 12; off+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		if string(b[off:off+4]) == "data" {
			require.LessOrEqual(t, off+8+size, len(b))
			return b[off+8 : off+8+size]
		}
		off += 8 + size + size&1
	}
	t.Fatal("no data chunk")
	return nil
}

// writeWAVFixture writes a WAV file of a 1 kHz sine of amplitude 0.5 on every
// channel, written out byte by byte here (independently of the code under test).
func writeWAVFixture(t *testing.T, path string, tag, bits int, extensible bool, rate, channels, frames int) {
	t.Helper()
	var data bytes.Buffer
	le := binary.LittleEndian
	for i := range frames {
		v := 0.5 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))
		for range channels {
			switch {
			case tag == 3:
				binary.Write(&data, le, float32(v))
			case bits == 16:
				binary.Write(&data, le, int16(math.Round(v*(1<<15))))
			case bits == 24:
				n := int32(math.Round(v * (1 << 23)))
				data.Write([]byte{byte(n), byte(n >> 8), byte(n >> 16)})
			case bits == 32:
				binary.Write(&data, le, int32(math.Round(v*(1<<31))))
			}
		}
	}
	var fmtChunk bytes.Buffer
	block := channels * bits / 8
	fmtTag := tag
	if extensible {
		fmtTag = 0xFFFE
	}
	binary.Write(&fmtChunk, le, uint16(fmtTag))
	binary.Write(&fmtChunk, le, uint16(channels))
	binary.Write(&fmtChunk, le, uint32(rate))
	binary.Write(&fmtChunk, le, uint32(rate*block))
	binary.Write(&fmtChunk, le, uint16(block))
	binary.Write(&fmtChunk, le, uint16(bits))
	if extensible {
		binary.Write(&fmtChunk, le, uint16(22))                                            // cbSize
		binary.Write(&fmtChunk, le, uint16(bits))                                          // valid bits
		binary.Write(&fmtChunk, le, uint32(0))                                             // channel mask
		binary.Write(&fmtChunk, le, uint16(tag))                                           // the sub-format GUID: tag, then
		fmtChunk.Write([]byte("\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71")) // KSDATAFORMAT's tail
	}
	var file bytes.Buffer
	file.WriteString("RIFF")
	binary.Write(&file, le, uint32(4+8+fmtChunk.Len()+8+8+data.Len()))
	file.WriteString("WAVE")
	file.WriteString("fmt ")
	binary.Write(&file, le, uint32(fmtChunk.Len()))
	file.Write(fmtChunk.Bytes())
	file.WriteString("LIST") // a chunk readers skip
	binary.Write(&file, le, uint32(0))
	file.WriteString("data")
	binary.Write(&file, le, uint32(data.Len()))
	file.Write(data.Bytes())
	require.NoError(t, os.WriteFile(path, file.Bytes(), 0o644))
}
