package trial

import (
	"encoding/json"
	"math"
	"slices"
	"sync"

	"github.com/plugwatch/plugwatch/native"
)

// level accumulates the figures of audio: frames, the sum of squares and the peak
// over every channel.
type level struct {
	rate, channels int // of the first frame
	frames         int
	samples        int
	sumSquares     float64
	peak           float64
}

func (l *level) add(rate, channels int, samples []float32) {
	if l.rate == 0 && l.channels == 0 {
		l.rate, l.channels = rate, channels
	}
	if channels > 0 {
		l.frames += len(samples) / channels
	}
	l.samples += len(samples)
	for _, v := range samples {
		f := float64(v)
		l.sumSquares += f * f
		if a := math.Abs(f); a > l.peak {
			l.peak = a
		}
	}
}

// audio returns the figures.
func (l *level) audio() *Audio {
	a := &Audio{SampleRate: l.rate, Channels: l.channels, Frames: l.frames}
	if l.samples > 0 {
		a.RMSDBFS = dbfs(math.Sqrt(l.sumSquares / float64(l.samples)))
	}
	a.PeakDBFS = dbfs(l.peak)
	return a
}

// dbfs returns v (a linear amplitude, 1 being full scale) in dBFS rounded to 0.01,
// at most 0; nil for 0 (or NaN).
func dbfs(v float64) *float64 {
	if !(v > 0) {
		return nil
	}
	db := math.Round(20*math.Log10(min(v, 1))*100) / 100
	if db == 0 {
		db = 0 // not -0
	}
	return &db
}

// pinStats is what came out of one output pin.
type pinStats struct {
	pin      string
	typ      native.PacketType
	packets  int
	audio    level
	hasAudio bool
	texts    []string
	types    []string
	first    json.RawMessage
	bytes    int
	capture  *Samples // nil unless the pin's audio is kept
}

// collector receives an instance's output packets. Plugins may output from threads
// of their own, so it locks.
type collector struct {
	mu    sync.Mutex
	pins  []*pinStats
	index map[string]int
}

func newCollector(outputs []native.OutputPin, capture []string) *collector {
	c := &collector{index: make(map[string]int, len(outputs))}
	for i, o := range outputs {
		p := &pinStats{pin: o.Name, typ: o.Type.Type}
		if slices.Contains(capture, o.Name) {
			p.capture = &Samples{}
		}
		c.pins = append(c.pins, p)
		c.index[o.Name] = i
	}
	return c
}

// add is the instance's Output function.
func (c *collector) add(pin string, p native.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[pin]
	if !ok {
		// A pin the metadata does not name: report it after the others.
		i = len(c.pins)
		c.pins = append(c.pins, &pinStats{pin: pin, typ: p.PacketType()})
		c.index[pin] = i
	}
	s := c.pins[i]
	s.packets++
	switch p := p.(type) {
	case native.AudioFrame:
		s.hasAudio = true
		s.audio.add(int(p.SampleRate), int(p.Channels), p.Samples)
		if k := s.capture; k != nil {
			if k.Rate == 0 && k.Channels == 0 {
				k.Rate, k.Channels = int(p.SampleRate), int(p.Channels)
			}
			if int(p.SampleRate) == k.Rate && int(p.Channels) == k.Channels {
				k.Data = append(k.Data, p.Samples...)
			}
		}
	case native.TextPacket:
		s.texts = append(s.texts, string(p))
	case native.TranscriptionPacket:
		var t struct {
			Text *string `json:"text"`
		}
		if json.Unmarshal(p, &t) == nil && t.Text != nil {
			s.texts = append(s.texts, *t.Text)
		} else {
			s.texts = append(s.texts, string(p))
		}
	case native.CustomPacket:
		if !slices.Contains(s.types, p.TypeID) {
			s.types = append(s.types, p.TypeID)
		}
		if s.first == nil {
			if json.Valid(p.JSON) {
				s.first = slices.Clone(json.RawMessage(p.JSON))
			} else {
				s.first, _ = json.Marshal(string(p.JSON)) // not JSON: its text
			}
		}
	case native.BinaryPacket:
		s.bytes += len(p)
	case native.OpusPacket:
		s.bytes += len(p)
	case native.EncodedAudioPacket:
		s.bytes += len(p)
	case native.EncodedVideoPacket:
		s.bytes += len(p)
	case native.BinaryWithMetaPacket:
		s.bytes += len(p.Data)
	case native.VideoFrame:
		s.bytes += len(p.Data)
	}
}

// counts returns the packets of each pin so far.
func (c *collector) counts() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := make([]int, len(c.pins))
	for i, p := range c.pins {
		n[i] = p.packets
	}
	return n
}

// outputs returns the report's outputs and the kept audio, by pin.
func (c *collector) outputs() ([]Output, map[string]*Samples) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Output, 0, len(c.pins))
	kept := map[string]*Samples{}
	for _, p := range c.pins {
		o := Output{
			Pin: p.pin, Type: p.typ, Packets: p.packets,
			Texts: p.texts, CustomTypes: p.types, CustomJSON: p.first, Bytes: p.bytes,
		}
		if o.Texts == nil {
			o.Texts = []string{}
		}
		if o.CustomTypes == nil {
			o.CustomTypes = []string{}
		}
		if p.hasAudio || p.typ == native.RawAudio {
			o.Audio = p.audio.audio()
		}
		out = append(out, o)
		if p.capture != nil {
			kept[p.pin] = p.capture
		}
	}
	return out, kept
}

// Counted returns outputs of the pins of the metadata with only their packet
// counts (by index; a count past the pins is of a pin the metadata does not name,
// and is dropped): what is known of a try whose helper died.
func Counted(outputs []native.OutputPin, counts []int) []Output {
	out := make([]Output, len(outputs))
	for i, o := range outputs {
		out[i] = Output{Pin: o.Name, Type: o.Type.Type, Texts: []string{}, CustomTypes: []string{}}
		if i < len(counts) {
			out[i].Packets = counts[i]
		}
	}
	return out
}
