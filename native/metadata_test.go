package native_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/plugwatch/plugwatch/native"
)

func TestPacketTypeNames(t *testing.T) {
	names := []string{"raw_audio", "opus_audio", "text", "transcription", "custom", "binary", "any",
		"passthrough", "raw_video", "encoded_video", "binary_with_meta", "encoded_audio"}
	for i, name := range names {
		pt := native.PacketType(i)
		if pt.String() != name {
			t.Errorf("PacketType(%d).String() = %q, want %q", i, pt, name)
		}
		b, err := json.Marshal(pt)
		if err != nil || string(b) != `"`+name+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v", pt, b, err)
		}
		var back native.PacketType
		if err := json.Unmarshal(b, &back); err != nil || back != pt {
			t.Errorf("json.Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	if s := native.PacketType(42).String(); s != "PacketType(42)" {
		t.Errorf("PacketType(42).String() = %q", s)
	}
	if _, err := json.Marshal(native.PacketType(42)); err == nil {
		t.Error("json.Marshal(PacketType(42)) succeeded")
	}
}

func TestSchemaJSON(t *testing.T) {
	for in, want := range map[native.Schema]string{
		`{"type": "object"}`: `{"type":"object"}`,
		`{}`:                 `{}`,
		`not json {`:         `"not json {"`,
		``:                   `""`,
	} {
		b, err := json.Marshal(in)
		if err != nil || string(b) != want {
			t.Errorf("json.Marshal(Schema(%q)) = %s, %v; want %s", in, b, err, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	err := error(&native.Error{Op: "open", Path: "/p/lib.so", Err: native.ErrABIVersion,
		Detail: "reports API version 12; accepted range is 1-9"})
	const want = "native: open /p/lib.so: unsupported API version: reports API version 12; accepted range is 1-9"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant %q", err, want)
	}
	if !errors.Is(err, native.ErrABIVersion) || errors.Is(err, native.ErrMetadata) {
		t.Error("errors.Is does not follow Err")
	}
	err = &native.Error{Op: "close", Path: "/p/lib.so", Err: native.ErrClosed}
	if err.Error() != "native: close /p/lib.so: library already closed" {
		t.Errorf("Error() = %q", err)
	}
}

// The JSON form is the inspect --json shape of docs/cli.md (without "library").
func TestMetadataJSON(t *testing.T) {
	md := wantMetadata(9)
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
	  "kind": "gain",
	  "api_version": 9,
	  "description": "Adjusts volume",
	  "inputs": [
	    {"name": "in", "types": [
	      {"type": "raw_audio", "audio_format": {"sample_rate": 48000, "channels": 2, "sample_format": 0}, "custom_type_id": null},
	      {"type": "opus_audio", "audio_format": null, "custom_type_id": null}]},
	    {"name": "ctl", "types": [{"type": "custom", "audio_format": null, "custom_type_id": "streamkit.gain.ctl"}]},
	    {"name": "enc", "types": [
	      {"type": "encoded_video", "audio_format": null, "custom_type_id": "vp9"},
	      {"type": "encoded_audio", "audio_format": null, "custom_type_id": "aac"}]}
	  ],
	  "outputs": [
	    {"name": "out", "type": {"type": "raw_audio", "audio_format": {"sample_rate": 48000, "channels": 2, "sample_format": 0}, "custom_type_id": null}},
	    {"name": "text", "type": {"type": "text", "audio_format": null, "custom_type_id": null}}
	  ],
	  "param_schema": {"type": "object", "properties": {"gain_db": {"type": "number", "default": 0}}},
	  "categories": ["audio", "filters"]
	}`
	var got, exp any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("JSON:\n%s\nwant:\n%s", b, want)
	}

	var back native.Metadata
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, md) {
		t.Errorf("round trip: %+v\nwant %+v", back, md)
	}

	// Empty lists are [], never null.
	b, err = json.Marshal(native.Metadata{Inputs: []native.InputPin{}, Outputs: []native.OutputPin{},
		ParamSchema: "{}", Categories: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	const empty = `{"kind":"","api_version":0,"description":"","inputs":[],"outputs":[],"param_schema":{},"categories":[]}`
	if string(b) != empty {
		t.Errorf("JSON %s, want %s", b, empty)
	}
}

// wantMetadata is what testdata/plugin.c reports at the given API version, with kind
// "gain" and description "Adjusts volume".
func wantMetadata(version uint32) native.Metadata {
	stereo := func() *native.AudioFormat {
		return &native.AudioFormat{SampleRate: 48000, Channels: 2, SampleFormat: 0}
	}
	enc := []native.TypeInfo{{Type: native.EncodedVideo, CustomTypeID: "vp9"}}
	if version >= 8 {
		enc = append(enc, native.TypeInfo{Type: native.EncodedAudio, CustomTypeID: "aac"})
	}
	return native.Metadata{
		Kind:        "gain",
		APIVersion:  version,
		Description: "Adjusts volume",
		Inputs: []native.InputPin{
			{Name: "in", Types: []native.TypeInfo{
				{Type: native.RawAudio, AudioFormat: stereo()},
				{Type: native.OpusAudio},
			}},
			{Name: "ctl", Types: []native.TypeInfo{{Type: native.Custom, CustomTypeID: "streamkit.gain.ctl"}}},
			{Name: "enc", Types: enc},
		},
		Outputs: []native.OutputPin{
			{Name: "out", Type: native.TypeInfo{Type: native.RawAudio, AudioFormat: stereo()}},
			{Name: "text", Type: native.TypeInfo{Type: native.Text}},
		},
		ParamSchema: `{"type":"object","properties":{"gain_db":{"type":"number","default":0}}}`,
		Categories:  []string{"audio", "filters"},
	}
}
