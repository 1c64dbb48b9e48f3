package trial

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// The WAVE format tags plugwatch reads and writes.
const (
	formatPCM        = 1
	formatFloat      = 3
	formatExtensible = 0xFFFE
)

// maxWAV bounds the WAV files ReadWAV reads: an input of over 1 GiB is a mistake.
const maxWAV = 1 << 30

// ErrWAV is what ReadWAV's errors about a file's content match.
var ErrWAV = errors.New("not a WAV file plugwatch reads")

// wavFormat returns the sample format and bits of the decoder d of data, or what
// plugwatch cannot read about them, its rate or its channels.
func wavFormat(d *wav.Decoder, data []byte) (format, bits int, problem string) {
	format, bits = int(d.WavAudioFormat), int(d.BitDepth)
	if format == formatExtensible {
		format = extensibleSubformat(data)
	}
	switch {
	case format == formatPCM && (bits == 16 || bits == 24 || bits == 32):
	case format == formatFloat && bits == 32:
	case format == formatPCM || format == formatFloat:
		return 0, 0, fmt.Sprintf("%d-bit samples; use 16, 24 or 32-bit PCM or 32-bit float", bits)
	default:
		return 0, 0, fmt.Sprintf("format %d; use PCM (1) or IEEE float (3)", format)
	}
	if d.SampleRate == 0 || d.SampleRate > maxRate {
		return 0, 0, fmt.Sprintf("sample rate %d; plugwatch reads 1 to %d Hz", d.SampleRate, maxRate)
	}
	if d.NumChans > maxChannels {
		return 0, 0, fmt.Sprintf("%d channels; plugwatch reads 1 to %d", d.NumChans, maxChannels)
	}
	return format, bits, ""
}

// ReadWAV reads a WAV file of 16, 24 or 32-bit PCM or 32-bit float samples (the
// plain formats or WAVE_FORMAT_EXTENSIBLE) into float samples: PCM scaled to
// [-1, 1), float as it is. A file it cannot read is an *os.PathError: the system's
// error, or one matching ErrWAV that says what is wrong.
func ReadWAV(path string) (s *Samples, err error) {
	fail := func(format string, args ...any) (*Samples, error) {
		return nil, &os.PathError{Op: "read WAV", Path: path, Err: fmt.Errorf("%w: "+format, append([]any{ErrWAV}, args...)...)}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxWAV {
		return fail("%d bytes, over the limit of 1 GiB", fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// The decoder trusts the file's sizes; a hostile file must not take plugwatch
	// down with it.
	defer func() {
		if v := recover(); v != nil {
			s, err = fail("malformed (%v)", v)
		}
	}()
	if problem := chunkProblem(data); problem != "" {
		return fail("%s", problem)
	}
	d := wav.NewDecoder(bytes.NewReader(data))
	if !d.IsValidFile() {
		return fail("no RIFF WAVE header with a format and audio data")
	}
	format, bits, problem := wavFormat(d, data)
	if problem != "" {
		return fail("%s", problem)
	}
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return fail("%v", err)
	}
	ch := int(d.NumChans)
	n := len(buf.Data) / ch * ch // whole frames only
	out := &Samples{Rate: int(d.SampleRate), Channels: ch, Data: make([]float32, n)}
	if format == formatFloat {
		for i, v := range buf.Data[:n] {
			out.Data[i] = math.Float32frombits(uint32(int32(v)))
		}
	} else {
		scale := 1 / float64(uint64(1)<<(bits-1))
		for i, v := range buf.Data[:n] {
			out.Data[i] = float32(float64(v) * scale)
		}
	}
	return out, nil
}

// chunkProblem says what is wrong with the RIFF chunks of data, or "". The decoder
// allocates what a chunk's size says before it reads the chunk, so a size past the
// end of the file is refused here (but the data chunk's: a truncated file's samples
// are read up to its end).
func chunkProblem(data []byte) string {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return "no RIFF WAVE header"
	}
	for off := 12; off+8 <= len(data); {
		id, size := data[off:off+4], uint64(binary.LittleEndian.Uint32(data[off+4:]))
		body := off + 8
		if size > uint64(len(data)-body) {
			if string(id) == "data" {
				return ""
			}
			return fmt.Sprintf("its chunk %q of %d bytes runs past the end of the file", id, size)
		}
		off = body + int(size) + int(size&1)
	}
	return ""
}

// extensibleSubformat returns the format tag in the sub-format GUID of a
// WAVE_FORMAT_EXTENSIBLE file's fmt chunk (its first two bytes), which the decoder
// does not keep; 0 when there is none.
func extensibleSubformat(data []byte) int {
	for off := 12; off+8 <= len(data); {
		id, size := string(data[off:off+4]), int(binary.LittleEndian.Uint32(data[off+4:]))
		body := off + 8
		if id == "fmt " {
			if size < 40 || body+26 > len(data) {
				return 0
			}
			return int(binary.LittleEndian.Uint16(data[body+24:]))
		}
		if size < 0 || size > len(data) {
			return 0
		}
		off = body + size + size&1
	}
	return 0
}

// WriteWAV writes s to path as a WAV file of 32-bit IEEE float samples (format tag
// 3). The file is written under a temporary name in path's folder and renamed over
// path, so path is never half written. Errors are *os.PathError naming path.
func WriteWAV(path string, s *Samples) (err error) {
	rate, ch := s.Rate, s.Channels
	if rate <= 0 {
		rate = DefaultRate
	}
	if ch <= 0 {
		ch = DefaultChannels
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return &os.PathError{Op: "write WAV", Path: path, Err: cause(err)}
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = &os.PathError{Op: "write WAV", Path: path, Err: cause(err)}
		}
	}()
	if err := f.Chmod(0o644); err != nil { // CreateTemp's 0600 is for secrets
		return err
	}
	enc := wav.NewEncoder(f, rate, 32, ch, formatFloat)
	// The encoder writes integers; a float's bits as an int32 are written as they
	// are, which is the float sample.
	const chunk = 1 << 16
	data := s.Data[:len(s.Data)/ch*ch]
	ints := make([]int, 0, min(chunk, len(data)))
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), chunk/ch*ch)
		ints = ints[:0]
		for _, v := range data[:n] {
			ints = append(ints, int(int32(math.Float32bits(v))))
		}
		buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: ch, SampleRate: rate}, Data: ints, SourceBitDepth: 32}
		if err := enc.Write(buf); err != nil {
			return err
		}
		data = data[n:]
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// cause strips an *os.PathError down to its error: WriteWAV names path itself.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
