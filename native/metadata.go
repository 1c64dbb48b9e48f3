package native

import (
	"encoding/json"
	"fmt"
	"slices"
)

// PacketType is a packet type discriminant of the ABI (CPacketTypeInfo.type_discriminant).
type PacketType int32

// The packet types of docs/abi.md.
const (
	RawAudio       PacketType = 0
	OpusAudio      PacketType = 1
	Text           PacketType = 2
	Transcription  PacketType = 3
	Custom         PacketType = 4
	Binary         PacketType = 5
	Any            PacketType = 6
	Passthrough    PacketType = 7
	RawVideo       PacketType = 8
	EncodedVideo   PacketType = 9
	BinaryWithMeta PacketType = 10 // since API version 7
	EncodedAudio   PacketType = 11 // since API version 8
)

var packetTypeNames = [...]string{
	RawAudio:       "raw_audio",
	OpusAudio:      "opus_audio",
	Text:           "text",
	Transcription:  "transcription",
	Custom:         "custom",
	Binary:         "binary",
	Any:            "any",
	Passthrough:    "passthrough",
	RawVideo:       "raw_video",
	EncodedVideo:   "encoded_video",
	BinaryWithMeta: "binary_with_meta",
	EncodedAudio:   "encoded_audio",
}

func (t PacketType) known() bool { return t >= 0 && int(t) < len(packetTypeNames) }

// String returns the type's name as `inspect --json` prints it ("raw_audio", ...),
// or "PacketType(N)" for an unknown discriminant.
func (t PacketType) String() string {
	if t.known() {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", int32(t))
}

// MarshalJSON returns the type's name as a JSON string; an unknown type is an error.
func (t PacketType) MarshalJSON() ([]byte, error) {
	if !t.known() {
		return nil, fmt.Errorf("native: unknown packet type %d", int32(t))
	}
	return json.Marshal(t.String())
}

// UnmarshalJSON accepts the names MarshalJSON writes.
func (t *PacketType) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	i := slices.Index(packetTypeNames[:], name)
	if i < 0 {
		return fmt.Errorf("native: unknown packet type %q", name)
	}
	*t = PacketType(i)
	return nil
}

// AudioFormat is a CAudioFormat. A zero SampleRate or Channels means "any";
// SampleFormat is 0 for f32 and 1 for s16le.
type AudioFormat struct {
	SampleRate   uint32 `json:"sample_rate"`
	Channels     uint16 `json:"channels"`
	SampleFormat int32  `json:"sample_format"`
}

// TypeInfo is a CPacketTypeInfo. AudioFormat is set exactly for RawAudio. CustomTypeID
// is set for Custom (the custom type) and, when the library gives one, for
// EncodedVideo and EncodedAudio (the codec); it is empty for other types.
type TypeInfo struct {
	Type         PacketType   `json:"type"`
	AudioFormat  *AudioFormat `json:"audio_format,omitempty"`
	CustomTypeID string       `json:"custom_type_id,omitempty"`
}

// MarshalJSON writes the three keys always: audio_format and custom_type_id are null
// where they do not apply, as the C pointers are NULL.
func (t TypeInfo) MarshalJSON() ([]byte, error) {
	var id *string
	if t.CustomTypeID != "" {
		id = &t.CustomTypeID
	}
	return json.Marshal(struct {
		Type         PacketType   `json:"type"`
		AudioFormat  *AudioFormat `json:"audio_format"`
		CustomTypeID *string      `json:"custom_type_id"`
	}{t.Type, t.AudioFormat, id})
}

// InputPin is a CInputPin: a named input and the packet types it accepts.
// Types is never nil.
type InputPin struct {
	Name  string     `json:"name"`
	Types []TypeInfo `json:"types"`
}

// OutputPin is a COutputPin: a named output and the packet type it produces.
type OutputPin struct {
	Name string   `json:"name"`
	Type TypeInfo `json:"type"`
}

// Schema is a param_schema: JSON Schema text as the library reports it.
type Schema string

// MarshalJSON emits s as raw JSON when it is valid JSON, else as a JSON string.
func (s Schema) MarshalJSON() ([]byte, error) {
	if json.Valid([]byte(s)) {
		return []byte(s), nil
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON accepts what MarshalJSON writes: a JSON string is taken as the schema
// text, any other JSON value as the schema itself.
func (s *Schema) UnmarshalJSON(b []byte) error {
	var text string
	if json.Unmarshal(b, &text) == nil {
		*s = Schema(text)
		return nil
	}
	*s = Schema(b)
	return nil
}

// Metadata is a library's CNodeMetadata, copied into Go memory. Its JSON form is the
// shape of `inspect --json` (docs/cli.md) without the "library" field. Its strings and
// arrays together are at most 4 MiB (counting the arrays at their C size): a library
// whose metadata is larger is refused with ErrMetadata before more is copied.
type Metadata struct {
	// Kind is the kind exactly as the library reports it: neither normalised nor
	// checked against docs/formats.md beyond being non-NULL and at most 64 KiB.
	Kind string `json:"kind"`
	// APIVersion is the version the API table reports.
	APIVersion  uint32      `json:"api_version"`
	Description string      `json:"description"`  // "" when NULL
	Inputs      []InputPin  `json:"inputs"`       // never nil
	Outputs     []OutputPin `json:"outputs"`      // never nil
	ParamSchema Schema      `json:"param_schema"` // "{}" when NULL or empty
	Categories  []string    `json:"categories"`   // never nil
}

// clone returns a deep copy of m.
func (m Metadata) clone() Metadata {
	c := m
	c.Inputs = make([]InputPin, len(m.Inputs))
	for i, p := range m.Inputs {
		c.Inputs[i] = InputPin{Name: p.Name, Types: make([]TypeInfo, len(p.Types))}
		for j, t := range p.Types {
			c.Inputs[i].Types[j] = t.clone()
		}
	}
	c.Outputs = make([]OutputPin, len(m.Outputs))
	for i, p := range m.Outputs {
		c.Outputs[i] = OutputPin{Name: p.Name, Type: p.Type.clone()}
	}
	c.Categories = append(make([]string, 0, len(m.Categories)), m.Categories...)
	return c
}

func (t TypeInfo) clone() TypeInfo {
	if t.AudioFormat != nil {
		f := *t.AudioFormat
		t.AudioFormat = &f
	}
	return t
}
