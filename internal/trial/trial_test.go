package trial

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/native"
)

// The engine's parts that need no plugin; the engine itself runs plugins in the
// command line's tests (cmd/plugwatch: try_*.txtar, try_test.go) and probe's.

func TestDefaultParams(t *testing.T) {
	for schema, want := range map[string]string{
		`{"type":"object","properties":{"gain":{"type":"number","default":0.5}}}`:                  `{"gain":0.5}`,
		`{"properties":{"b":{"default":{"x": [1, 2]}},"a":{"default":"s"},"c":{"type":"string"}}}`: `{"a":"s","b":{"x":[1,2]}}`,
		`{"properties":{"n":{"default":null}}}`:                                                    `{"n":null}`,
		`{"properties":{"odd":3,"ok":{"default":true}}}`:                                           `{"ok":true}`,
		`{"type":"object"}`: "",
		`{}`:                "",
		`not json`:          "",
		`{"properties":{"a":{"type":"integer"}}}`:      "",
		`{"items":{"properties":{"a":{"default":1}}}}`: "",
	} {
		got := DefaultParams(schema)
		if want == "" {
			require.Nil(t, got, schema)
			continue
		}
		require.Equal(t, want, string(got), schema)
		require.True(t, json.Valid(got))
	}
}

func TestParseInput(t *testing.T) {
	for s, want := range map[string]Source{
		"sine:440":        {Kind: Sine, Hz: 440},
		"sine:27.5":       {Kind: Sine, Hz: 27.5},
		"silence":         {Kind: Silence},
		"noise":           {Kind: Noise},
		"text:":           {Kind: Text},
		"text:a:b c":      {Kind: Text, Text: "a:b c"},
		"in/Take 1.WAV":   {Kind: WAVFile, Path: "in/Take 1.WAV"},
		"sine.wav":        {Kind: WAVFile, Path: "sine.wav"},
		"text:sine:3.wav": {Kind: Text, Text: "sine:3.wav"},
	} {
		got, err := ParseInput(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "sine", "sine:", "sine:0", "sine:-1", "sine:inf", "sine:NaN", "sine:4k", "square:3", "noise:1", "text:a\x00b", "file.mp3"} {
		_, err := ParseInput(s)
		var oe *OptionError
		require.ErrorAs(t, err, &oe, "%q", s)
		require.ErrorIs(t, err, ErrOptions)
		require.Equal(t, "input", oe.Option)
	}
}

func TestStatsAndLevels(t *testing.T) {
	var rec Recorder
	require.Nil(t, rec.Timings().ProcessPacket)
	rec.Start(false)
	require.Equal(t, &CallStats{}, rec.Timings().ProcessPacket)
	for i := 100; i >= 1; i-- {
		rec.Record("process_packet", float64(i))
	}
	rec.Record("create_instance", 12.34)
	tm := rec.Timings()
	require.Equal(t, CallStats{Count: 100, P50: 50, P99: 99, Max: 100}, *tm.ProcessPacket)
	require.Nil(t, tm.Tick)
	require.Equal(t, 12.3, *tm.CreateInstance)

	var src Recorder
	src.Record("tick", 3)
	src.Record("tick", 1)
	require.Equal(t, CallStats{Count: 2, P50: 1, P99: 3, Max: 3}, *src.Timings().Tick)

	require.Nil(t, dbfs(0))
	require.Nil(t, dbfs(math.NaN()))
	require.Equal(t, 0.0, *dbfs(1))
	require.Equal(t, 0.0, *dbfs(4), "beyond full scale counts as full scale")
	require.False(t, math.Signbit(*dbfs(1)))
	require.Equal(t, -6.02, *dbfs(0.5))

	var lv level
	lv.add(8000, 2, []float32{0.5, -0.5, 0.5, -0.5})
	a := lv.audio()
	require.Equal(t, Audio{SampleRate: 8000, Channels: 2, Frames: 2, RMSDBFS: dbfs(0.5), PeakDBFS: dbfs(0.5)}, *a)
}

func TestReportJSON(t *testing.T) {
	probeFailure := Report{Library: "/l.so", Kind: "plugin::native::x", Result: Failed,
		Error: &Error{Call: CallProbe, Code: "load_failed", Message: "m", Packet: 3, Err: errors.New("x")}}
	b, err := json.Marshal(probeFailure)
	require.NoError(t, err)
	require.JSONEq(t, `{"library":"/l.so","result":"failed","error":{"call":"probe","code":"load_failed","message":"m"}}`, string(b))

	ok := Report{Library: "/l.so", Kind: "plugin::native::x", APIVersion: 2, Result: OK}
	b, err = json.Marshal(ok)
	require.NoError(t, err)
	require.JSONEq(t, `{"library":"/l.so","kind":"plugin::native::x","api_version":2,"result":"ok","outputs":[],"timings_us":{},"logs":[]}`, string(b))

	flush := Report{Library: "/l.so", Result: Failed, Error: &Error{Call: "flush", Packet: 4, Code: "x", Message: "m"}}
	b, err = json.Marshal(flush)
	require.NoError(t, err)
	require.Contains(t, string(b), `"error":{"call":"flush","message":"m"}`)
	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, "flush", back.Error.Call)

	tick := Error{Call: "tick", Packet: 0, Message: "m"}
	b, err = json.Marshal(tick)
	require.NoError(t, err)
	require.JSONEq(t, `{"call":"tick","packet":0,"message":"m"}`, string(b))
}

// wavFile is a RIFF WAVE file of the given fmt body and data.
func wavFile(fmtBody, data []byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(4+8+len(fmtBody)+8+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(len(fmtBody)))
	b.Write(fmtBody)
	b.WriteString("data")
	binary.Write(&b, le, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func fmtBody(tag, channels, rate, bits int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	block := channels * bits / 8
	for _, v := range []any{uint16(tag), uint16(channels), uint32(rate), uint32(rate * block), uint16(block), uint16(bits)} {
		binary.Write(&b, le, v)
	}
	return b.Bytes()
}

func TestWAVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := &Samples{Rate: 44100, Channels: 2, Data: []float32{0, 0.25, -0.5, 1, -1, 1.5, float32(math.SmallestNonzeroFloat32), 0.125}}
	path := filepath.Join(dir, "x.wav")
	require.NoError(t, WriteWAV(path, in))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	out, err := ReadWAV(path)
	require.NoError(t, err)
	require.Equal(t, in, out)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	// No audio at all: a valid empty file at the default format.
	empty := filepath.Join(dir, "empty.wav")
	require.NoError(t, WriteWAV(empty, &Samples{}))
	data, err := os.ReadFile(empty)
	require.NoError(t, err)
	require.Equal(t, wavFile(fmtBody(3, 1, 48000, 32), nil), data)

	// A folder that does not exist: the error names the file.
	err = WriteWAV(filepath.Join(dir, "no", "x.wav"), in)
	var pe *os.PathError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, filepath.Join(dir, "no", "x.wav"), pe.Path)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestReadWAVRefuses(t *testing.T) {
	dir := t.TempDir()
	pcm16 := wavFile(fmtBody(1, 1, 8000, 16), []byte{0, 0x40, 0, 0xc0})
	s, err := ReadWAV(write(t, dir, "ok.wav", pcm16))
	require.NoError(t, err)
	require.Equal(t, &Samples{Rate: 8000, Channels: 1, Data: []float32{0.5, -0.5}}, s)

	for name, data := range map[string][]byte{
		"empty":        nil,
		"text":         []byte("hello, world, this is not a wav file at all"),
		"8-bit":        wavFile(fmtBody(1, 1, 8000, 8), []byte{1, 2, 3}),
		"64-bit float": wavFile(fmtBody(3, 1, 8000, 64), make([]byte, 16)),
		"a-law":        wavFile(fmtBody(6, 1, 8000, 8), []byte{1, 2}),
		"no channels":  wavFile(fmtBody(1, 0, 8000, 16), []byte{1, 2}),
		"rate 0":       wavFile(fmtBody(1, 1, 0, 16), []byte{1, 2}),
		"999 channels": wavFile(fmtBody(1, 999, 8000, 16), make([]byte, 999*2)),
		"no data":      wavFile(fmtBody(1, 1, 8000, 16), nil)[:36],
		"header only":  pcm16[:20],
		"a huge fmt":   append(append(append([]byte(nil), pcm16[:16]...), 0x10, 0, 0, 0xce), pcm16[20:]...),
	} {
		_, err := ReadWAV(write(t, dir, "bad.wav", data))
		require.ErrorIs(t, err, ErrWAV, name)
		var pe *os.PathError
		require.ErrorAs(t, err, &pe, name)
	}
	_, err = ReadWAV(filepath.Join(dir, "missing.wav"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	// Hostile bytes after a valid start never take the reader down, nor hang it.
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
		b := append([]byte(nil), pcm16...)
		for range 1 + rng.IntN(6) {
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		}
		if rng.IntN(3) == 0 {
			b = b[:rng.IntN(len(b))]
		}
		ReadWAV(write(t, dir, "fuzz.wav", b)) // any result but a panic
	}
}

func TestResolve(t *testing.T) {
	f := native.AudioFormat{SampleRate: 16000, Channels: 2}
	md := native.Metadata{
		Inputs: []native.InputPin{
			{Name: "in", Types: []native.TypeInfo{{Type: native.RawAudio, AudioFormat: &f}}},
			{Name: "words", Types: []native.TypeInfo{{Type: native.Transcription}}},
			{Name: "bin", Types: []native.TypeInfo{{Type: native.Binary}}},
		},
		Outputs:     []native.OutputPin{{Name: "out", Type: native.TypeInfo{Type: native.RawAudio}}, {Name: "t", Type: native.TypeInfo{Type: native.Text}}},
		ParamSchema: `{"properties":{"g":{"default":2}}}`,
	}
	p, err := resolve(md, Config{})
	require.NoError(t, err)
	require.Equal(t, &plan{params: []byte(`{"g":2}`), pin: "in", inputType: native.RawAudio,
		src: Source{Kind: Sine, Hz: 440}, rate: 16000, channels: 2, frame: 320, total: 16000}, p)
	p, err = resolve(md, Config{Pin: "words", Params: []byte("null")})
	require.NoError(t, err)
	require.Equal(t, &plan{pin: "words", inputType: native.Transcription, transcription: true}, p)
	p, err = resolve(md, Config{Pin: "bin", Params: []byte(`[1]`)})
	require.NoError(t, err)
	require.Equal(t, &plan{params: []byte(`[1]`), pin: "bin", inputType: native.Binary}, p)
	p, err = resolve(md, Config{Rate: 8000, Channels: 1, Frame: 25 * time.Millisecond, Duration: 3 * time.Second, Input: "noise"})
	require.NoError(t, err)
	require.Equal(t, 200, p.frame)
	require.Equal(t, 24000, p.total)

	for what, c := range map[string]Config{
		"a pin it has not":    {Pin: "side"},
		"text to audio":       {Input: "text:x"},
		"audio to transcript": {Pin: "words", Input: "sine:3"},
		"a text output":       {Capture: []string{"t"}},
		"an unknown output":   {Capture: []string{"x"}},
		"a frame too short":   {Frame: time.Microsecond},
		"params not JSON":     {Params: []byte("{")},
		"a WAV not read":      {Input: "x.wav"},
		"a negative rate":     {Rate: -1},
	} {
		_, err := resolve(md, c)
		require.ErrorIs(t, err, ErrOptions, what)
	}
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestCollector(t *testing.T) {
	outs := []native.OutputPin{
		{Name: "audio", Type: native.TypeInfo{Type: native.RawAudio}},
		{Name: "words", Type: native.TypeInfo{Type: native.Transcription}},
		{Name: "ctl", Type: native.TypeInfo{Type: native.Custom, CustomTypeID: "a"}},
		{Name: "bin", Type: native.TypeInfo{Type: native.Binary}},
		{Name: "idle", Type: native.TypeInfo{Type: native.RawAudio}},
	}
	c := newCollector(outs, []string{"audio"})
	c.add("audio", native.AudioFrame{SampleRate: 8000, Channels: 1, Samples: []float32{0.5, -0.25}})
	c.add("audio", native.AudioFrame{SampleRate: 16000, Channels: 2, Samples: []float32{1, 1}}) // another format: counted, not kept
	c.add("words", native.TranscriptionPacket(`{"text":"hi there","segments":[]}`))
	c.add("words", native.TranscriptionPacket(`not json`))
	c.add("ctl", native.CustomPacket{TypeID: "a", JSON: []byte(`{"x": 1}`)})
	c.add("ctl", native.CustomPacket{TypeID: "b", JSON: []byte(`{"x": 2}`)})
	c.add("ctl", native.CustomPacket{TypeID: "a", JSON: []byte(`{"x": 3}`)})
	c.add("bin", native.BinaryPacket("abc"))
	c.add("bin", native.BinaryWithMetaPacket{Data: []byte("de")})
	c.add("extra", native.TextPacket("off the map"))
	require.Equal(t, []int{2, 2, 3, 2, 0, 1}, c.counts())

	got, kept := c.outputs()
	require.Len(t, got, 6)
	require.Equal(t, 2, got[0].Packets)
	require.Equal(t, 8000, got[0].SampleRate)
	require.Equal(t, 3, got[0].Frames)
	require.Equal(t, 0.0, *got[0].PeakDBFS)
	require.Equal(t, []string{"hi there", "not json"}, got[1].Texts)
	require.Nil(t, got[1].Audio)
	require.Equal(t, []string{"a", "b"}, got[2].CustomTypes)
	require.JSONEq(t, `{"x": 1}`, string(got[2].CustomJSON))
	require.Equal(t, 5, got[3].Bytes)
	require.Equal(t, Output{Pin: "idle", Type: native.RawAudio, Audio: &Audio{}, Texts: []string{}, CustomTypes: []string{}}, got[4])
	require.Equal(t, Output{Pin: "extra", Type: native.Text, Packets: 1, Texts: []string{"off the map"}, CustomTypes: []string{}}, got[5])
	require.Equal(t, map[string]*Samples{"audio": {Rate: 8000, Channels: 1, Data: []float32{0.5, -0.25}}}, kept)

	b, err := json.Marshal(got[2])
	require.NoError(t, err)
	require.JSONEq(t, `{"pin":"ctl","type":"custom","packets":3,"texts":[],"custom_types":["a","b"],"custom_json":{"x":1},"bytes":0}`, string(b))

	require.Equal(t, []Output{
		{Pin: "audio", Type: native.RawAudio, Packets: 7, Texts: []string{}, CustomTypes: []string{}},
		{Pin: "words", Type: native.Transcription, Texts: []string{}, CustomTypes: []string{}},
	}, Counted(outs[:2], []int{7}))
}
