package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/internal/trial"
	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// The report of a try and its parts. Report marshals to the document of
// `plugwatch try --json`.
type (
	// Report is what one try did: Result, Error (nil when ok), the input sent, every
	// output pin with what came out of it, the timings and the plugin's log lines.
	Report = trial.Report
	// TryResult is Report.Result: TryOK, TryFailed, TryCrashed or TryHung.
	TryResult = trial.Result
	// TryError is Report.Error: Call, Packet (for process_packet and tick), Code (for
	// a library that could not be probed, call "probe"), Message.
	TryError = trial.Error
	// TryInput is Report.Input.
	TryInput = trial.Input
	// TryOutput is one of Report.Outputs.
	TryOutput = trial.Output
	// TryAudio are the audio figures of a TryInput or TryOutput.
	TryAudio = trial.Audio
	// TryTimings is Report.Timings, in µs.
	TryTimings = trial.Timings
	// TryCallStats are the timings of the per-packet call (Report.Calls).
	TryCallStats = trial.CallStats
	// TryLog is one of Report.Logs.
	TryLog = trial.Log
	// TryOptionError is an option of TryOptions that does not fit the plugin or
	// makes no sense; it matches ErrTryOptions.
	TryOptionError = trial.OptionError
)

// The results of a try.
const (
	TryOK      = trial.OK      // every call succeeded
	TryFailed  = trial.Failed  // a call failed, or the library could not be probed
	TryCrashed = trial.Crashed // the helper died in a call
	TryHung    = trial.Hung    // a call did not return within TryOptions.Timeout
)

// ErrTryOptions is what Try's errors about its options match (a *TryOptionError):
// bad usage, not a verdict about the library.
var ErrTryOptions = trial.ErrOptions

// The default of TryOptions.Timeout.
const defaultTryTimeout = 10 * time.Second

// TryOptions are the options of a try, those of `plugwatch try`. The zero
// TryOptions try a plugin with its defaults, as `run --smoke` does.
type TryOptions struct {
	// Params is the JSON given to create_instance. nil means an object of the
	// "default" values of the top-level "properties" of the plugin's param_schema
	// (NULL when there are none); the JSON null means NULL.
	Params []byte
	// Input is what is sent to Pin: "sine:HZ" (amplitude 0.5, phase 0 at the first
	// sample, continuous across packets), "silence", "noise" (uniform, amplitude
	// 0.5, the same every run), the path of a .wav file (PCM of 16, 24 or 32 bits or
	// 32-bit float; its rate and channels win over Rate and Channels; read by Try,
	// relative paths from the working directory), or "text:STRING" (one text
	// packet). "" means what the pin's first type calls for: sine:440 for raw audio,
	// any and passthrough, text:hello for text, a small transcription for
	// transcription, no packets for the others.
	Input string
	// Pin is the input pin; "" means the first.
	Pin string
	// Duration is how long synthetic audio lasts (0: 1s); Frame the length of one
	// packet of audio (0: 20ms; a WAV file's last packet may be shorter).
	Duration, Frame time.Duration
	// Rate and Channels are those of synthetic audio; 0 means those of the pin's
	// first raw audio type, else 48000 Hz and 1.
	Rate, Channels int
	// Ticks is how many times a source is ticked (it stops early when a tick says
	// done); 0 means its max_ticks when that is not 0, else 50.
	Ticks int
	// Outputs maps output pins to WAV files: each pin's audio is written to its file
	// as 32-bit IEEE float samples, once the helper has exited.
	Outputs map[string]string
	// Timeout is how long one call of the plugin may take; past it the try is hung
	// (and not tried again). 0 means 10s. Opening the library has the Prober's
	// Options.Timeout, as a probe.
	Timeout time.Duration
}

// Try runs one instance of the plugin of the library at path in a fresh helper
// process and reports what it did: create_instance with the params, get_source_config
// (API version 3 and later), then the input packets one by one to process_packet,
// or for a source the ticks, then flush and destroy_instance. When Try returns, the
// helper has exited, with its process group.
//
// The Report says how the try went. A crash or a hang of the plugin is a Report
// (TryCrashed, TryHung), never the caller's: Error names the call and, for
// process_packet and tick, the 0-based packet or tick index. A call that fails is
// TryFailed with the plugin's message; so is a library that cannot be probed, with
// Error.Call "probe", Error.Code its problem code ("load_failed", "abi_version",
// "invalid_kind", "incomplete", "crashed") and Error.Err the verdict (see the
// package documentation). Report.Library is path made absolute.
//
// Try fails without a Report when opts do not fit the plugin or make no sense
// (ErrTryOptions), a .wav input cannot be read (an *os.PathError), no helper could
// run it (ErrUnavailable) or ctx ended (ctx.Err()). A WAV file of opts.Outputs that
// cannot be written is an *os.PathError returned with the Report.
//
// A try takes one of the Prober's Options.Workers, like a probe.
func (p *Prober) Try(ctx context.Context, path string, opts TryOptions) (*Report, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &native.Error{Op: "probe", Path: path, Err: err}
	}
	cfg, err := opts.config()
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTryTimeout
	}
	if !p.enter() {
		return nil, p.closedErr(path)
	}
	defer p.wg.Done()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, p.closedErr(path)
	}
	defer func() { <-p.slots }()
	h, err := p.helper(ctx)
	switch {
	case err == errClosed:
		return nil, p.closedErr(path)
	case err == errCancelled:
		return nil, ctx.Err()
	case err != nil:
		return nil, unavailable(path, err.Error())
	}
	t := &tryRun{p: p, h: h, path: abs, timeout: timeout, rep: &Report{Library: abs}}
	audio, err := t.run(ctx, cfg)
	p.stopHelper(h)
	if err != nil {
		return nil, err
	}
	return t.rep, writeOutputs(opts.Outputs, audio)
}

// config checks opts and turns them into the engine's Config, reading a .wav input.
func (opts TryOptions) config() (trial.Config, error) {
	cfg := trial.Config{
		Params: opts.Params, Input: opts.Input, Pin: opts.Pin,
		Duration: opts.Duration, Frame: opts.Frame, Rate: opts.Rate, Channels: opts.Channels,
		Ticks: opts.Ticks,
	}
	if opts.Params != nil && !json.Valid(opts.Params) {
		return cfg, &trial.OptionError{Option: "params", Value: string(opts.Params), Problem: "not JSON"}
	}
	for pin, file := range opts.Outputs {
		if file == "" {
			return cfg, &trial.OptionError{Option: "output", Value: pin + "=", Problem: "name a file"}
		}
		cfg.Capture = append(cfg.Capture, pin)
	}
	slices.Sort(cfg.Capture)
	if opts.Input != "" {
		src, err := trial.ParseInput(opts.Input)
		if err != nil {
			return cfg, err
		}
		if src.Kind == trial.WAVFile {
			if cfg.WAV, err = trial.ReadWAV(src.Path); err != nil {
				return cfg, err
			}
		}
	}
	return cfg, cfg.Check()
}

// writeOutputs writes each captured pin's audio to its file; it returns the first
// error.
func writeOutputs(outputs map[string]string, audio map[string]*trial.Samples) error {
	var first error
	for _, pin := range slices.Sorted(maps.Keys(outputs)) {
		a := audio[pin]
		if a == nil {
			continue // the try ended before any output: nothing to write
		}
		if err := trial.WriteWAV(outputs[pin], a); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// tryRun is the parent's side of one try.
type tryRun struct {
	p       *Prober
	h       *helper
	path    string
	timeout time.Duration
	rep     *Report

	meta   native.Metadata
	probed bool // the library opened: its metadata came
	call   string
	packet int
	counts []int
	sofar  []byte // the last begin's trial.Progress, as JSON
	rec    trial.Recorder
}

// run sends the try to the helper and follows it until done, a crash, a hang, ctx
// or the Prober's end. It returns the captured audio.
func (t *tryRun) run(ctx context.Context, cfg trial.Config) (map[string]*trial.Samples, error) {
	t.call = trial.CallProbe
	wait := t.p.timeout // opening the library is a probe
	t.h.req.SetWriteDeadline(time.Now().Add(startTimeout))
	if err := t.h.enc.Encode(request{Path: t.path, ABI: t.p.abi, Try: &cfg}); err != nil {
		t.died(t.h.lost())
		return nil, nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case r, ok := <-t.h.replies:
			if !ok {
				t.died(t.h.lost())
				return nil, nil
			}
			if r.Try == nil {
				t.h.kill()
				t.died("the helper answered out of turn")
				return nil, nil
			}
			switch m := r.Try; m.Event {
			case tryMeta:
				t.meta, t.probed = r.Meta.fromWire(), true
				kind, _ := manifest.NormalizeKind(t.meta.Kind) // the helper checked it
				t.rep.Kind, t.rep.APIVersion = layout.KindPrefix+kind, t.meta.APIVersion
				wait = t.timeout
				timer.Reset(wait)
			case tryBegin:
				t.call, t.packet, t.sofar = m.Call, m.Packet, m.Progress
				timer.Reset(wait)
			case tryEnd:
				if m.Micros >= 0 {
					t.rec.Record(m.Call, m.Micros)
				}
				t.counts = m.Counts
				timer.Reset(wait)
			case tryLog:
				t.rep.Logs = append(t.rep.Logs, m.Log)
			case tryDone:
				return t.done(r)
			}
		case <-timer.C:
			t.h.kill()
			t.hung(wait)
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.p.done:
			return nil, t.p.closedErr(t.path)
		}
	}
}

// done reads the helper's last message.
func (t *tryRun) done(r reply) (map[string]*trial.Samples, error) {
	m := r.Try
	switch {
	case r.HasErr:
		_, err := r.result(t.path)
		if errors.Is(err, native.ErrUnsupported) {
			return nil, unavailable(t.path, native.ErrUnsupported.Error())
		}
		t.notProbed(err)
		return nil, nil
	case m.Option != nil:
		return nil, m.Option
	}
	var o trial.Outcome
	if err := json.Unmarshal(m.Outcome, &o); err != nil {
		t.died("the helper's report is unreadable: " + err.Error())
		return nil, nil
	}
	t.rep.Result = trial.OK
	if o.Failure != nil {
		t.rep.Result, t.rep.Error = trial.Failed, o.Failure
	}
	t.rep.Input, t.rep.Outputs = o.Input, o.Outputs
	if o.PerPacket != "" {
		t.rec.Start(o.PerPacket == "tick")
	}
	t.rep.Timings = t.rec.Timings()
	audio := map[string]*trial.Samples{}
	for _, a := range m.Audio {
		audio[a.Pin] = &trial.Samples{Rate: a.Rate, Channels: a.Channels, Data: a.Data}
	}
	return audio, nil
}

// notProbed makes the report of a library that could not be probed.
func (t *tryRun) notProbed(err error) {
	t.rep.Result = trial.Failed
	t.rep.Error = &TryError{Call: trial.CallProbe, Code: string(state.ProbeProblem("", err).Code), Message: problemMessage(err), Err: err}
}

// died makes the report of a helper that died in the current call.
func (t *tryRun) died(detail string) {
	if !t.probed {
		t.notProbed(crashed(t.path, detail))
		return
	}
	t.partial(trial.Crashed, "the helper process died: "+detail)
}

// hung makes the report of a call that did not return within wait.
func (t *tryRun) hung(wait time.Duration) {
	if !t.probed {
		t.notProbed(crashed(t.path, "hung for more than "+wait.String()))
		return
	}
	t.partial(trial.Hung, fmt.Sprintf("%s did not return within %v", t.call, wait))
}

// partial makes the report of a try whose helper ended in the current call: the
// packet counts and timings so far.
func (t *tryRun) partial(result trial.Result, message string) {
	t.rep.Result = result
	t.rep.Error = &TryError{Call: t.call, Packet: t.packet, Message: message}
	var sofar trial.Progress
	if t.sofar != nil && json.Unmarshal(t.sofar, &sofar) == nil {
		t.rep.Input, t.rep.Outputs = sofar.Input, sofar.Outputs
	} else {
		t.rep.Outputs = trial.Counted(t.meta.Outputs, t.counts)
	}
	if t.call == "process_packet" || t.call == "tick" {
		t.rec.Start(t.call == "tick")
	}
	t.rep.Timings = t.rec.Timings()
}

// problemMessage says what was wrong, without the path: the sentinel's text and
// the detail.
func problemMessage(err error) string {
	if ne, ok := errors.AsType[*native.Error](err); ok {
		msg := ne.Err.Error()
		if ne.Detail != "" {
			msg += ": " + ne.Detail
		}
		return msg
	}
	return strings.TrimSpace(err.Error())
}
