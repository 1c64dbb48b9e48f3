package trial

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// audio reports whether the plan sends audio frames (not text, a transcription or
// nothing).
func (p *plan) audio() bool {
	return p.pin != "" && p.src.Kind != Text && p.src.Kind != 0 && !p.transcription
}

// plan is a Config resolved against a plugin's metadata.
type plan struct {
	params        []byte // nil for NULL
	pin           string // "" when the plugin has no input pin
	inputType     native.PacketType
	src           Source // Kind 0: no packets (or the default transcription)
	transcription bool   // send DefaultTranscription
	rate          int
	channels      int
	frame         int // frames per packet
	total         int // frames of synthetic audio
}

// resolve checks cfg against the metadata and fills in the defaults.
func resolve(md native.Metadata, cfg Config) (*plan, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	p := &plan{}
	switch {
	case cfg.Params == nil:
		p.params = DefaultParams(string(md.ParamSchema))
	case isNull(cfg.Params):
	case !json.Valid(cfg.Params):
		return nil, &OptionError{Option: "params", Value: string(cfg.Params), Problem: "not JSON"}
	default:
		p.params = cfg.Params
	}
	if err := checkCapture(md, cfg.Capture); err != nil {
		return nil, err
	}
	pin, err := inputPin(md, cfg.Pin)
	if err != nil {
		return nil, err
	}
	if pin == nil {
		return p, nil // no input pin: no packets (a source, or create-flush-destroy)
	}
	p.pin = pin.Name
	if err := p.chooseSource(pin, cfg.Input); err != nil {
		return nil, err
	}
	if p.inputType != native.RawAudio {
		return p, nil
	}
	if err := p.shapeAudio(pin, cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// checkCapture checks that every output pin to capture exists and outputs audio.
func checkCapture(md native.Metadata, capture []string) error {
	for _, name := range capture {
		i := -1
		for j, o := range md.Outputs {
			if o.Name == name {
				i = j
			}
		}
		switch {
		case i < 0:
			return &OptionError{Option: "output", Value: name, Problem: "no output pin of that name; " + pinList("output", outputNames(md.Outputs))}
		case !audioType(md.Outputs[i].Type.Type):
			return &OptionError{Option: "output", Value: name, Problem: "the pin outputs " + md.Outputs[i].Type.Type.String() + ", not audio"}
		}
	}
	return nil
}

// inputPin returns the input pin named name, or the first when name is empty; nil
// when the plugin has no input pin and none was named.
func inputPin(md native.Metadata, name string) (*native.InputPin, error) {
	for i := range md.Inputs {
		if name == "" || md.Inputs[i].Name == name {
			return &md.Inputs[i], nil
		}
	}
	if name == "" {
		return nil, nil
	}
	var names []string
	for _, in := range md.Inputs {
		names = append(names, in.Name)
	}
	return nil, &OptionError{Option: "pin", Value: name, Problem: "no input pin of that name; " + pinList("input", names)}
}

// chooseSource sets what is sent to pin and as what type: the --input source when
// one was given (it must suit the pin), else the default for the pin's first type.
func (p *plan) chooseSource(pin *native.InputPin, input string) error {
	var first native.PacketType = native.Any
	if len(pin.Types) > 0 {
		first = pin.Types[0].Type
	}
	if input != "" {
		src, err := ParseInput(input)
		if err != nil {
			return err
		}
		want := native.RawAudio
		if !src.audio() {
			want = native.Text
		}
		if !accepts(pin, want) {
			return &OptionError{Option: "input", Value: input, Problem: "sends " + want.String() + " but pin " + pin.Name + " takes " + typeList(pin)}
		}
		p.src = src
	} else {
		switch first {
		case native.RawAudio, native.Any, native.Passthrough:
			p.src = Source{Kind: Sine, Hz: DefaultSineHz}
		case native.Text:
			p.src = Source{Kind: Text, Text: DefaultText}
		case native.Transcription:
			p.transcription = true
		}
	}
	switch {
	case p.transcription:
		p.inputType = native.Transcription
	case p.src.Kind == Text:
		p.inputType = native.Text
	case p.src.Kind != 0:
		p.inputType = native.RawAudio
	default:
		p.inputType = first
	}
	return nil
}

// shapeAudio sets the rate, channels, frame and length of the audio sent: the
// options, else the pin's first audio format, else the defaults; a WAV file's own.
func (p *plan) shapeAudio(pin *native.InputPin, cfg Config) error {
	p.rate, p.channels = cfg.Rate, cfg.Channels
	for _, t := range pin.Types {
		if t.Type == native.RawAudio && t.AudioFormat != nil {
			if p.rate == 0 {
				p.rate = int(t.AudioFormat.SampleRate)
			}
			if p.channels == 0 {
				p.channels = int(t.AudioFormat.Channels)
			}
			break
		}
	}
	if p.rate == 0 {
		p.rate = DefaultRate
	}
	if p.channels == 0 {
		p.channels = DefaultChannels
	}
	dur := cmp(cfg.Duration, DefaultDuration)
	if p.src.Kind == WAVFile {
		p.rate, p.channels = cfg.WAV.Rate, cfg.WAV.Channels
		p.total = cfg.WAV.Frames()
	} else {
		p.total = int(math.Round(float64(p.rate) * dur.Seconds()))
	}
	frame := cmp(cfg.Frame, DefaultFrame)
	p.frame = int(math.Round(float64(p.rate) * frame.Seconds()))
	if p.frame < 1 {
		return &OptionError{Option: "frame", Value: frame.String(), Problem: "shorter than one sample at " + strconv.Itoa(p.rate) + " Hz"}
	}
	if p.frame*p.channels > 1<<26 {
		return &OptionError{Option: "frame", Value: frame.String(), Problem: "over 64 Mi samples in one packet"}
	}
	return nil
}

// cmp returns d, or def when d is 0.
func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func audioType(t native.PacketType) bool {
	return t == native.RawAudio || t == native.Any || t == native.Passthrough
}

// accepts reports whether the pin takes packets of type t.
func accepts(pin *native.InputPin, t native.PacketType) bool {
	for _, pt := range pin.Types {
		if pt.Type == t || pt.Type == native.Any || pt.Type == native.Passthrough {
			return true
		}
	}
	return false
}

func typeList(pin *native.InputPin) string {
	var names []string
	for _, t := range pin.Types {
		names = append(names, t.Type.String())
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

func outputNames(outs []native.OutputPin) []string {
	var names []string
	for _, o := range outs {
		names = append(names, o.Name)
	}
	return names
}

func pinList(dir string, names []string) string {
	if len(names) == 0 {
		return "the plugin has no " + dir + " pins"
	}
	return "its " + dir + " pins are " + strings.Join(names, ", ")
}

// generator makes the frames of an audio input.
type generator struct {
	src      Source
	rate     int
	channels int
	frame    int
	total    int
	pos      int // frames made
	rng      *rand.Rand
	wav      *Samples
}

func newGenerator(p *plan, wav *Samples) *generator {
	return &generator{
		src: p.src, rate: p.rate, channels: p.channels, frame: p.frame, total: p.total,
		rng: rand.New(rand.NewPCG(noiseSeed, noiseSeed)), wav: wav,
	}
}

// next fills buf with the next frame (the last one may be shorter) and returns the
// part filled, or nil at the end.
func (g *generator) next(buf []float32) []float32 {
	n := min(g.frame, g.total-g.pos)
	if n <= 0 {
		return nil
	}
	out := buf[:n*g.channels]
	switch g.src.Kind {
	case WAVFile:
		copy(out, g.wav.Data[g.pos*g.channels:])
	case Silence:
		clear(out)
	case Noise:
		for i := range out {
			out[i] = float32((g.rng.Float64()*2 - 1) * amplitude)
		}
	case Sine:
		w := 2 * math.Pi * g.src.Hz / float64(g.rate)
		for f := range n {
			v := float32(amplitude * math.Sin(w*float64(g.pos+f)))
			for c := range g.channels {
				out[f*g.channels+c] = v
			}
		}
	}
	g.pos += n
	return out
}
