package native

import (
	"cmp"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// The sentinel errors of instances; every error of NewInstance and of an Instance's
// methods is a *CallError whose Err is one of these (or ErrClosed, ErrUnsupported).
var (
	// ErrCallFailed: the plugin reported a failure (a CResult with success false, or
	// NULL from create_instance); CallError.Message holds the plugin's message.
	ErrCallFailed = errors.New("plugin call failed")
	// ErrInstanceClosed: the instance was closed before the call.
	ErrInstanceClosed = errors.New("instance closed")
	// ErrNotProvided: the plugin does not provide the call (its API version predates
	// it, or the table holds NULL).
	ErrNotProvided = errors.New("call not provided by the plugin")
	// ErrInvalidInput: what the caller gave cannot be handed to this plugin (params
	// that are not JSON, a string with a NUL byte, a packet type its API version does
	// not know); nothing was called.
	ErrInvalidInput = errors.New("invalid input")
)

// MessageWithoutText is CallError.Message when a plugin fails with a NULL message.
const MessageWithoutText = "failed without a message"

// CallError is every failure of NewInstance and of an Instance's methods. Match Err
// with errors.Is; Message is for people.
type CallError struct {
	// Call is the ABI function: "create_instance", "process_packet", "flush",
	// "update_params", "get_source_config", "tick", "get_runtime_param_schema",
	// "on_upstream_hint" or "destroy_instance".
	Call string
	Path string // the library's path, as given to Open
	// Err is ErrCallFailed, ErrInstanceClosed, ErrNotProvided or ErrInvalidInput;
	// ErrClosed when the library was closed before NewInstance; ErrUnsupported on
	// systems without native plugins; the system's error when the memory for a call
	// cannot be mapped.
	Err error
	// Message is the plugin's message for ErrCallFailed (MessageWithoutText when it
	// gave NULL, "returned NULL" from create_instance); else what was wrong, or "".
	Message string
}

// Error returns "native: CALL PATH: ERR: MESSAGE" (without ": MESSAGE" when empty).
func (e *CallError) Error() string {
	s := "native: " + e.Call + " " + e.Path + ": " + e.Err.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns e.Err.
func (e *CallError) Unwrap() error { return e.Err }

// InstanceOptions configure NewInstance. The zero value is valid.
type InstanceOptions struct {
	// Logger receives the plugin's log lines: records with the message "plugin log
	// line" and the attributes "kind", "target" (the plugin's target), "message" (the
	// plugin's) and "path" (the library's), at Debug for trace and debug lines, Info,
	// Warn and Error. Lines come from
	// whichever thread the plugin logs on, during a call (create_instance and
	// destroy_instance included) or between calls; lines logged after Close has
	// returned are dropped. nil means slog.Default().
	Logger *slog.Logger
	// Kind is the "kind" attribute of the log lines; "" means the library's
	// Metadata.Kind.
	Kind string
	// Path is the library's path in the log lines' "path" and in the CallErrors;
	// "" means the path it was opened from (reconcile gives the user's file, not
	// its private copy).
	Path string
	// Output receives every packet the plugin outputs, with the output pin's name,
	// on the thread the plugin calls from: during Process, Flush or Tick, on the
	// goroutine making that call, unless the plugin outputs from threads of its own.
	// The packet is a copy in Go memory that Output may keep. Output must not call
	// the instance's methods. A panic in Output fails the plugin's output call and is
	// raised again when the instance call returns. nil drops every packet.
	Output func(pin string, p Packet)
	// ReuseOutput makes the instance reuse the memory of the packets it gives
	// Output: their slices (AudioFrame.Samples, the bytes of the byte packets,
	// CustomPacket.JSON, the Data of BinaryWithMetaPacket and VideoFrame) are valid
	// only until Output returns, and later packets overwrite them; Output copies what
	// it keeps. It saves an allocation per packet, and the garbage collection it
	// causes, on a hot path. false (the default) gives Output packets it owns.
	ReuseOutput bool
	// Telemetry receives the plugin's telemetry events, as Output its packets. nil
	// gives the plugin no telemetry callback (NULL), which every version allows.
	Telemetry func(TelemetryEvent)
}

// TelemetryEvent is one event of a plugin's telemetry callback, copied into Go memory.
type TelemetryEvent struct {
	Type     string          // e.g. "vad.speech_start"
	JSON     []byte          // the event's data
	Metadata *PacketMetadata // nil when the plugin gave none
}

// SourceConfig is a CSourceConfig: whether an instance is a source, which the host
// ticks instead of sending it input, and how.
type SourceConfig struct {
	IsSource     bool
	TickInterval time.Duration // the time between ticks the plugin asks for
	MaxTicks     uint64        // ticks after which it is done; 0 means no limit
}

// Instance is a running instance of a plugin (create_instance to destroy_instance).
//
// An Instance is not safe for concurrent use: make one call at a time (the calls
// are serialised anyway, so a mistake waits instead of crashing). Different
// instances, of one library or several, may be used in parallel. A call runs the
// plugin's code on the calling goroutine's thread and returns when the plugin does:
// a plugin that hangs hangs the caller, and one that crashes takes the process with
// it (run untrusted plugins in a child process).
//
// The Library must stay open until every instance of it is closed. After Close,
// every method returns an error matching ErrInstanceClosed.
type Instance struct {
	path      string
	kind      string
	version   uint32
	logger    *slog.Logger
	output    func(string, Packet)
	telemetry func(TelemetryEvent)
	outputs   []string // the names of the output pins, to give Output without copying
	id        uintptr  // the user_data of the callbacks (routes)

	panicked atomic.Pointer[panicValue] // a panic of Output or Telemetry, raised after the call
	reuse    *reusedOutput              // nil unless InstanceOptions.ReuseOutput

	mu     sync.Mutex
	closed bool
	sys    instanceSys
}

type panicValue struct{ v any }

// NewInstance creates an instance of the library's plugin with the JSON object params
// (nil gives the plugin NULL, as StreamKit does for a node without params). It fails
// with ErrInvalidInput when params is not JSON or holds a NUL byte, ErrCallFailed when
// create_instance returns NULL (the plugin's log lines may say why), ErrClosed when
// the library is closed. The instance must be closed.
func (l *Library) NewInstance(params []byte, opts InstanceOptions) (*Instance, error) {
	in := &Instance{
		path:      cmp.Or(opts.Path, l.path),
		kind:      opts.Kind,
		version:   l.meta.APIVersion,
		logger:    opts.Logger,
		output:    opts.Output,
		telemetry: opts.Telemetry,
	}
	if in.kind == "" {
		in.kind = l.meta.Kind
	}
	if opts.ReuseOutput {
		in.reuse = new(reusedOutput)
	}
	if in.logger == nil {
		in.logger = slog.Default()
	}
	in.outputs = make([]string, len(l.meta.Outputs))
	for i, p := range l.meta.Outputs {
		in.outputs[i] = p.Name
	}
	if err := in.create(l, params); err != nil {
		return nil, err
	}
	return in, nil
}

// APIVersion returns the API version of the instance's library.
func (in *Instance) APIVersion() uint32 { return in.version }

// Process hands the packet p to the plugin on its input pin (process_packet). The
// packet is copied into C memory for the call; the plugin's outputs reach Output
// before Process returns.
func (in *Instance) Process(pin string, p Packet) error {
	return in.call("process_packet", func() error { return in.process(pin, p) })
}

// Flush tells the plugin that its input has ended (flush); it may output what it
// still holds.
func (in *Instance) Flush() error {
	return in.call("flush", in.flush)
}

// UpdateParams gives the plugin new params (update_params): a JSON object, or nil
// for NULL.
func (in *Instance) UpdateParams(params []byte) error {
	return in.call("update_params", func() error { return in.updateParams(params) })
}

// SourceConfig asks the plugin whether it is a source (get_source_config, API version
// 3 and later). ok is false, with a zero config, when the plugin does not provide
// the call: it is not a source.
func (in *Instance) SourceConfig() (c SourceConfig, ok bool, err error) {
	err = in.call("get_source_config", func() error {
		c, ok = in.sourceConfig()
		return nil
	})
	return c, ok, err
}

// Tick asks a source for its next output (tick, API version 3 and later); done
// reports that it has no more. It fails with ErrNotProvided when the plugin has no
// tick. On ErrCallFailed, done is what the plugin said.
func (in *Instance) Tick() (done bool, err error) {
	err = in.call("tick", func() error {
		var e error
		done, e = in.tick()
		return e
	})
	return done, err
}

// RuntimeSchema returns the JSON Schema of the params the instance discovered at run
// time (get_runtime_param_schema, API version 4 and later), copied; nil, without an
// error, when it has none or does not provide the call.
func (in *Instance) RuntimeSchema() (schema []byte, err error) {
	err = in.call("get_runtime_param_schema", func() error {
		var e error
		schema, e = in.runtimeSchema()
		return e
	})
	return schema, err
}

// UpstreamHint gives the plugin an advisory hint from downstream, a JSON object
// (on_upstream_hint, API version 5 and later). A plugin that does not provide the
// call ignores hints: UpstreamHint returns nil.
func (in *Instance) UpstreamHint(hint []byte) error {
	return in.call("on_upstream_hint", func() error { return in.upstreamHint(hint) })
}

// Close destroys the instance (destroy_instance) and frees its memory. Log lines the
// plugin writes during destroy_instance reach the logger. A second Close returns an
// error matching ErrInstanceClosed.
func (in *Instance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return in.closedError("destroy_instance")
	}
	in.closed = true
	in.destroy()
	in.raisePanic()
	return nil
}

// call runs f for the ABI function name under the instance's lock, unless closed, and
// raises a panic of Output or Telemetry that happened meanwhile.
func (in *Instance) call(name string, f func() error) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return in.closedError(name)
	}
	err := f()
	in.raisePanic()
	return err
}

func (in *Instance) closedError(name string) error {
	return &CallError{Call: name, Path: in.path, Err: ErrInstanceClosed}
}

func (in *Instance) raisePanic() {
	if p := in.panicked.Swap(nil); p != nil {
		panic(p.v)
	}
}

// callError returns the error of a call that failed with the plugin's message.
func (in *Instance) callError(name, message string) error {
	return &CallError{Call: name, Path: in.path, Err: ErrCallFailed, Message: message}
}

func (in *Instance) invalid(name, message string) error {
	return &CallError{Call: name, Path: in.path, Err: ErrInvalidInput, Message: message}
}

// microseconds converts µs to a Duration, saturating.
func microseconds(us uint64) time.Duration {
	const maxUS = uint64(1<<63-1) / uint64(time.Microsecond)
	if us > maxUS {
		return 1<<63 - 1
	}
	return time.Duration(us) * time.Microsecond
}
