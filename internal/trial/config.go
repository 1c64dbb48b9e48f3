package trial

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrOptions is what every *OptionError matches: the options of a try do not fit
// the plugin or make no sense. Nothing of the plugin ran.
var ErrOptions = errors.New("invalid try options")

// OptionError is an option of a try that cannot be used: which option ("input",
// "pin", "output", ...), the value given, and what is wrong.
type OptionError struct {
	Option  string
	Value   string
	Problem string
}

// Error returns "--OPTION VALUE: PROBLEM".
func (e *OptionError) Error() string {
	return "--" + e.Option + " " + strconv.Quote(e.Value) + ": " + e.Problem
}

// Unwrap returns ErrOptions.
func (e *OptionError) Unwrap() error { return ErrOptions }

// The defaults of a try's options.
const (
	DefaultDuration = time.Second
	DefaultFrame    = 20 * time.Millisecond
	DefaultRate     = 48000
	DefaultChannels = 1
	DefaultTicks    = 50
)

// Limits that keep a try's synthetic input sane.
const (
	maxRate     = 1 << 20
	maxChannels = 256
)

// Config is what the engine runs: the options of `plugwatch try` with a @FILE of
// params already read and a .wav input already decoded. The zero Config runs a
// plugin with its defaults.
type Config struct {
	// Params is the JSON given to create_instance: nil means the defaults of the
	// plugin's param_schema, the JSON null means NULL.
	Params []byte
	// Input is the source of the packets ("" means what the pin takes); see
	// ParseInput.
	Input string
	// WAV is the decoded audio of an Input naming a .wav file.
	WAV *Samples
	// Pin is the input pin the packets go to; "" means the first.
	Pin string
	// Duration is how long synthetic audio lasts, Frame the length of one packet of
	// audio; 0 means DefaultDuration, DefaultFrame.
	Duration, Frame time.Duration
	// Rate and Channels are those of synthetic audio; 0 means the pin's first raw
	// audio type's, else DefaultRate and DefaultChannels.
	Rate, Channels int
	// Ticks is how many times a source is ticked; 0 means its max_ticks when not
	// 0, else DefaultTicks.
	Ticks int
	// Capture names the output pins whose audio is kept, for a WAV file.
	Capture []string
}

// Samples is interleaved 32-bit float audio.
type Samples struct {
	Rate     int
	Channels int
	Data     []float32 // frames × channels
}

// Frames returns the number of whole frames.
func (s *Samples) Frames() int {
	if s.Channels <= 0 {
		return 0
	}
	return len(s.Data) / s.Channels
}

// SourceKind is what an input source sends.
type SourceKind int

// The input sources.
const (
	Sine SourceKind = iota + 1
	Silence
	Noise
	WAVFile
	Text
)

// Source is a parsed --input.
type Source struct {
	Kind SourceKind
	Hz   float64 // Sine
	Path string  // WAVFile
	Text string  // Text
}

// audio reports whether the source sends raw audio.
func (s Source) audio() bool { return s.Kind != Text }

// ParseInput reads an input source: "sine:HZ" (HZ a positive number), "silence",
// "noise", "text:STRING", or the path of a file ending in .wav (any case). It fails
// with an *OptionError.
func ParseInput(s string) (Source, error) {
	bad := func(problem string) (Source, error) {
		return Source{}, &OptionError{Option: "input", Value: s, Problem: problem}
	}
	switch {
	case strings.HasPrefix(s, "text:"):
		text := strings.TrimPrefix(s, "text:")
		if strings.IndexByte(text, 0) >= 0 {
			return bad("the text holds a NUL byte")
		}
		return Source{Kind: Text, Text: text}, nil
	case strings.HasPrefix(s, "sine:"):
		hz, err := strconv.ParseFloat(strings.TrimPrefix(s, "sine:"), 64)
		if err != nil || !(hz > 0) || math.IsInf(hz, 0) {
			return bad("the frequency is not a positive number of Hz, such as sine:440")
		}
		return Source{Kind: Sine, Hz: hz}, nil
	case s == "silence":
		return Source{Kind: Silence}, nil
	case s == "noise":
		return Source{Kind: Noise}, nil
	case strings.HasSuffix(strings.ToLower(s), ".wav"):
		return Source{Kind: WAVFile, Path: s}, nil
	}
	return bad("use sine:HZ, silence, noise, a FILE.wav or text:STRING")
}

// Check validates what can be checked of c without the plugin: the input source's
// syntax and the ranges of the numbers. It fails with an *OptionError.
func (c *Config) Check() error {
	switch {
	case c.Duration < 0:
		return &OptionError{Option: "duration", Value: c.Duration.String(), Problem: "must not be negative"}
	case c.Frame < 0:
		return &OptionError{Option: "frame", Value: c.Frame.String(), Problem: "must be positive"}
	case c.Rate < 0 || c.Rate > maxRate:
		return &OptionError{Option: "rate", Value: strconv.Itoa(c.Rate), Problem: "use 1 to " + strconv.Itoa(maxRate) + " Hz"}
	case c.Channels < 0 || c.Channels > maxChannels:
		return &OptionError{Option: "channels", Value: strconv.Itoa(c.Channels), Problem: "use 1 to " + strconv.Itoa(maxChannels)}
	case c.Ticks < 0:
		return &OptionError{Option: "ticks", Value: strconv.Itoa(c.Ticks), Problem: "must not be negative"}
	}
	if c.Input != "" {
		src, err := ParseInput(c.Input)
		if err != nil {
			return err
		}
		if src.Kind == WAVFile && c.WAV == nil {
			return &OptionError{Option: "input", Value: c.Input, Problem: "the WAV file was not read"}
		}
	}
	return nil
}
