package probe

import (
	"bytes"
	"encoding/gob"
	"errors"
	"io"
	"io/fs"
	"reflect"
	"syscall"
	"testing"

	"github.com/plugwatch/plugwatch/native"
)

// roundTrip sends r through gob as a helper does.
func roundTrip(t *testing.T, r reply) reply {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(r); err != nil {
		t.Fatal(err)
	}
	var got reply
	if err := gob.NewDecoder(&buf).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMetadataRoundTrip(t *testing.T) {
	cases := []native.Metadata{
		{ // what native reports for the emptiest library
			Inputs: []native.InputPin{}, Outputs: []native.OutputPin{}, Categories: []string{}, ParamSchema: "{}",
		},
		{
			Kind:        "gain\xff\xfe not UTF-8 <&>",
			APIVersion:  9,
			Description: "",
			Inputs: []native.InputPin{
				{Name: "in", Types: []native.TypeInfo{
					{Type: native.RawAudio, AudioFormat: &native.AudioFormat{}}, // "any" format: zero, not nil
					{Type: native.RawAudio, AudioFormat: &native.AudioFormat{SampleRate: 48000, Channels: 2, SampleFormat: 1}},
					{Type: native.Custom, CustomTypeID: "x.y"},
				}},
				{Name: "", Types: []native.TypeInfo{}},
			},
			Outputs: []native.OutputPin{
				{Name: "out", Type: native.TypeInfo{Type: native.PacketType(42)}},
				{Name: "zero", Type: native.TypeInfo{}},
			},
			ParamSchema: " { \"type\" :\n\"object\" } ", // whitespace kept, not compacted
			Categories:  []string{"", "audio"},
		},
		{ParamSchema: `"a JSON string"`, Inputs: []native.InputPin{}, Outputs: []native.OutputPin{}, Categories: []string{}},
	}
	for _, md := range cases {
		got, err := roundTrip(t, toWire(md, nil)).result("/lib.so")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, md) {
			t.Errorf("round trip of\n%#v\ngave\n%#v", md, got)
		}
	}
}

func TestErrorRoundTrip(t *testing.T) {
	sentinelErrors := []error{
		native.ErrIncomplete, native.ErrNotLoadable, native.ErrLoader, native.ErrNoEntry,
		native.ErrABIVersion, native.ErrMetadata, native.ErrInvalidKind, native.ErrClosed,
		native.ErrUnsupported, io.EOF, io.ErrUnexpectedEOF,
	}
	for _, s := range sentinelErrors {
		in := &native.Error{Op: "open", Path: "/abs/lib.so", Err: s, Detail: "why"}
		md, err := roundTrip(t, toWire(native.Metadata{}, in)).result("lib.so")
		want := &native.Error{Op: "open", Path: "lib.so", Err: s, Detail: "why"}
		if !reflect.DeepEqual(err, want) || !reflect.DeepEqual(md, native.Metadata{}) {
			t.Errorf("%v: got %#v and %#v", s, err, md)
		}
	}

	_, err := roundTrip(t, toWire(native.Metadata{}, &native.Error{Op: "check", Path: "/x", Err: syscall.ENOENT})).result("x")
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "native: check x: no such file or directory" {
		t.Errorf("errno: got %v", err)
	}
	_, err = roundTrip(t, toWire(native.Metadata{}, errors.New("something else"))).result("x")
	if err == nil || err.Error() != "something else" {
		t.Errorf("plain error: got %v", err)
	}

	// Metadata and an error together: closing failed after the metadata was read.
	md := native.Metadata{Kind: "k", Inputs: []native.InputPin{}, Outputs: []native.OutputPin{}, Categories: []string{}, ParamSchema: "{}"}
	gotMD, err := roundTrip(t, toWire(md, &native.Error{Op: "close", Path: "/x", Err: native.ErrLoader})).result("/x")
	if !errors.Is(err, native.ErrLoader) || !reflect.DeepEqual(gotMD, md) {
		t.Errorf("metadata and error: got %#v, %v", gotMD, err)
	}
}
