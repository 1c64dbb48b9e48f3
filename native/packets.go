package native

// Packet is a packet going into or coming out of a plugin instance, in Go memory. The
// packet types are AudioFrame, TextPacket, TranscriptionPacket, CustomPacket,
// BinaryPacket, OpusPacket, EncodedAudioPacket, EncodedVideoPacket,
// BinaryWithMetaPacket and VideoFrame.
//
// A packet handed to an instance is copied into C memory for the call; the instance
// keeps nothing of it. A packet an instance outputs is a copy the receiver owns.
type Packet interface {
	// PacketType returns the packet's ABI type.
	PacketType() PacketType
}

// PacketMetadata is a CPacketMetadata: optional timing and sequencing of a packet.
// Each value counts only when its Has field is true.
type PacketMetadata struct {
	TimestampUS  uint64 // microseconds
	HasTimestamp bool
	DurationUS   uint64 // microseconds
	HasDuration  bool
	Sequence     uint64
	HasSequence  bool
}

// AudioFrame is raw audio (a CAudioFrame): interleaved 32-bit float samples, all
// channels counted in Samples (frames × channels).
type AudioFrame struct {
	SampleRate uint32
	Channels   uint16
	Samples    []float32
	// Metadata is sent to and read from plugins of API version 6 and later, whose
	// frame has a metadata field; nil means none (NULL).
	Metadata *PacketMetadata
}

// TextPacket is UTF-8 text. Sent to a plugin, it is NUL-terminated (and must not
// contain a NUL byte); read from one, it ends at its first NUL.
type TextPacket string

// TranscriptionPacket is a transcription as UTF-8 JSON, sent and read as it is:
// {"text", "segments":[{"text","start_time_ms","end_time_ms","confidence"}],
// "language", "metadata"}.
type TranscriptionPacket []byte

// CustomPacket is a CCustomPacket: a value of a custom type, as JSON.
type CustomPacket struct {
	TypeID string // must not contain a NUL byte
	// Encoding is the payload's encoding; 0, the only one defined, is JSON.
	Encoding int32
	JSON     []byte
	Metadata *PacketMetadata // nil means none (NULL)
}

// BinaryPacket is opaque bytes.
type BinaryPacket []byte

// OpusPacket is Opus-encoded audio.
type OpusPacket []byte

// EncodedAudioPacket is encoded audio (API version 8 and later); the codec is the
// pin type's CustomTypeID.
type EncodedAudioPacket []byte

// EncodedVideoPacket is encoded video (API version 3 and later); the codec is the pin
// type's CustomTypeID.
type EncodedVideoPacket []byte

// BinaryWithMetaPacket is a CBinaryPacket (API version 7 and later): bytes with an
// optional MIME content type and metadata.
type BinaryWithMetaPacket struct {
	Data        []byte
	ContentType string          // "" means none (NULL); must not contain a NUL byte
	Metadata    *PacketMetadata // nil means none (NULL)
}

// PixelFormat is the layout of a VideoFrame's pixels.
type PixelFormat int32

// The pixel formats of the ABI.
const (
	RGBA8 PixelFormat = 0
	I420  PixelFormat = 1
	NV12  PixelFormat = 2
)

// VideoFrame is a CVideoFrame: raw video (API version 3 and later).
type VideoFrame struct {
	Width, Height uint32
	PixelFormat   PixelFormat
	Data          []byte
	// Metadata is sent to and read from plugins of API version 6 and later; nil
	// means none (NULL).
	Metadata *PacketMetadata
}

// PacketType returns RawAudio.
func (AudioFrame) PacketType() PacketType { return RawAudio }

// PacketType returns Text.
func (TextPacket) PacketType() PacketType { return Text }

// PacketType returns Transcription.
func (TranscriptionPacket) PacketType() PacketType { return Transcription }

// PacketType returns Custom.
func (CustomPacket) PacketType() PacketType { return Custom }

// PacketType returns Binary.
func (BinaryPacket) PacketType() PacketType { return Binary }

// PacketType returns OpusAudio.
func (OpusPacket) PacketType() PacketType { return OpusAudio }

// PacketType returns EncodedAudio.
func (EncodedAudioPacket) PacketType() PacketType { return EncodedAudio }

// PacketType returns EncodedVideo.
func (EncodedVideoPacket) PacketType() PacketType { return EncodedVideo }

// PacketType returns BinaryWithMeta.
func (BinaryWithMetaPacket) PacketType() PacketType { return BinaryWithMeta }

// PacketType returns RawVideo.
func (VideoFrame) PacketType() PacketType { return RawVideo }

// sinceVersion returns the first API version that knows packets of type t.
func sinceVersion(t PacketType) uint32 {
	switch t {
	case RawVideo, EncodedVideo:
		return 3
	case BinaryWithMeta:
		return 7
	case EncodedAudio:
		return 8
	}
	return 1
}
