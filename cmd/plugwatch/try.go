package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/reconcile"
	"github.com/plugwatch/plugwatch/state"
)

// libraryExt is the file name extension of a native library here.
const libraryExt = ".so"

func tryCommand(fs *flag.FlagSet) runFunc {
	params := paramsFlag(fs)
	input := fs.String("input", "", "sine:HZ, silence, noise, FILE.wav or text:STRING (default: what the pin takes: sine:440 for audio, text:hello for text)")
	pin := fs.String("pin", "", "the input pin to send to (default: the first)")
	duration := fs.Duration("duration", time.Second, "how long synthetic audio lasts")
	frame := fs.Duration("frame", 20*time.Millisecond, "the length of one audio packet")
	rate := fs.Uint("rate", 0, "the sample rate of synthetic audio (default: the pin's, else 48000)")
	channels := fs.Uint("channels", 0, "the channels of synthetic audio (default: the pin's, else 1)")
	ticks := fs.Uint("ticks", 0, "how often a source is ticked (default: its max_ticks, else 50)")
	outputs := outputsFlag(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "the time one call may take before it counts as hung")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	return func(ctx context.Context, a *app, args []string) int {
		for name, d := range map[string]time.Duration{"duration": *duration, "frame": *frame, "timeout": *timeout} {
			if d <= 0 {
				return a.usage("try", "try: --%s %v: must be positive", name, d)
			}
		}
		opts := probe.TryOptions{
			Input: *input, Pin: *pin, Duration: *duration, Frame: *frame,
			Rate: int(min(*rate, 1<<30)), Channels: int(min(*channels, 1<<30)), Ticks: int(min(*ticks, 1<<30)),
			Outputs: outputs, Timeout: *timeout,
		}
		if *params != nil {
			b, code := a.tryParams(**params)
			if code != exitOK {
				return code
			}
			opts.Params = b
		}
		lib, code := a.tryLibrary(ctx, args[0])
		if code != exitOK {
			return code
		}
		r, err := a.prober().Try(ctx, lib, opts)
		var pe *os.PathError
		switch {
		case errors.Is(err, probe.ErrTryOptions):
			return a.usage("try", "try: %v", err)
		case r == nil && errors.As(err, &pe):
			return a.fail("try %s: --input %s: %v", lib, pe.Path, pe.Err) // the WAV file
		case r == nil:
			return a.fail("try %s: %v", lib, err)
		}
		return a.tryReport(lib, r, err, *asJSON)
	}
}

// paramsFlag defines --params; what it returns points to nil until the flag is
// given.
func paramsFlag(fs *flag.FlagSet) **string {
	var params *string
	fs.Func("params", "JSON for create_instance, @FILE to read it, null for NULL (default: the defaults of the plugin's param_schema)", func(s string) error {
		if s == "" {
			return errors.New("give a JSON value, @FILE or null")
		}
		params = &s
		return nil
	})
	return &params
}

// outputsFlag defines the repeatable --output PIN=FILE.wav, and returns the files by
// pin.
func outputsFlag(fs *flag.FlagSet) map[string]string {
	outputs := map[string]string{}
	fs.Func("output", "write an output pin's audio as 32-bit float WAV (repeatable)", func(s string) error {
		pin, file, ok := strings.Cut(s, "=")
		switch {
		case !ok || pin == "" || file == "":
			return errors.New("use PIN=FILE.wav, such as out=out.wav")
		case outputs[pin] != "":
			return fmt.Errorf("pin %s is given twice", pin)
		}
		outputs[pin] = file
		return nil
	})
	return outputs
}

// tryReport prints the try's report of lib (as JSON with asJSON) and returns the
// exit status: a library that could not be opened is one line naming its problem
// code; err is a failure after the report; a try that is not ok exits 1.
func (a *app) tryReport(lib string, r *probe.Report, err error, asJSON bool) int {
	var line string
	if !r.Probed() {
		p := state.ProbeProblem(lib, r.Error.Err)
		r.Error.Code, r.Error.Message = string(p.Code), p.Message
		line = fmt.Sprintf("try %s: %s: %s", lib, p.Code, p.Message)
	}
	var werr error
	if asJSON {
		werr = writeJSON(a.Stdout, r)
	} else if r.Probed() {
		werr = writeTry(a.Stdout, r)
	}
	if werr != nil {
		return a.fail("writing the report: %v", werr)
	}
	switch {
	case line != "":
		return a.fail("%s", line)
	case err != nil:
		return a.fail("try %s: %v", lib, err)
	case r.Result != probe.TryOK:
		return exitFailed
	}
	return exitOK
}

// tryParams reads --params: JSON, @FILE or null.
func (a *app) tryParams(s string) ([]byte, int) {
	b := []byte(s)
	if name, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if b, err = os.ReadFile(name); err != nil {
			return nil, a.fail("try: --params @%s: %v", name, cause(err))
		}
		if !json.Valid(b) {
			return nil, a.usage("try", "try: --params @%s: the file does not hold JSON", name)
		}
		return b, exitOK
	}
	if !json.Valid(b) {
		return nil, a.usage("try", "try: --params %q: not JSON; give a JSON value such as '{\"gain\": 0.5}', @FILE or null", s)
	}
	return b, exitOK
}

// tryLibrary returns the library arg names: a path when it holds a / or ends in the
// library extension, else the library of the plugin of that id in the root, as a
// scan loads it.
func (a *app) tryLibrary(ctx context.Context, arg string) (string, int) {
	if strings.Contains(arg, "/") || strings.HasSuffix(arg, libraryExt) {
		lib, err := filepath.Abs(arg)
		if err != nil {
			return "", a.fail("try %s: %v", arg, err)
		}
		return lib, exitOK
	}
	sc, err := reconcile.NewScanner(a.options())
	if err != nil {
		return "", a.fail("scan %s: %v", a.g.root, err)
	}
	defer sc.Close()
	d, err := sc.Desired(ctx)
	var re *reconcile.RootError
	switch {
	case errors.As(err, &re):
		return "", a.fail("%v", err)
	case err != nil:
		return "", a.fail("scan %s: %v", a.g.root, err)
	}
	st := d.State(sc.Root(), 1, time.Now())
	for _, p := range st.Plugins {
		if p.ID == arg {
			return p.Library, exitOK
		}
	}
	for _, s := range st.Skipped {
		if s.ID == arg {
			why := string(s.Reason)
			if s.Winner != "" {
				why += " by " + s.Winner
			}
			return "", a.fail("try %s: plugin %s of %s is not loaded by a scan (%s); name its library instead", arg, arg, st.Root, why)
		}
	}
	if libs := sc.LibrariesOf(arg); len(libs) > 0 {
		// Claimed, and not loaded for a problem of its library (it does not probe, say):
		// trying it reports that problem as for its path.
		return libs[0], exitOK
	}
	return "", a.fail("try %s: no plugin with id %s in %s (plugwatch scan lists them; a path needs a / or the %s extension)", arg, arg, st.Root, libraryExt)
}

// writeTry prints a report for a person: the library, one block per output pin that
// received packets, the timings, the plugin's log lines and the result.
func writeTry(w io.Writer, r *probe.Report) error {
	fmt.Fprintf(w, "library  %s\nkind     %s (API version %d)\n", r.Library, r.Kind, r.APIVersion)
	if in := r.Input; in != nil {
		fmt.Fprintf(w, "\ninput %s: %s, %s", in.Pin, in.Type, plural(in.Packets, "packet"))
		if in.Audio != nil {
			fmt.Fprintf(w, "\n  %s", audioLine(in.Audio))
		}
		fmt.Fprintln(w)
	}
	for _, o := range r.Outputs {
		if o.Packets == 0 {
			continue
		}
		fmt.Fprintf(w, "\noutput %s: %s, %s\n", o.Pin, o.Type, plural(o.Packets, "packet"))
		if o.Audio != nil && o.Audio.Channels > 0 {
			fmt.Fprintf(w, "  %s\n", audioLine(o.Audio))
		}
		for _, t := range o.Texts {
			fmt.Fprintf(w, "  %q\n", t)
		}
		if len(o.CustomTypes) > 0 {
			fmt.Fprintf(w, "  custom types %s\n  first %s\n", strings.Join(o.CustomTypes, ", "), oneLine(string(o.CustomJSON)))
		}
		if o.Bytes > 0 {
			fmt.Fprintf(w, "  %s\n", plural(o.Bytes, "byte"))
		}
	}
	t := r.Timings
	fmt.Fprintln(w, "\ntimings (µs)")
	once := func(name string, v *float64) {
		if v != nil {
			fmt.Fprintf(w, "  %-18s %8.1f\n", name, *v)
		}
	}
	per := func(name string, s *probe.TryCallStats) {
		if s != nil {
			fmt.Fprintf(w, "  %-18s %8s  p50 %.1f  p99 %.1f  max %.1f\n", name, fmt.Sprintf("%d×", s.Count), s.P50, s.P99, s.Max)
		}
	}
	once("create_instance", t.CreateInstance)
	once("get_source_config", t.GetSourceConfig)
	per("process_packet", t.ProcessPacket)
	per("tick", t.Tick)
	once("flush", t.Flush)
	once("destroy_instance", t.DestroyInstance)
	if len(r.Logs) > 0 {
		fmt.Fprintln(w, "\nlog")
		for _, l := range r.Logs {
			fmt.Fprintf(w, "  %-5s %s: %s\n", l.Level, oneLine(l.Target), oneLine(l.Message))
		}
	}
	fmt.Fprintf(w, "\nresult: %s\n", resultLine(r))
	return nil
}

// resultLine is the last line of the text report: the result, and what went wrong.
func resultLine(r *probe.Report) string {
	e := r.Error
	if e == nil {
		return string(r.Result)
	}
	at := e.Call
	if e.HasPacket() {
		what := "packet"
		if e.Call == "tick" {
			what = "tick"
		}
		at = fmt.Sprintf("%s at %s %d", e.Call, what, e.Packet)
	}
	return fmt.Sprintf("%s in %s: %s", r.Result, at, oneLine(e.Message))
}

func audioLine(a *probe.TryAudio) string {
	return fmt.Sprintf("%d Hz, %d ch, %s, RMS %s, peak %s", a.SampleRate, a.Channels, plural(a.Frames, "frame"), dBFS(a.RMSDBFS), dBFS(a.PeakDBFS))
}

func dBFS(v *float64) string {
	if v == nil {
		return "-inf dBFS"
	}
	return fmt.Sprintf("%.2f dBFS", *v)
}

// oneLine keeps text on one line: control characters are escaped.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
