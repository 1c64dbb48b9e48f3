package trial

import (
	"encoding/json"
	"math"
	"slices"
	"sort"

	"github.com/plugwatch/plugwatch/native"
)

// Result is what became of a try.
type Result string

// The results of a try.
const (
	// OK: every call succeeded.
	OK Result = "ok"
	// Failed: a call returned an error or create_instance returned NULL (Error.Call
	// says which), or the library could not be probed (Error.Call "probe").
	Failed Result = "failed"
	// Crashed: the helper process running the plugin died; Error.Message names the
	// signal.
	Crashed Result = "crashed"
	// Hung: a call did not return within the timeout; it was not tried again.
	Hung Result = "hung"
)

// CallProbe is Error.Call of a library that could not be probed.
const CallProbe = "probe"

// Report is what one try of a plugin did. It marshals to the document of
// `plugwatch try --json`: for a library that could not be probed, only library,
// result and error; otherwise every field,
// error omitted when the result is ok, input omitted for a source (whose timings
// carry tick in place of process_packet) and for a plugin without input pins.
type Report struct {
	Library    string   // the user's library, absolute
	Kind       string   // the registered kind, plugin::native::NAME; "" when unknown
	APIVersion uint32   // the API version the library reports; 0 when unknown
	Result     Result   // ok, failed, crashed or hung
	Error      *Error   // nil exactly when Result is OK
	Input      *Input   // what was sent; nil for a source or a plugin without inputs
	Outputs    []Output // every output pin of the metadata, in order
	Timings    Timings  // the time each call took
	Logs       []Log    // the plugin's log lines, in the order they came
}

// Probed reports whether the library could be probed: whether the report says what
// the plugin did (anything but a failure of call "probe").
func (r *Report) Probed() bool { return r.Error == nil || r.Error.Call != CallProbe }

// Calls returns the timings of the per-packet call: tick for a source, else
// process_packet; nil when the instance was never created.
func (r *Report) Calls() *CallStats {
	if r.Timings.Tick != nil {
		return r.Timings.Tick
	}
	return r.Timings.ProcessPacket
}

// OutputPackets returns, by output pin, how many packets it received.
func (r *Report) OutputPackets() map[string]int {
	m := make(map[string]int, len(r.Outputs))
	for _, o := range r.Outputs {
		m[o.Pin] = o.Packets
	}
	return m
}

// reportJSON is the document's shape. Outputs, timings and logs are pointers so that
// a report of a library that could be probed always has them (even empty) and one
// that could not never does.
type reportJSON struct {
	Library    string   `json:"library"`
	Kind       string   `json:"kind,omitempty"`
	APIVersion uint32   `json:"api_version,omitempty"`
	Result     Result   `json:"result"`
	Error      *Error   `json:"error,omitempty"`
	Input      *Input   `json:"input,omitempty"`
	Outputs    []Output `json:"outputs"`
	Timings    *Timings `json:"timings_us,omitempty"`
	Logs       []Log    `json:"logs"`
}

// MarshalJSON writes the document of `plugwatch try --json`.
func (r Report) MarshalJSON() ([]byte, error) {
	d := reportJSON{
		Library: r.Library, Kind: r.Kind, APIVersion: r.APIVersion,
		Result: r.Result, Error: r.Error, Input: r.Input,
	}
	if !r.Probed() {
		// Only what a library that cannot be probed has: no outputs, timings or
		// logs, and no kind (it may be the invalid one).
		return json.Marshal(struct {
			Library string `json:"library"`
			Result  Result `json:"result"`
			Error   *Error `json:"error"`
		}{r.Library, r.Result, r.Error})
	}
	d.Outputs = r.Outputs
	if d.Outputs == nil {
		d.Outputs = []Output{}
	}
	t := r.Timings
	d.Timings = &t
	d.Logs = r.Logs
	if d.Logs == nil {
		d.Logs = []Log{}
	}
	return json.Marshal(d)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Report) UnmarshalJSON(b []byte) error {
	var d reportJSON
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*r = Report{
		Library: d.Library, Kind: d.Kind, APIVersion: d.APIVersion, Result: d.Result,
		Error: d.Error, Input: d.Input, Outputs: d.Outputs, Logs: d.Logs,
	}
	if d.Timings != nil {
		r.Timings = *d.Timings
	}
	return nil
}

// Error is what went wrong in a try that is not ok.
type Error struct {
	// Call is the ABI call that failed, crashed or hung ("create_instance",
	// "process_packet", "tick", "flush", "get_source_config", "destroy_instance"), or
	// "probe" for a library that could not be probed.
	Call string
	// Packet is the 0-based packet (process_packet) or tick (tick) index; it means
	// nothing, and is not in the document, for other calls.
	Packet int
	// Code is the problem code of a library that could not be probed
	// ("load_failed", "abi_version", ...); "" for the other calls.
	Code string
	// Message is the plugin's message, how the helper died, or the problem's line.
	Message string
	// Err is the error of a library that could not be probed (a *native.Error
	// wrapping one of native's verdict sentinels, e.g. native.ErrABIVersion); nil
	// otherwise. It is not in the document.
	Err error
}

// HasPacket reports whether the call is one with a packet index.
func (e *Error) HasPacket() bool { return e.Call == "process_packet" || e.Call == "tick" }

type errorJSON struct {
	Call    string `json:"call"`
	Packet  *int   `json:"packet,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// MarshalJSON writes {"call", "packet" (process_packet and tick only), "code"
// (probe only), "message"}.
func (e Error) MarshalJSON() ([]byte, error) {
	d := errorJSON{Call: e.Call, Message: e.Message}
	if e.HasPacket() {
		d.Packet = &e.Packet
	}
	if e.Call == CallProbe {
		d.Code = e.Code
	}
	return json.Marshal(d)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Error) UnmarshalJSON(b []byte) error {
	var d errorJSON
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*e = Error{Call: d.Call, Code: d.Code, Message: d.Message}
	if d.Packet != nil {
		e.Packet = *d.Packet
	}
	return nil
}

// Input is what was sent to the plugin: on which pin, what type, how many packets,
// and for audio its figures.
type Input struct {
	Pin     string            `json:"pin"`
	Type    native.PacketType `json:"type"`
	Packets int               `json:"packets"`
	*Audio                    // raw audio only
}

// Audio are the figures of the audio of an input or output pin. RMSDBFS and
// PeakDBFS are nil (null) when every sample was 0; they are over every channel, in
// dBFS rounded to 0.01, and never above 0 (a sample beyond full scale counts as
// full scale).
type Audio struct {
	SampleRate int      `json:"sample_rate"`
	Channels   int      `json:"channels"`
	Frames     int      `json:"frames"`
	RMSDBFS    *float64 `json:"rms_dbfs"`
	PeakDBFS   *float64 `json:"peak_dbfs"`
}

// Output is what came out of one output pin. Packets counts every packet; the other
// fields describe them by their type: the audio figures for raw audio (and for a
// pin of raw_audio type that received nothing), the texts of text and transcription
// packets, the type ids and first JSON of custom packets, and the bytes of every
// other type.
type Output struct {
	Pin     string            `json:"pin"`
	Type    native.PacketType `json:"type"` // the pin's type in the metadata
	Packets int               `json:"packets"`
	*Audio
	Texts       []string        `json:"texts"`
	CustomTypes []string        `json:"custom_types"`
	CustomJSON  json.RawMessage `json:"custom_json,omitempty"`
	Bytes       int             `json:"bytes"`
}

// Timings are the times the calls took, in microseconds. A call that was not made
// is nil.
type Timings struct {
	CreateInstance  *float64   `json:"create_instance,omitempty"`
	GetSourceConfig *float64   `json:"get_source_config,omitempty"`
	ProcessPacket   *CallStats `json:"process_packet,omitempty"`
	Tick            *CallStats `json:"tick,omitempty"`
	Flush           *float64   `json:"flush,omitempty"`
	DestroyInstance *float64   `json:"destroy_instance,omitempty"`
}

// CallStats are the times of a call made once per packet or tick, in microseconds:
// how many, the median, the 99th percentile (nearest rank) and the longest.
type CallStats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Log is one log line of the plugin. Level is "debug" (the plugin's trace and
// debug), "info", "warn" or "error".
type Log struct {
	Level   string `json:"level"`
	Target  string `json:"target"`
	Message string `json:"message"`
}

// Recorder gathers the timings of a try from the durations of its calls, as the
// calls end. The zero Recorder is empty and ready.
type Recorder struct {
	t          Timings
	per        []float64 // durations of the per-packet call, in µs
	source     bool
	startedPer bool
}

// Record notes that call took micros µs.
func (rec *Recorder) Record(call string, micros float64) {
	v := round1(micros)
	switch call {
	case "create_instance":
		rec.t.CreateInstance = &v
	case "get_source_config":
		rec.t.GetSourceConfig = &v
	case "process_packet":
		rec.per = append(rec.per, micros)
	case "tick":
		rec.per = append(rec.per, micros)
		rec.source = true
	case "flush":
		rec.t.Flush = &v
	case "destroy_instance":
		rec.t.DestroyInstance = &v
	}
}

// Start notes that the per-packet calls begin (so that a run of no packets still
// reports a count of 0), for a source when source is true.
func (rec *Recorder) Start(source bool) { rec.source = source; rec.startedPer = true }

// Timings returns the timings recorded so far.
func (rec *Recorder) Timings() Timings {
	t := rec.t
	if len(rec.per) > 0 || rec.startedPer {
		s := stats(rec.per)
		if rec.source {
			t.Tick = &s
		} else {
			t.ProcessPacket = &s
		}
	}
	return t
}

func stats(us []float64) CallStats {
	if len(us) == 0 {
		return CallStats{}
	}
	s := slices.Clone(us)
	sort.Float64s(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return CallStats{Count: len(s), P50: round1(rank(0.5)), P99: round1(rank(0.99)), Max: round1(s[len(s)-1])}
}

// round1 rounds to 0.1.
func round1(v float64) float64 { return math.Round(v*10) / 10 }
