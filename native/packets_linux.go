//go:build linux && (amd64 || arm64)

package native

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// Packets in C memory. A CPacket is { int32 packet_type; const void *data;
// size_t len; }; what data points to depends on the type and, for some types, on the
// API version.
const (
	cPacketSize = 24

	// CAudioFrame: 24 bytes before version 6, then buffer_handle and metadata.
	audRate, audChannels, audSamples, audCount, audBuffer, audMetadata = 0, 4, 8, 16, 24, 32

	// CCustomPacket, 40 bytes.
	cpTypeID, cpEncoding, cpData, cpLen, cpMetadata, cpSize = 0, 8, 16, 24, 32, 40

	// CBinaryPacket: 32 bytes, 48 from version 9 (buffer_handle, free_fn).
	bpData, bpLen, bpContentType, bpMetadata = 0, 8, 16, 24

	// CVideoFrame: 32 bytes, 48 from version 6 (buffer_handle, metadata).
	vfWidth, vfHeight, vfFormat, vfData, vfLen, vfBuffer, vfMetadata = 0, 4, 8, 16, 24, 32, 40

	// CPacketMetadata, 48 bytes: each value then its bool, 8-byte aligned.
	pmSize = 48
)

func audioFrameSize(version uint32) int {
	if version >= 6 {
		return 40
	}
	return 24
}

func binaryPacketSize(version uint32) int {
	if version >= 9 {
		return 48
	}
	return 32
}

func videoFrameSize(version uint32) int {
	if version >= 6 {
		return 48
	}
	return 32
}

// Reading what a plugin gives the host. Addresses are trusted as in cmem_linux.go;
// everything is copied before the callback returns.

// cStringView returns the bytes of the NUL-terminated string at addr (not NULL),
// without copying, cut at limit bytes.
func cStringView(addr uintptr, limit int) []byte {
	const chunk = 4096 // see readCString: pieces end at page boundaries
	n := 0
	for n < limit {
		p := addr + uintptr(n)
		size := min(chunk-int(p%chunk), limit-n)
		if i := bytes.IndexByte(peek(p, size), 0); i >= 0 {
			return peek(addr, n+i)
		}
		n += size
	}
	return peek(addr, limit)
}

// cString copies the string at addr, "" when NULL, cut at limit bytes.
func cString(addr uintptr, limit int) string {
	if addr == 0 {
		return ""
	}
	return string(cStringView(addr, limit))
}

// copyBytes copies n bytes at addr (not NULL unless n is 0).
func copyBytes(addr, n uintptr) []byte {
	if n == 0 {
		return []byte{}
	}
	return bytes.Clone(peek(addr, int(n)))
}

// outputMemory is where readPacket copies the slices of a packet: new memory for
// each packet when nil (the receiver owns it), else buffers reused by every packet.
type outputMemory struct {
	samples []float32
	bytes   []byte
}

// copyFloats copies n samples at addr (not NULL unless n is 0).
func (m *outputMemory) copyFloats(addr uintptr, n int) []float32 {
	if n == 0 {
		return []float32{}
	}
	src := unsafe.Slice((*float32)(pointer(addr)), n)
	if m == nil {
		return slices.Clone(src) // not zeroed first, unlike make
	}
	if cap(m.samples) < n {
		m.samples = make([]float32, n)
	}
	return m.samples[:copy(m.samples[:n], src)]
}

// copyBytes copies n bytes at addr (not NULL unless n is 0).
func (m *outputMemory) copyBytes(addr, n uintptr) []byte {
	if m == nil {
		return copyBytes(addr, n)
	}
	if uintptr(cap(m.bytes)) < n {
		m.bytes = make([]byte, n)
	}
	b := m.bytes[:n]
	if n > 0 {
		copy(b, peek(addr, int(n)))
	}
	return b
}

// readMetadataPtr copies the CPacketMetadata at addr; nil when NULL.
func readMetadataPtr(addr uintptr) *PacketMetadata {
	if addr == 0 {
		return nil
	}
	b := peek(addr, pmSize)
	return &PacketMetadata{
		TimestampUS:  binary.NativeEndian.Uint64(b[0:]),
		HasTimestamp: b[8] != 0,
		DurationUS:   binary.NativeEndian.Uint64(b[16:]),
		HasDuration:  b[24] != 0,
		Sequence:     binary.NativeEndian.Uint64(b[32:]),
		HasSequence:  b[40] != 0,
	}
}

// readPacket copies the CPacket at addr from a plugin of the given version, its
// slices into m. problem says what is wrong with a packet that cannot be read (then p
// is nil).
func readPacket(addr uintptr, version uint32, m *outputMemory) (p Packet, problem string) {
	if addr == 0 {
		return nil, "NULL packet"
	}
	t := PacketType(readI32(addr))
	data, n := readPtr(addr+8), uintptr(readU64(addr+16))
	if data == 0 && (n > 0 || t == RawAudio || t == Custom || t == BinaryWithMeta || t == RawVideo) {
		return nil, fmt.Sprintf("%v packet with NULL data", t)
	}
	switch t {
	case RawAudio:
		return readAudio(data, n, version, m)
	case Text:
		b := peek(data, int(n))
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return TextPacket(b), ""
	case Transcription:
		return TranscriptionPacket(m.copyBytes(data, n)), ""
	case Binary:
		return BinaryPacket(m.copyBytes(data, n)), ""
	case OpusAudio:
		return OpusPacket(m.copyBytes(data, n)), ""
	case EncodedAudio:
		return EncodedAudioPacket(m.copyBytes(data, n)), ""
	case EncodedVideo:
		return EncodedVideoPacket(m.copyBytes(data, n)), ""
	case Custom:
		return readCustom(data, n, m)
	case BinaryWithMeta:
		return readBinaryWithMeta(data, n, m)
	case RawVideo:
		return readVideo(data, n, version, m)
	}
	return nil, fmt.Sprintf("packet type %d cannot be output", int32(t))
}

// bytesAt copies the buffer whose pointer is at ptrAt and whose length is at lenAt;
// a NULL pointer with a length is the problem ifNull.
func (m *outputMemory) bytesAt(ptrAt, lenAt uintptr, ifNull string) ([]byte, string) {
	p, n := readPtr(ptrAt), uintptr(readU64(lenAt))
	if p == 0 && n > 0 {
		return nil, ifNull
	}
	return m.copyBytes(p, n), ""
}

// readAudio reads a raw_audio packet's AudioFrame of n bytes at data.
func readAudio(data, n uintptr, version uint32, m *outputMemory) (Packet, string) {
	if int(n) < audioFrameSize(1) {
		return nil, fmt.Sprintf("raw_audio packet of %d bytes", n)
	}
	f := AudioFrame{SampleRate: readU32(data + audRate), Channels: readU16(data + audChannels)}
	samples, count := readPtr(data+audSamples), uintptr(readU64(data+audCount))
	if samples == 0 && count > 0 {
		return nil, "raw_audio frame with NULL samples"
	}
	f.Samples = m.copyFloats(samples, int(count))
	if version >= 6 && int(n) >= audioFrameSize(6) {
		f.Metadata = readMetadataPtr(readPtr(data + audMetadata))
	}
	return f, ""
}

// readCustom reads a custom packet's CustomPacket of n bytes at data.
func readCustom(data, n uintptr, m *outputMemory) (Packet, string) {
	if n < cpSize {
		return nil, fmt.Sprintf("custom packet of %d bytes", n)
	}
	c := CustomPacket{
		TypeID:   cString(readPtr(data+cpTypeID), maxString),
		Encoding: readI32(data + cpEncoding),
		Metadata: readMetadataPtr(readPtr(data + cpMetadata)),
	}
	var problem string
	if c.JSON, problem = m.bytesAt(data+cpData, data+cpLen, "custom packet with NULL data_json"); problem != "" {
		return nil, problem
	}
	return c, ""
}

// readBinaryWithMeta reads a binary_with_meta packet's BinaryWithMetaPacket of n bytes
// at data.
func readBinaryWithMeta(data, n uintptr, m *outputMemory) (Packet, string) {
	if int(n) < binaryPacketSize(7) {
		return nil, fmt.Sprintf("binary_with_meta packet of %d bytes", n)
	}
	b := BinaryWithMetaPacket{
		ContentType: cString(readPtr(data+bpContentType), maxString),
		Metadata:    readMetadataPtr(readPtr(data + bpMetadata)),
	}
	var problem string
	if b.Data, problem = m.bytesAt(data+bpData, data+bpLen, "binary_with_meta packet with NULL data"); problem != "" {
		return nil, problem
	}
	return b, ""
}

// readVideo reads a raw_video packet's VideoFrame of n bytes at data.
func readVideo(data, n uintptr, version uint32, m *outputMemory) (Packet, string) {
	if int(n) < videoFrameSize(3) {
		return nil, fmt.Sprintf("raw_video packet of %d bytes", n)
	}
	v := VideoFrame{
		Width:       readU32(data + vfWidth),
		Height:      readU32(data + vfHeight),
		PixelFormat: PixelFormat(readI32(data + vfFormat)),
	}
	var problem string
	if v.Data, problem = m.bytesAt(data+vfData, data+vfLen, "raw_video frame with NULL data"); problem != "" {
		return nil, problem
	}
	if version >= 6 && int(n) >= videoFrameSize(6) {
		v.Metadata = readMetadataPtr(readPtr(data + vfMetadata))
	}
	return v, ""
}

// Writing packets for a plugin, into an instance's C memory.

// packetRoom returns an upper bound of the bytes writePacket needs for p in the given
// version, or what makes p impossible to send.
func packetRoom(p Packet, version uint32) (int, string) {
	if p == nil {
		return 0, "nil packet"
	}
	t := p.PacketType()
	if v := sinceVersion(t); version < v {
		return 0, fmt.Sprintf("%v packets need API version %d; the plugin has %d", t, v, version)
	}
	// The CPacket, the struct data points to, a CPacketMetadata and alignment.
	const fixed = cPacketSize + 48 + pmSize + 8*16
	switch p := p.(type) {
	case AudioFrame:
		return fixed + 4*len(p.Samples), ""
	case *AudioFrame:
		return fixed + 4*len(p.Samples), ""
	case TextPacket:
		if bytes.IndexByte([]byte(p), 0) >= 0 {
			return 0, "text holds a NUL byte"
		}
		return fixed + len(p) + 1, ""
	case TranscriptionPacket:
		return fixed + len(p), ""
	case CustomPacket:
		if bytes.IndexByte([]byte(p.TypeID), 0) >= 0 {
			return 0, "custom type id holds a NUL byte"
		}
		return fixed + len(p.TypeID) + 1 + len(p.JSON), ""
	case BinaryPacket:
		return fixed + len(p), ""
	case OpusPacket:
		return fixed + len(p), ""
	case EncodedAudioPacket:
		return fixed + len(p), ""
	case EncodedVideoPacket:
		return fixed + len(p), ""
	case BinaryWithMetaPacket:
		if bytes.IndexByte([]byte(p.ContentType), 0) >= 0 {
			return 0, "content type holds a NUL byte"
		}
		return fixed + len(p.Data) + len(p.ContentType) + 1, ""
	case VideoFrame:
		return fixed + len(p.Data), ""
	}
	return 0, fmt.Sprintf("unknown packet type %T", p)
}

// cWriter lays out C values in b, whose first byte is at base, from offset off on.
type cWriter struct {
	b    []byte
	base uintptr
	off  int
}

// alloc returns the offset of n new bytes aligned to align (a power of two).
func (w *cWriter) alloc(n, align int) int {
	w.off = (w.off + align - 1) &^ (align - 1)
	at := w.off
	w.off += n
	return at
}

func (w *cWriter) addr(off int) uintptr   { return w.base + uintptr(off) }
func (w *cWriter) u16(off int, v uint16)  { binary.NativeEndian.PutUint16(w.b[off:], v) }
func (w *cWriter) u32(off int, v uint32)  { binary.NativeEndian.PutUint32(w.b[off:], v) }
func (w *cWriter) i32(off int, v int32)   { w.u32(off, uint32(v)) }
func (w *cWriter) u64(off int, v uint64)  { binary.NativeEndian.PutUint64(w.b[off:], v) }
func (w *cWriter) ptr(off int, v uintptr) { w.u64(off, uint64(v)) }

func (w *cWriter) flag(off int, v bool) {
	w.b[off] = 0
	if v {
		w.b[off] = 1
	}
}

// structAt returns the offset of a new zeroed C struct of size bytes, and size.
func (w *cWriter) structAt(size int) (int, int) {
	at := w.alloc(size, 8)
	clear(w.b[at : at+size])
	return at, size
}

// data copies b and returns its address.
func (w *cWriter) data(b []byte) uintptr {
	at := w.alloc(len(b), 16)
	copy(w.b[at:], b)
	return w.addr(at)
}

// cstring copies s with a NUL and returns its address.
func (w *cWriter) cstring(s string) uintptr {
	at := w.alloc(len(s)+1, 1)
	w.b[at+copy(w.b[at:], s)] = 0
	return w.addr(at)
}

// cbytes copies b with a NUL and returns its address.
func (w *cWriter) cbytes(b []byte) uintptr {
	at := w.alloc(len(b)+1, 1)
	w.b[at+copy(w.b[at:], b)] = 0
	return w.addr(at)
}

// optString is cstring, or 0 (NULL) for "".
func (w *cWriter) optString(s string) uintptr {
	if s == "" {
		return 0
	}
	return w.cstring(s)
}

// metadata writes m and returns its address; 0 for nil.
func (w *cWriter) metadata(m *PacketMetadata) uintptr {
	if m == nil {
		return 0
	}
	at, _ := w.structAt(pmSize)
	w.u64(at, m.TimestampUS)
	w.flag(at+8, m.HasTimestamp)
	w.u64(at+16, m.DurationUS)
	w.flag(at+24, m.HasDuration)
	w.u64(at+32, m.Sequence)
	w.flag(at+40, m.HasSequence)
	return w.addr(at)
}

// writePacket writes p (checked by packetRoom, which sized w) for a plugin of the
// given version and returns the CPacket's address. Every data pointer is non-NULL,
// even for empty data, as Rust plugins need.
func (w *cWriter) writePacket(p Packet, version uint32) uintptr {
	pk := w.alloc(cPacketSize, 8)
	var data uintptr
	var n int
	switch p := p.(type) {
	case *AudioFrame:
		data, n = w.audio(p, version)
	case AudioFrame:
		data, n = w.audio(&p, version)
	case TextPacket:
		data, n = w.cstring(string(p)), len(p)+1
	case TranscriptionPacket:
		data, n = w.data(p), len(p)
	case BinaryPacket:
		data, n = w.data(p), len(p)
	case OpusPacket:
		data, n = w.data(p), len(p)
	case EncodedAudioPacket:
		data, n = w.data(p), len(p)
	case EncodedVideoPacket:
		data, n = w.data(p), len(p)
	case CustomPacket:
		typeID, json, meta := w.cstring(p.TypeID), w.data(p.JSON), w.metadata(p.Metadata)
		at, size := w.structAt(cpSize)
		w.ptr(at+cpTypeID, typeID)
		w.i32(at+cpEncoding, p.Encoding)
		w.ptr(at+cpData, json)
		w.u64(at+cpLen, uint64(len(p.JSON)))
		w.ptr(at+cpMetadata, meta)
		data, n = w.addr(at), size
	case BinaryWithMetaPacket:
		d, ct, meta := w.data(p.Data), w.optString(p.ContentType), w.metadata(p.Metadata)
		at, size := w.structAt(binaryPacketSize(version)) // buffer_handle, free_fn NULL
		w.ptr(at+bpData, d)
		w.u64(at+bpLen, uint64(len(p.Data)))
		w.ptr(at+bpContentType, ct)
		w.ptr(at+bpMetadata, meta)
		data, n = w.addr(at), size
	case VideoFrame:
		d := w.data(p.Data)
		var meta uintptr
		if version >= 6 {
			meta = w.metadata(p.Metadata)
		}
		at, size := w.structAt(videoFrameSize(version)) // buffer_handle NULL
		w.u32(at+vfWidth, p.Width)
		w.u32(at+vfHeight, p.Height)
		w.i32(at+vfFormat, int32(p.PixelFormat))
		w.ptr(at+vfData, d)
		w.u64(at+vfLen, uint64(len(p.Data)))
		if version >= 6 {
			w.ptr(at+vfMetadata, meta)
		}
		data, n = w.addr(at), size
	}
	w.i32(pk, int32(p.PacketType()))
	w.u32(pk+4, 0)
	w.ptr(pk+8, data)
	w.u64(pk+16, uint64(n))
	return w.addr(pk)
}

// audio writes the CAudioFrame of f and returns its address and size.
func (w *cWriter) audio(f *AudioFrame, version uint32) (uintptr, int) {
	s := w.alloc(4*len(f.Samples), 16)
	if len(f.Samples) > 0 {
		copy(unsafe.Slice((*float32)(unsafe.Pointer(&w.b[s])), len(f.Samples)), f.Samples)
	}
	var meta uintptr
	if version >= 6 {
		meta = w.metadata(f.Metadata)
	}
	at, size := w.structAt(audioFrameSize(version)) // buffer_handle NULL
	w.u32(at+audRate, f.SampleRate)
	w.u16(at+audChannels, f.Channels)
	w.ptr(at+audSamples, w.addr(s))
	w.u64(at+audCount, uint64(len(f.Samples)))
	if version >= 6 {
		w.ptr(at+audMetadata, meta)
	}
	return w.addr(at), size
}

// reusedOutput is the output memory of an instance with ReuseOutput, locked while a
// packet in it is with Output (a plugin may output from threads of its own).
type reusedOutput struct {
	mu  sync.Mutex
	mem outputMemory
}
