//go:build linux && (amd64 || arm64)

package native_test

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// frame is 20 ms of 48 kHz stereo: a 440 Hz sine of amplitude 0.5 (peak -6.02 dBFS).
func frame() native.AudioFrame {
	return native.AudioFrame{SampleRate: 48000, Channels: 2, Samples: sine(960, 2, 440, 0.5)}
}

// oneAudio returns the only output, which must be audio on "out".
func oneAudio(t *testing.T, s *sink) native.AudioFrame {
	t.Helper()
	outs := s.take()
	if len(outs) != 1 || outs[0].pin != "out" {
		t.Fatalf("outputs %+v, want one on out", outs)
	}
	f, ok := outs[0].p.(native.AudioFrame)
	if !ok {
		t.Fatalf("output %T, want native.AudioFrame", outs[0].p)
	}
	return f
}

// Every calling convention processes audio with the right numbers: gain 0.5
// on a sine of amplitude 0.5 lowers the peak by 6.02 dB.
func TestGainEveryVersion(t *testing.T) {
	for abi := 1; abi <= 9; abi++ {
		t.Run(fmt.Sprintf("v%d", abi), func(t *testing.T) {
			l := openLib(t, plugintest.Gain(abi))
			var s sink
			lg := newLogs()
			in := newInstance(t, l, `{"gain":0.5}`, native.InstanceOptions{Output: s.Output, Logger: lg.logger()})
			if in.APIVersion() != uint32(abi) {
				t.Errorf("APIVersion() = %d", in.APIVersion())
			}

			src := frame()
			src.Metadata = &native.PacketMetadata{TimestampUS: 20000, HasTimestamp: true, Sequence: 7, HasSequence: true}
			if err := in.Process("in", src); err != nil {
				t.Fatal(err)
			}
			out := oneAudio(t, &s)
			if out.SampleRate != 48000 || out.Channels != 2 || len(out.Samples) != 1920 {
				t.Fatalf("output %d Hz, %d channels, %d samples", out.SampleRate, out.Channels, len(out.Samples))
			}
			if drop := peakDB(out.Samples) - peakDB(src.Samples); math.Abs(drop-20*math.Log10(0.5)) > 1e-3 {
				t.Errorf("peak changed by %.4f dB, want -6.0206", drop)
			}
			for i, v := range out.Samples {
				if v != src.Samples[i]*0.5 {
					t.Fatalf("sample %d = %v, want %v", i, v, src.Samples[i]*0.5)
				}
			}
			// Metadata crosses from version 6, whose frames have the field.
			if abi >= 6 && !reflect.DeepEqual(out.Metadata, src.Metadata) {
				t.Errorf("metadata %+v, want %+v", out.Metadata, src.Metadata)
			}
			if abi < 6 && out.Metadata != nil {
				t.Errorf("metadata %+v from version %d", out.Metadata, abi)
			}

			if err := in.Flush(); err != nil {
				t.Fatal(err)
			}
			if outs := s.take(); len(outs) != 0 {
				t.Errorf("flush output %+v", outs)
			}
			lg.wait(t, "flush after 1 packets")

			if err := in.UpdateParams([]byte(`{"gain":0.25}`)); err != nil {
				t.Fatal(err)
			}
			if err := in.Process("in", frame()); err != nil {
				t.Fatal(err)
			}
			if drop := peakDB(oneAudio(t, &s).Samples) - peakDB(src.Samples); math.Abs(drop-20*math.Log10(0.25)) > 1e-3 {
				t.Errorf("after update_params the peak changed by %.4f dB, want -12.04", drop)
			}

			err := in.UpdateParams([]byte(`{}`))
			wantCallError(t, err, "update_params", native.ErrCallFailed, `gain: update_params needs {"gain": number}`)
			// A pin the metadata does not name reaches the plugin as given.
			err = in.Process("side", frame())
			wantCallError(t, err, "process_packet", native.ErrCallFailed, "gain: no input pin side")
			// The instance survives its failures.
			if err := in.Process("in", frame()); err != nil {
				t.Fatal(err)
			}
			oneAudio(t, &s)
		})
	}
}

// NULL params (nil) mean the plugin's own defaults: the gain's is 1. The schema's
// default is for hosts that fill in params.
func TestGainNullParams(t *testing.T) {
	l := openLib(t, plugintest.Gain(2))
	if want := `{"type":"object","properties":{"gain":{"type":"number","default":0.5}}}`; string(l.Metadata().ParamSchema) != want {
		t.Errorf("param_schema %s", l.Metadata().ParamSchema)
	}
	var s sink
	lg := newLogs()
	in := newInstance(t, l, "", native.InstanceOptions{Output: s.Output, Logger: lg.logger()})
	lg.wait(t, "created with gain 1")
	src := frame()
	if err := in.Process("in", src); err != nil {
		t.Fatal(err)
	}
	if out := oneAudio(t, &s); !reflect.DeepEqual(out.Samples, src.Samples) {
		t.Error("gain 1 changed the samples")
	}
}

func TestTelemetry(t *testing.T) {
	for _, abi := range []int{2, 5, 6, 9} {
		var mu sync.Mutex
		var events []native.TelemetryEvent
		l := openLib(t, plugintest.Gain(abi))
		in := newInstance(t, l, `{"gain":0.5}`, native.InstanceOptions{Telemetry: func(e native.TelemetryEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}})
		for range 2 {
			if err := in.Process("in", frame()); err != nil {
				t.Fatal(err)
			}
		}
		want := []native.TelemetryEvent{{Type: "gain.first_packet", JSON: []byte(`{"gain":0.5}`)}}
		if abi == 2 {
			want = nil // StreamKit's C header has no telemetry
		}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("v%d: events %+v, want %+v", abi, events, want)
		}

		// Without a Telemetry function the plugin gets NULL and emits nothing.
		quiet := newInstance(t, l, `{"gain":0.5}`, native.InstanceOptions{})
		if err := quiet.Process("in", frame()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSource(t *testing.T) {
	for _, abi := range []int{3, 4, 5, 6, 9} {
		t.Run(fmt.Sprintf("v%d", abi), func(t *testing.T) {
			l := openLib(t, plugintest.Sine(abi))
			var s sink
			in := newInstance(t, l, "", native.InstanceOptions{Output: s.Output})
			c, ok, err := in.SourceConfig()
			if err != nil || !ok {
				t.Fatalf("SourceConfig: %v, %v", ok, err)
			}
			if want := (native.SourceConfig{IsSource: true, TickInterval: 20 * time.Millisecond, MaxTicks: 10}); c != want {
				t.Errorf("config %+v, want %+v", c, want)
			}
			var all []float32
			for i := range 10 {
				done, err := in.Tick()
				if err != nil {
					t.Fatal(err)
				}
				if done != (i == 9) {
					t.Errorf("tick %d: done = %v", i, done)
				}
				f := oneAudio(t, &s)
				if f.SampleRate != 48000 || f.Channels != 1 || len(f.Samples) != 960 {
					t.Fatalf("tick %d: %d Hz, %d channels, %d samples", i, f.SampleRate, f.Channels, len(f.Samples))
				}
				all = append(all, f.Samples...)
			}
			for i, v := range sine(9600, 1, 440, 0.5) {
				if math.Abs(float64(all[i]-v)) > 1e-6 {
					t.Fatalf("sample %d = %v, want %v: not one continuous sine", i, all[i], v)
				}
			}
			// Done: nothing more.
			if done, err := in.Tick(); !done || err != nil {
				t.Errorf("tick 11: %v, %v", done, err)
			}
			if outs := s.take(); len(outs) != 0 {
				t.Errorf("tick 11 output %d packets", len(outs))
			}

			failing := newInstance(t, l, `{"fail_tick":1}`, native.InstanceOptions{})
			if _, err := failing.Tick(); err != nil {
				t.Fatal(err)
			}
			_, err = failing.Tick()
			wantCallError(t, err, "tick", native.ErrCallFailed, "sine: failing at tick 1")
			if _, err := failing.Tick(); err != nil {
				t.Errorf("after a failed tick: %v", err)
			}
		})
	}
}

// Processors have no tick; before version 3 there are no source calls at all.
func TestNotSource(t *testing.T) {
	for _, tc := range []struct {
		spec plugintest.Spec
		ok   bool // get_source_config provided
	}{
		{plugintest.Gain(2), false},
		{plugintest.Gain(6), true},
		{plugintest.Upper(9), false},
	} {
		in := newInstance(t, openLib(t, tc.spec), "", native.InstanceOptions{})
		c, ok, err := in.SourceConfig()
		if err != nil || ok != tc.ok || c != (native.SourceConfig{}) {
			t.Errorf("%+v: SourceConfig = %+v, %v, %v", tc.spec, c, ok, err)
		}
		_, err = in.Tick()
		wantCallError(t, err, "tick", native.ErrNotProvided, "")
	}
}

func TestText(t *testing.T) {
	for _, abi := range []int{1, 2, 5, 6, 9} {
		var s sink
		in := newInstance(t, openLib(t, plugintest.Upper(abi)), "", native.InstanceOptions{Output: s.Output})
		if err := in.Process("in", native.TextPacket("hello, world")); err != nil {
			t.Fatal(err)
		}
		if err := in.Flush(); err != nil {
			t.Fatal(err)
		}
		want := []output{{"out", native.TextPacket("HELLO, WORLD")}, {"out", native.TextPacket("FLUSHED 1")}}
		if outs := s.take(); !reflect.DeepEqual(outs, want) {
			t.Errorf("v%d: outputs %+v, want %+v", abi, outs, want)
		}

		err := in.Process("in", native.BinaryPacket("hi"))
		wantCallError(t, err, "process_packet", native.ErrCallFailed, "upper: not a NUL-terminated text packet")
		err = in.Process("in", native.TextPacket("a\x00b"))
		wantCallError(t, err, "process_packet", native.ErrInvalidInput, "text holds a NUL byte")
	}
}

// Every packet type goes to the plugin and back unchanged (the echo pin sends the
// host's own CPacket back), in the layout of each version.
func TestPacketRoundTrip(t *testing.T) {
	meta := &native.PacketMetadata{TimestampUS: 1, HasTimestamp: true, DurationUS: 20000, HasDuration: true, Sequence: 3}
	packets := []native.Packet{
		native.AudioFrame{SampleRate: 44100, Channels: 1, Samples: []float32{0.25, -1, 1}, Metadata: meta},
		native.AudioFrame{SampleRate: 8000, Channels: 2, Samples: []float32{}},
		native.TextPacket("héllo"),
		native.TextPacket(""),
		native.TranscriptionPacket(`{"text":"hi","segments":[],"language":"en","metadata":null}`),
		native.CustomPacket{TypeID: "streamkit.gain.ctl", JSON: []byte(`{"gain":2}`), Metadata: meta},
		native.CustomPacket{TypeID: "x", Encoding: 0, JSON: []byte{}},
		native.BinaryPacket{0, 1, 2, 255},
		native.BinaryPacket{},
		native.OpusPacket{0xfc, 0xff, 0xfe},
		native.EncodedAudioPacket{1, 2},
		native.EncodedVideoPacket{3, 4, 5},
		native.BinaryWithMetaPacket{Data: []byte("abc"), ContentType: "audio/aac", Metadata: meta},
		native.BinaryWithMetaPacket{Data: []byte{}},
		native.VideoFrame{Width: 2, Height: 1, PixelFormat: native.RGBA8, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Metadata: meta},
		native.VideoFrame{Width: 0, Height: 0, PixelFormat: native.NV12, Data: []byte{}},
	}
	for _, abi := range []int{2, 3, 6, 7, 8, 9} {
		for _, reuse := range []bool{false, true} {
			var s sink
			var kept []output
			in := newInstance(t, openLib(t, plugintest.Upper(abi)), "", native.InstanceOptions{
				ReuseOutput: reuse,
				Output: func(pin string, p native.Packet) {
					s.Output(pin, clonePacket(p)) // reused memory is valid during the call only
					kept = append(kept, output{pin, p})
				},
			})
			for _, p := range packets {
				err := in.Process("echo", p)
				if since := minVersion(p); uint32(abi) < since {
					wantCallError(t, err, "process_packet", native.ErrInvalidInput, "-")
					continue
				}
				if err != nil {
					t.Fatalf("v%d %T: %v", abi, p, err)
				}
				want := p
				if abi < 6 { // frames have no metadata before version 6
					switch f := p.(type) {
					case native.AudioFrame:
						f.Metadata = nil
						want = f
					case native.VideoFrame:
						f.Metadata = nil
						want = f
					}
				}
				outs := s.take()
				if len(outs) != 1 || outs[0].pin != "echo" || !reflect.DeepEqual(outs[0].p, want) {
					t.Errorf("v%d reuse %v: sent %#v, got %#v", abi, reuse, want, outs)
				}
			}
			// Without ReuseOutput, Output owns its packets: the first is intact.
			if !reuse && len(kept) > 0 && !reflect.DeepEqual(kept[0].p, packets[0]) && abi >= 6 {
				t.Errorf("v%d: the first packet changed after later outputs: %#v", abi, kept[0].p)
			}
		}
	}
}

func minVersion(p native.Packet) uint32 {
	switch p.PacketType() {
	case native.RawVideo, native.EncodedVideo:
		return 3
	case native.BinaryWithMeta:
		return 7
	case native.EncodedAudio:
		return 8
	}
	return 1
}

// clonePacket returns a copy of p that shares no memory with it.
func clonePacket(p native.Packet) native.Packet {
	switch p := p.(type) {
	case native.AudioFrame:
		p.Samples = append([]float32{}, p.Samples...)
		return p
	case native.CustomPacket:
		p.JSON = append([]byte{}, p.JSON...)
		return p
	case native.BinaryWithMetaPacket:
		p.Data = append([]byte{}, p.Data...)
		return p
	case native.VideoFrame:
		p.Data = append([]byte{}, p.Data...)
		return p
	case native.TranscriptionPacket:
		return append(native.TranscriptionPacket{}, p...)
	case native.BinaryPacket:
		return append(native.BinaryPacket{}, p...)
	case native.OpusPacket:
		return append(native.OpusPacket{}, p...)
	case native.EncodedAudioPacket:
		return append(native.EncodedAudioPacket{}, p...)
	case native.EncodedVideoPacket:
		return append(native.EncodedVideoPacket{}, p...)
	}
	return p
}

// A bigger packet than any before grows the instance's memory; smaller ones reuse it.
func TestProcessGrowing(t *testing.T) {
	var s sink
	in := newInstance(t, openLib(t, plugintest.Gain(9)), `{"gain":0.5}`, native.InstanceOptions{Output: s.Output})
	for _, frames := range []int{1, 48000, 10, 480000, 960} {
		src := native.AudioFrame{SampleRate: 48000, Channels: 2, Samples: sine(frames, 2, 100, 0.5)}
		if err := in.Process("in", src); err != nil {
			t.Fatal(err)
		}
		out := oneAudio(t, &s)
		for i, v := range out.Samples {
			if v != src.Samples[i]*0.5 {
				t.Fatalf("%d frames: sample %d = %v", frames, i, v)
			}
		}
	}
}

func TestRuntimeSchemaAndHints(t *testing.T) {
	schema, err := newInstance(t, openLib(t, plugintest.Gain(4)), "", native.InstanceOptions{}).RuntimeSchema()
	if want := `{"type":"object","properties":{"gain":{"type":"number","minimum":0}}}`; err != nil || string(schema) != want {
		t.Errorf("version 4: schema %s, %v", schema, err)
	}
	for _, s := range []plugintest.Spec{plugintest.Gain(3), plugintest.Upper(9)} {
		if schema, err := newInstance(t, openLib(t, s), "", native.InstanceOptions{}).RuntimeSchema(); schema != nil || err != nil {
			t.Errorf("%+v: schema %s, %v; want none", s, schema, err)
		}
	}

	lg := newLogs()
	in := newInstance(t, openLib(t, plugintest.Gain(5)), "", native.InstanceOptions{Logger: lg.logger()})
	if err := in.UpstreamHint([]byte(`{"preferred_width":640}`)); err != nil {
		t.Fatal(err)
	}
	lg.wait(t, `hint {"preferred_width":640}`)
	wantCallError(t, in.UpstreamHint([]byte(`{`)), "on_upstream_hint", native.ErrInvalidInput, "hints are not JSON")
	wantCallError(t, in.UpstreamHint(nil), "on_upstream_hint", native.ErrInvalidInput, "no hint")
	// Without on_upstream_hint, hints are ignored.
	if err := newInstance(t, openLib(t, plugintest.Gain(4)), "", native.InstanceOptions{}).UpstreamHint([]byte(`{}`)); err != nil {
		t.Errorf("version 4: %v", err)
	}
}

func TestProcessFails(t *testing.T) {
	for _, abi := range []int{2, 5, 6} {
		var s sink
		lg := newLogs()
		l := openLib(t, plugintest.FaultyGain(abi, "error"))
		in := newInstance(t, l, `{"gain":0.5,"at":2}`, native.InstanceOptions{Output: s.Output, Logger: lg.logger()})
		for i := range 4 {
			err := in.Process("in", frame())
			if i != 2 {
				if err != nil {
					t.Fatalf("v%d packet %d: %v", abi, i, err)
				}
				oneAudio(t, &s)
				continue
			}
			wantCallError(t, err, "process_packet", native.ErrCallFailed, "gain: failing at packet 2")
			if !strings.Contains(err.Error(), l.Path()) {
				t.Errorf("%q does not name the library", err)
			}
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		lg.wait(t, "destroyed after 4 packets")

		quiet := newInstance(t, l, `{"null_message":true}`, native.InstanceOptions{})
		wantCallError(t, quiet.Process("in", frame()), "process_packet", native.ErrCallFailed, native.MessageWithoutText)
	}
}

func TestCreateFails(t *testing.T) {
	for _, abi := range []int{2, 6} {
		lg := newLogs()
		l := openLib(t, plugintest.FaultyGain(abi, "refuse"))
		in, err := l.NewInstance([]byte(`{"gain":2}`), native.InstanceOptions{Logger: lg.logger()})
		if in != nil {
			t.Error("an instance from a NULL create_instance")
		}
		wantCallError(t, err, "create_instance", native.ErrCallFailed, "returned NULL")
		r, ok := lg.find(`refusing to start: this build always fails (params {"gain":2})`)
		if !ok || r.level != slog.LevelError || r.kind != "gain" || r.target != "gain" {
			t.Errorf("the plugin's reason: %+v, %v", r, ok)
		}
	}

	l := openLib(t, plugintest.Gain(6))
	_, err := l.NewInstance([]byte(`{"gain":`), native.InstanceOptions{})
	wantCallError(t, err, "create_instance", native.ErrInvalidInput, "params are not JSON")

	closed, err := native.Open(plugintest.Build(t, plugintest.Gain(6)), native.DefaultRange())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	_, err = closed.NewInstance(nil, native.InstanceOptions{})
	wantCallError(t, err, "create_instance", native.ErrClosed, "")
}

// A panic in Output fails the plugin's output call, then reaches the caller of Process;
// the instance stays usable.
func TestOutputPanics(t *testing.T) {
	boom := errors.New("boom")
	panicking := true
	in := newInstance(t, openLib(t, plugintest.Gain(6)), "", native.InstanceOptions{Output: func(string, native.Packet) {
		if panicking {
			panic(boom)
		}
	}})
	func() {
		defer func() {
			if v := recover(); v != boom {
				t.Errorf("recovered %v, want boom", v)
			}
		}()
		in.Process("in", frame())
		t.Error("Process returned")
	}()
	panicking = false
	if err := in.Process("in", frame()); err != nil {
		t.Fatal(err)
	}
}

func TestClosed(t *testing.T) {
	in := newInstance(t, openLib(t, plugintest.Gain(9)), "", native.InstanceOptions{})
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, errSource := in.SourceConfig()
	_, errTick := in.Tick()
	_, errSchema := in.RuntimeSchema()
	for call, err := range map[string]error{
		"process_packet":           in.Process("in", frame()),
		"flush":                    in.Flush(),
		"update_params":            in.UpdateParams([]byte(`{"gain":1}`)),
		"get_source_config":        errSource,
		"tick":                     errTick,
		"get_runtime_param_schema": errSchema,
		"on_upstream_hint":         in.UpstreamHint([]byte(`{}`)),
		"destroy_instance":         in.Close(),
	} {
		wantCallError(t, err, call, native.ErrInstanceClosed, "")
	}
}

func TestLogs(t *testing.T) {
	lg := newLogs()
	l := openLib(t, plugintest.Gain(6))
	in := newInstance(t, l, `{"gain":0.5,"thread_log":true}`, native.InstanceOptions{Logger: lg.logger(), Kind: "plugin::native::gain"})
	for msg, level := range map[string]slog.Level{
		"created with gain 0.5":      slog.LevelInfo,
		"hello from a plugin thread": slog.LevelWarn, // from a thread the plugin started
	} {
		if r := lg.wait(t, msg); r.level != level || r.kind != "plugin::native::gain" || r.target != "gain" ||
			r.record != "plugin log line" || r.path != l.Path() {
			t.Errorf("%q: %+v", msg, r)
		}
	}
	if err := in.Flush(); err != nil {
		t.Fatal(err)
	}
	if r := lg.wait(t, "flush after 0 packets"); r.level != slog.LevelDebug {
		t.Errorf("debug line at %v", r.level)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	// Logged during destroy_instance.
	if r, ok := lg.find("destroyed after 0 packets"); !ok || r.level != slog.LevelInfo {
		t.Errorf("destroy_instance's line: %+v, %v", r, ok)
	}

	// The kind defaults to the library's.
	lg = newLogs()
	newInstance(t, l, "", native.InstanceOptions{Logger: lg.logger()})
	if r := lg.wait(t, "created with gain 1"); r.kind != "gain" {
		t.Errorf("kind %q", r.kind)
	}
}

// The callbacks are made once per process: 100,000 instances created and closed use
// no more purego callback slots than one.
func TestCallbackSlots(t *testing.T) {
	l := openLib(t, plugintest.Upper(9))
	newInstance(t, l, "", native.InstanceOptions{}).Close()
	slots, routes := native.CallbackSlots(), native.Routes()
	if slots != 3 {
		t.Errorf("%d callback slots, want 3 (log, output, telemetry)", slots)
	}
	const n = 100_000
	for i := range n {
		in, err := l.NewInstance(nil, native.InstanceOptions{Logger: discard})
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		if err := in.Close(); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	if got := native.CallbackSlots(); got != slots {
		t.Errorf("%d instances made %d callbacks", n, got-slots)
	}
	if got := native.Routes(); got != routes {
		t.Errorf("%d routes after closing every instance, want %d", got, routes)
	}
}

// Different instances run in parallel, each with its own numbers.
func TestParallelInstances(t *testing.T) {
	l := openLib(t, plugintest.Gain(6))
	var wg sync.WaitGroup
	for g := range 4 {
		gain := float32(g+1) / 8
		var s sink
		in := newInstance(t, l, fmt.Sprintf(`{"gain":%g}`, gain), native.InstanceOptions{Output: s.Output})
		wg.Go(func() {
			src := frame()
			for range 200 {
				if err := in.Process("in", src); err != nil {
					t.Error(err)
					return
				}
				outs := s.take()
				if len(outs) != 1 {
					t.Errorf("%d outputs", len(outs))
					return
				}
				if f := outs[0].p.(native.AudioFrame); f.Samples[1] != src.Samples[1]*gain {
					t.Errorf("gain %v: sample %v, want %v", gain, f.Samples[1], src.Samples[1]*gain)
					return
				}
			}
		})
	}
	wg.Wait()
}
