//go:build linux && (amd64 || arm64)

package native

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ebitengine/purego"
)

// The host's callbacks. purego makes a few thousand C callbacks per process at most and
// never frees one, so the log, output and telemetry callbacks are made once per process
// and shared by every instance. Each call finds its instance through its user_data: a
// number, the instance's key in routes, never a Go pointer. Keys are never reused, so a
// plugin calling back for an instance that is gone finds nothing: the call does nothing
// and returns success.

// callbackSlots counts the purego callbacks this package made (tests read it).
var callbackSlots atomic.Int32

// newCallback is purego.NewCallback, counted.
func newCallback(fn any) uintptr {
	callbackSlots.Add(1)
	return purego.NewCallback(fn)
}

// hostCallbacks are the C addresses of the callbacks and of the messages the host
// returns in a failed CResult, in memory that is never freed.
type hostCallbacks struct {
	log, output, telemetry uintptr
	// Messages, NUL-terminated C strings.
	msgBadPacket, msgPanic uintptr
}

var (
	callbacksOnce sync.Once
	callbacksMade hostCallbacks
	callbacksErr  error
)

// callbacks returns the process's callbacks, making them on first use.
func callbacks() (*hostCallbacks, error) {
	callbacksOnce.Do(func() {
		// The messages live in a page of their own for the life of the process.
		page, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			callbacksErr = err
			return
		}
		n := 0
		put := func(s string) uintptr {
			a := addrOf(page, n)
			n += copy(page[n:], s) + 1 // the mapping is zeroed: the NUL is there
			return a
		}
		callbacksMade = hostCallbacks{
			log:          newCallback(onLog),
			output:       newCallback(onOutput),
			telemetry:    newCallback(onTelemetry),
			msgBadPacket: put("host: the output packet cannot be read (see the host's log)"),
			msgPanic:     put("host: the output callback panicked"),
		}
	})
	return &callbacksMade, callbacksErr
}

// routes maps the user_data of the callbacks to instances.
var routes struct {
	sync.RWMutex
	m    map[uintptr]*Instance
	last uintptr
}

// register gives in a new key and returns it.
func register(in *Instance) uintptr {
	routes.Lock()
	defer routes.Unlock()
	if routes.m == nil {
		routes.m = make(map[uintptr]*Instance)
	}
	routes.last++
	routes.m[routes.last] = in
	return routes.last
}

// unregister forgets key: later callbacks with it find nothing.
func unregister(key uintptr) {
	routes.Lock()
	defer routes.Unlock()
	delete(routes.m, key)
}

// route returns the instance of key, or nil.
func route(key uintptr) *Instance {
	routes.RLock()
	defer routes.RUnlock()
	return routes.m[key]
}

// cResult is a CResult as a callback returns it: two integer registers, success in
// the low byte of the first.
type cResult struct{ Success, Message uintptr }

var resultOK = cResult{Success: 1}

// onLog is the CLogCallback: void (int32 level, const char *target, const char
// *message, void *user_data).
func onLog(level int32, target, message, ud uintptr) {
	in := route(ud)
	if in == nil {
		return
	}
	// A Handler that panics loses its line, not the process.
	defer func() { _ = recover() }()
	lvl := logLevel(level)
	ctx := context.Background()
	if !in.logger.Enabled(ctx, lvl) {
		return
	}
	in.logger.LogAttrs(ctx, lvl, "plugin log line", slog.String("kind", in.kind),
		slog.String("target", cString(target, maxString)), slog.String("message", cString(message, maxString)),
		slog.String("path", in.path))
}

// logLevel maps a CLogLevel (0 trace, 1 debug, 2 info, 3 warn, 4 error) to slog's;
// values below 0 count as trace and above 4 as error.
func logLevel(level int32) slog.Level {
	switch {
	case level <= 1:
		return slog.LevelDebug
	case level == 2:
		return slog.LevelInfo
	case level == 3:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// onOutput is the COutputCallback: CResult (const char *pin_name, const CPacket
// *packet, void *user_data).
func onOutput(pin, packet, ud uintptr) (r cResult) {
	in := route(ud)
	if in == nil || in.output == nil {
		return resultOK
	}
	var m *outputMemory
	if in.reuse != nil {
		in.reuse.mu.Lock()
		defer in.reuse.mu.Unlock()
		m = &in.reuse.mem
	}
	p, problem := readPacket(packet, in.version, m)
	if problem != "" {
		in.logger.LogAttrs(context.Background(), slog.LevelWarn, "plugin output a packet that cannot be read",
			slog.String("kind", in.kind), slog.String("path", in.path), slog.String("err", problem))
		return cResult{Message: callbacksMade.msgBadPacket}
	}
	name := in.outputName(pin)
	defer func() {
		if v := recover(); v != nil {
			in.panicked.CompareAndSwap(nil, &panicValue{v})
			r = cResult{Message: callbacksMade.msgPanic}
		}
	}()
	in.output(name, p)
	return resultOK
}

// onTelemetry is the CTelemetryCallback: CResult (const char *event_type, const
// uint8 *data_json, size_t data_len, const CPacketMetadata *metadata, void
// *user_data).
func onTelemetry(event, data, n, metadata, ud uintptr) (r cResult) {
	in := route(ud)
	if in == nil || in.telemetry == nil {
		return resultOK
	}
	e := TelemetryEvent{Type: cString(event, maxString), Metadata: readMetadataPtr(metadata)}
	if data != 0 {
		e.JSON = copyBytes(data, n)
	}
	defer func() {
		if v := recover(); v != nil {
			in.panicked.CompareAndSwap(nil, &panicValue{v})
			r = cResult{Message: callbacksMade.msgPanic}
		}
	}()
	in.telemetry(e)
	return resultOK
}

// outputName returns the name at pin, without copying it when it is the name of
// one of the library's output pins.
func (in *Instance) outputName(pin uintptr) string {
	if pin == 0 {
		return ""
	}
	b := cStringView(pin, maxString)
	for _, name := range in.outputs {
		if string(b) == name {
			return name
		}
	}
	return string(b)
}
