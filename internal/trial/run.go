package trial

import (
	"errors"
	"math"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// DefaultTranscription is the input of a transcription pin without --input.
const DefaultTranscription = `{"text":"hello","segments":[],"language":"en"}`

// DefaultText is the input of a text pin without --input.
const DefaultText = "hello"

// DefaultSineHz is the frequency of the sine a raw audio pin gets without --input.
const DefaultSineHz = 440

// The amplitude of synthetic audio: sine and noise.
const amplitude = 0.5

// noiseSeed seeds the noise input, the same every run.
const noiseSeed = 0x706c7567 // "plug"

// Hooks are told of a try's progress as it runs, so that a process watching the
// one that runs the plugin knows which call a crash or a hang happened in. Each may
// be nil.
type Hooks struct {
	// Begin is called before each call of the plugin with the call's name and the
	// 0-based packet or tick index (0 for the calls made once).
	Begin func(call string, packet int)
	// End is called after each call with how long it took (negative for
	// get_source_config when the plugin does not provide it: no call was made) and
	// the packets each output pin received so far, by index (as Outcome.Outputs).
	End func(call string, packet int, took time.Duration, outputs []int)
	// Log receives the plugin's log lines, from whichever thread the plugin logs on,
	// during a call or between calls.
	Log func(Log)
	// Progress, when set, is called before each call (before Begin) with what was
	// sent and received so far, the call's own packet included: what a report
	// says when the plugin's process dies or hangs in that call.
	Progress func(Progress)
}

// Progress is what a run has sent and received so far (see Hooks.Progress).
type Progress struct {
	Input   *Input   `json:"input,omitempty"`
	Outputs []Output `json:"outputs"`
}

// Outcome is what Run found: the parts of a Report that the plugin's process
// knows. The timings and log lines went to the Hooks.
type Outcome struct {
	Input   *Input   `json:"input,omitempty"`   // nil for a source or a plugin without input pins
	Outputs []Output `json:"outputs"`           // every output pin of the metadata, in order, then any other pin a packet came on
	Failure *Error   `json:"failure,omitempty"` // the call that failed; nil when every call succeeded
	// PerPacket is the call made once per packet ("process_packet", or "tick" for
	// a source) once the run got that far, else "".
	PerPacket string `json:"per_packet,omitempty"`
	// Audio holds the audio of each pin of Config.Capture (frames of the first
	// packet's rate and channel count; packets of another format are left out). It
	// is not in the outcome's JSON.
	Audio map[string]*Samples `json:"-"`
}

// Run runs one instance of the library's plugin as Config says: create_instance,
// get_source_config (API version 3 and later), the input packets or the ticks,
// flush, destroy_instance. A call that fails ends the run (the instance is still
// destroyed; flush is skipped) and is Outcome.Failure. It fails, before anything
// runs, with an *OptionError when cfg does not fit the plugin.
//
// The plugin runs in the calling process: a crash or a hang of the plugin is the
// caller's. Run it in a helper process.
func Run(lib *native.Library, cfg Config, h Hooks) (*Outcome, error) {
	md := lib.Metadata()
	p, err := resolve(md, cfg)
	if err != nil {
		return nil, err
	}
	if h.Begin == nil {
		h.Begin = func(string, int) {}
	}
	if h.End == nil {
		h.End = func(string, int, time.Duration, []int) {}
	}
	if h.Log == nil {
		h.Log = func(Log) {}
	}
	r := &runner{h: h, col: newCollector(md.Outputs, cfg.Capture)}
	o := &Outcome{}
	if p.pin != "" {
		// What is sent, from the start: a run that ends before the first packet
		// reports the pin with no packets.
		r.in = &Input{Pin: p.pin, Type: p.inputType}
		if p.audio() {
			r.lv = &level{rate: p.rate, channels: p.channels}
		}
		o.Input = r.in
	}
	var inst *native.Instance
	o.Failure = r.call("create_instance", 0, func() error {
		var err error
		inst, err = lib.NewInstance(p.params, native.InstanceOptions{Logger: logger(h.Log), Output: r.col.add})
		return err
	})
	if o.Failure == nil {
		o.Failure = r.run(inst, md, p, cfg, o)
		if o.Failure == nil {
			o.Failure = r.call("flush", 0, inst.Flush)
		}
		if f := r.call("destroy_instance", 0, inst.Close); o.Failure == nil {
			o.Failure = f
		}
	}
	if o.Input != nil && r.lv != nil {
		o.Input.Audio = r.lv.audio()
	}
	o.Outputs, o.Audio = r.col.outputs()
	return o, nil
}

type runner struct {
	h   Hooks
	col *collector
	in  *Input // what is sent; nil for a source or a plugin without inputs
	lv  *level // its audio figures, for audio input
}

// progress is what was sent and received so far.
func (r *runner) progress() Progress {
	var p Progress
	if r.in != nil {
		in := *r.in
		if r.lv != nil {
			in.Audio = r.lv.audio()
		}
		p.Input = &in
	}
	p.Outputs, _ = r.col.outputs()
	return p
}

// call makes one call of the plugin between the hooks and returns its failure.
func (r *runner) call(name string, packet int, f func() error) *Error {
	if r.h.Progress != nil {
		r.h.Progress(r.progress())
	}
	r.h.Begin(name, packet)
	start := time.Now()
	err := f()
	r.h.End(name, packet, time.Since(start), r.col.counts())
	if err == nil {
		return nil
	}
	return failure(name, packet, err)
}

// failure is the Error of a call that returned err.
func failure(call string, packet int, err error) *Error {
	e := &Error{Call: call, Packet: packet, Message: err.Error()}
	if ce, ok := errors.AsType[*native.CallError](err); ok {
		switch {
		case !errors.Is(ce.Err, native.ErrCallFailed):
			e.Message = ce.Err.Error()
			if ce.Message != "" {
				e.Message += ": " + ce.Message
			}
		case call == "create_instance":
			e.Message = "create_instance " + ce.Message
		default:
			e.Message = ce.Message
		}
	}
	return e
}

// run sends the input or makes the ticks.
func (r *runner) run(inst *native.Instance, md native.Metadata, p *plan, cfg Config, o *Outcome) *Error {
	if md.APIVersion >= 3 {
		r.h.Begin("get_source_config", 0)
		start := time.Now()
		sc, provided, err := inst.SourceConfig()
		took := time.Since(start)
		if !provided && err == nil {
			took = -1
		}
		r.h.End("get_source_config", 0, took, r.col.counts())
		if err != nil {
			return failure("get_source_config", 0, err)
		}
		if sc.IsSource {
			o.Input, r.in, r.lv = nil, nil, nil // a source takes no input
			return r.ticks(inst, sc, cfg, o)
		}
	}
	o.PerPacket = "process_packet"
	if p.pin == "" {
		return nil // no input pin: nothing to send
	}
	in := r.in
	send := func(pkt native.Packet) *Error {
		i := in.Packets
		in.Packets++
		return r.call("process_packet", i, func() error { return inst.Process(p.pin, pkt) })
	}
	switch {
	case p.src.Kind == Text:
		return send(native.TextPacket(p.src.Text))
	case p.transcription:
		return send(native.TranscriptionPacket(DefaultTranscription))
	case p.src.Kind == 0:
		return nil
	}
	g := newGenerator(p, cfg.WAV)
	if r.lv == nil {
		r.lv = &level{rate: p.rate, channels: p.channels}
	}
	lv := r.lv
	buf := make([]float32, p.frame*p.channels)
	for seq := uint64(0); ; seq++ {
		start := g.pos
		samples := g.next(buf)
		if samples == nil {
			return nil
		}
		lv.add(p.rate, p.channels, samples)
		frames := uint64(len(samples) / p.channels)
		meta := &native.PacketMetadata{
			TimestampUS: uint64(start) * 1_000_000 / uint64(p.rate), HasTimestamp: true,
			DurationUS: frames * 1_000_000 / uint64(p.rate), HasDuration: true,
			Sequence: seq, HasSequence: true,
		}
		pkt := native.AudioFrame{SampleRate: uint32(p.rate), Channels: uint16(p.channels), Samples: samples, Metadata: meta}
		if f := send(pkt); f != nil {
			return f
		}
	}
}

// ticks ticks a source: Config.Ticks times, else its max_ticks when not 0, else
// DefaultTicks; it stops early when a tick says done.
func (r *runner) ticks(inst *native.Instance, sc native.SourceConfig, cfg Config, o *Outcome) *Error {
	o.PerPacket = "tick"
	n := uint64(cfg.Ticks)
	if n == 0 {
		n = sc.MaxTicks
	}
	if n == 0 {
		n = DefaultTicks
	}
	for i := uint64(0); i < n; i++ {
		var done bool
		f := r.call("tick", int(min(i, math.MaxInt32)), func() error {
			var err error
			done, err = inst.Tick()
			return err
		})
		if f != nil {
			return f
		}
		if done {
			return nil
		}
	}
	return nil
}
