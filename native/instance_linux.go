//go:build linux && (amd64 || arm64)

package native

import (
	"encoding/json"
	"strings"

	"github.com/ebitengine/purego"
)

// Offsets of the instance functions in CNativePluginAPI.
const (
	apiCreateInstance   = 16
	apiProcessPacket    = 24
	apiUpdateParams     = 32
	apiFlush            = 40
	apiDestroyInstance  = 48
	apiGetSourceConfig  = 56 // version 3
	apiTick             = 64 // version 3
	apiGetRuntimeSchema = 72 // version 4
	apiOnUpstreamHint   = 80 // version 5

	// CNodeCallbacks (version 6): struct_size, output, output_user_data, telemetry,
	// telemetry_user_data, alloc_video, alloc_audio, alloc_user_data.
	callbacksSize = 64
)

// How the calls are made, by API version:
//
//   - Versions 1-5 get the callbacks per call: process_packet(h, pin, packet, out,
//     out_ud, tel, tel_ud), flush(h, out, out_ud, tel, tel_ud), tick likewise. Version
//     1 and StreamKit's C header (version 2) declare process_packet and flush without
//     tel and tel_ud; passing them anyway is harmless (on amd64 the seventh argument
//     goes on the stack, which the caller owns; on arm64 every argument is in a
//     register), so one convention serves every version before 6.
//   - Version 6 and later get a pointer to a CNodeCallbacks in the instance's C
//     memory, written once at creation, alloc_* NULL (the host has no frame pools).
//   - CResult (16 bytes) comes back in two registers: purego.SyscallN returns both.
//   - CSourceConfig, CTickResult and CSchemaResult (24 bytes) come back through a
//     hidden result pointer: the first argument register on amd64, x8 on arm64.
//     SyscallN cannot set x8, so these calls go through purego.RegisterFunc, which
//     passes the pointer where each architecture wants it (purego v0.11 supports
//     struct returns on amd64 and arm64). The functions are registered on first use,
//     once per instance.
//   - The telemetry callback and its user_data are NULL unless InstanceOptions has a
//     Telemetry function.

// instanceSys is the Linux state of an Instance.
type instanceSys struct {
	h   uintptr // the plugin's instance handle
	fn  apiFuncs
	cb  *hostCallbacks
	mem *cMemory
	// The telemetry callback and user_data, or 0.
	tel, telUD uintptr
	// The input pins' names in the fixed part of mem, with their offsets.
	pins []cPin
	// args holds the arguments of process_packet and flush: SyscallN's variadic
	// slice escapes, so a new one would be allocated at every call.
	args [7]uintptr

	getSourceConfig func(h uintptr) cSourceConfig
	getSchema       func(h uintptr) cSchemaResult
	tickPairs       func(h, out, outUD, tel, telUD uintptr) cTickResult
	tickCallbacks   func(h, callbacks uintptr) cTickResult
}

type cPin struct {
	name string
	off  int
}

// apiFuncs are the addresses of an API table's instance functions; 0 for NULL and
// for those the version does not have.
type apiFuncs struct {
	create, process, updateParams, flush, destroy   uintptr
	sourceConfig, tick, runtimeSchema, upstreamHint uintptr
}

func readFuncs(api uintptr, version uint32) apiFuncs {
	f := apiFuncs{
		create:       readPtr(api + apiCreateInstance),
		process:      readPtr(api + apiProcessPacket),
		updateParams: readPtr(api + apiUpdateParams),
		flush:        readPtr(api + apiFlush),
		destroy:      readPtr(api + apiDestroyInstance),
	}
	if version >= 3 {
		f.sourceConfig = readPtr(api + apiGetSourceConfig)
		f.tick = readPtr(api + apiTick)
	}
	if version >= 4 {
		f.runtimeSchema = readPtr(api + apiGetRuntimeSchema)
	}
	if version >= 5 {
		f.upstreamHint = readPtr(api + apiOnUpstreamHint)
	}
	return f
}

// The 24-byte results, as purego returns them: every field one integer register
// wide, a bool in the low byte (the other bytes are padding, garbage).
type (
	cSourceConfig struct{ IsSource, TickIntervalUS, MaxTicks uintptr }
	cTickResult   struct{ Success, Message, Done uintptr }
	cSchemaResult struct{ Success, Message, Schema uintptr }
)

// cBool reads a C bool returned in an integer register (only its low byte counts).
func cBool(b uintptr) bool { return byte(b) != 0 }

// create calls create_instance and sets in.id and in.sys.
func (in *Instance) create(l *Library, params []byte) error {
	const call = "create_instance"
	api := l.API()
	if api == 0 {
		return &CallError{Call: call, Path: in.path, Err: ErrClosed}
	}
	if params != nil && !json.Valid(params) {
		return in.invalid(call, "params are not JSON")
	}
	fn := readFuncs(api, in.version)
	if fn.create == 0 {
		return &CallError{Call: call, Path: in.path, Err: ErrNotProvided}
	}
	cb, err := callbacks()
	if err != nil {
		return &CallError{Call: call, Path: in.path, Err: err}
	}

	// The fixed part: CNodeCallbacks, then the input pins' names.
	fixed := callbacksSize
	pins := make([]cPin, len(l.meta.Inputs))
	for i, p := range l.meta.Inputs {
		pins[i] = cPin{name: p.Name, off: fixed}
		fixed += len(p.Name) + 1
	}
	mem, err := newCMemory(fixed, max(16<<10, len(params)+1))
	if err != nil {
		return &CallError{Call: call, Path: in.path, Err: err}
	}
	s := instanceSys{fn: fn, cb: cb, mem: mem, pins: pins}
	in.id = register(in)
	if in.telemetry != nil {
		s.tel, s.telUD = cb.telemetry, in.id
	}
	w := mem.fixedPart()
	w.u64(0, callbacksSize)
	w.ptr(8, cb.output)
	w.ptr(16, in.id)
	w.ptr(24, s.tel)
	w.ptr(32, s.telUD) // alloc_video, alloc_audio, alloc_user_data stay NULL
	for _, p := range pins {
		w.b[p.off+copy(w.b[p.off:], p.name)] = 0
	}

	sw, _ := mem.scratch(len(params) + 1) // it has the room
	var p uintptr
	if params != nil {
		p = sw.cbytes(params)
	}
	h, _, _ := purego.SyscallN(fn.create, p, cb.log, in.id)
	if h == 0 {
		unregister(in.id)
		mem.free()
		return in.callError(call, "returned NULL")
	}
	s.h = h
	in.sys = s
	return nil
}

// callbacksAddr returns the address of the instance's CNodeCallbacks.
func (s *instanceSys) callbacksAddr() uintptr { return addrOf(s.mem.b, 0) }

// result returns the error of a CResult (r1, r2) of call, or nil.
func (in *Instance) result(call string, r1, r2 uintptr) error {
	if cBool(r1) {
		return nil
	}
	return in.callError(call, pluginMessage(r2))
}

// pluginMessage copies a plugin's error message.
func pluginMessage(addr uintptr) string {
	if addr == 0 {
		return MessageWithoutText
	}
	return cString(addr, maxString)
}

func (in *Instance) process(pin string, p Packet) error {
	const call = "process_packet"
	s := &in.sys
	if s.fn.process == 0 {
		return &CallError{Call: call, Path: in.path, Err: ErrNotProvided}
	}
	room, problem := packetRoom(p, in.version)
	if problem != "" {
		return in.invalid(call, problem)
	}
	pinOff := -1
	for _, cp := range s.pins {
		if cp.name == pin {
			pinOff = cp.off
			break
		}
	}
	if pinOff < 0 {
		if strings.IndexByte(pin, 0) >= 0 {
			return in.invalid(call, "pin name holds a NUL byte")
		}
		room += len(pin) + 1
	}
	w, err := s.mem.scratch(room)
	if err != nil {
		return &CallError{Call: call, Path: in.path, Err: err}
	}
	var pinAddr uintptr
	if pinOff >= 0 {
		pinAddr = w.addr(pinOff)
	} else {
		pinAddr = w.cstring(pin)
	}
	packet := w.writePacket(p, in.version)
	a := append(s.args[:0], s.h, pinAddr, packet)
	if in.version >= 6 {
		a = append(a, s.callbacksAddr())
	} else {
		a = append(a, s.cb.output, in.id, s.tel, s.telUD)
	}
	r1, r2, _ := purego.SyscallN(s.fn.process, a...)
	return in.result(call, r1, r2)
}

func (in *Instance) flush() error {
	const call = "flush"
	s := &in.sys
	if s.fn.flush == 0 {
		return &CallError{Call: call, Path: in.path, Err: ErrNotProvided}
	}
	a := append(s.args[:0], s.h)
	if in.version >= 6 {
		a = append(a, s.callbacksAddr())
	} else {
		a = append(a, s.cb.output, in.id, s.tel, s.telUD)
	}
	r1, r2, _ := purego.SyscallN(s.fn.flush, a...)
	return in.result(call, r1, r2)
}

// jsonArg writes b (nil: NULL) for call, checking that it is JSON.
func (in *Instance) jsonArg(call, what string, b []byte) (uintptr, error) {
	if b == nil {
		return 0, nil
	}
	if !json.Valid(b) {
		return 0, in.invalid(call, what+" are not JSON")
	}
	w, err := in.sys.mem.scratch(len(b) + 1)
	if err != nil {
		return 0, &CallError{Call: call, Path: in.path, Err: err}
	}
	return w.cbytes(b), nil
}

func (in *Instance) updateParams(params []byte) error {
	const call = "update_params"
	s := &in.sys
	if s.fn.updateParams == 0 {
		return &CallError{Call: call, Path: in.path, Err: ErrNotProvided}
	}
	p, err := in.jsonArg(call, "params", params)
	if err != nil {
		return err
	}
	r1, r2, _ := purego.SyscallN(s.fn.updateParams, s.h, p)
	return in.result(call, r1, r2)
}

func (in *Instance) upstreamHint(hint []byte) error {
	const call = "on_upstream_hint"
	s := &in.sys
	if s.fn.upstreamHint == 0 {
		return nil
	}
	if hint == nil {
		return in.invalid(call, "no hint")
	}
	h, err := in.jsonArg(call, "hints", hint)
	if err != nil {
		return err
	}
	r1, r2, _ := purego.SyscallN(s.fn.upstreamHint, s.h, h)
	return in.result(call, r1, r2)
}

func (in *Instance) sourceConfig() (SourceConfig, bool) {
	s := &in.sys
	if s.fn.sourceConfig == 0 {
		return SourceConfig{}, false
	}
	if s.getSourceConfig == nil {
		purego.RegisterFunc(&s.getSourceConfig, s.fn.sourceConfig)
	}
	r := s.getSourceConfig(s.h)
	return SourceConfig{
		IsSource:     cBool(r.IsSource),
		TickInterval: microseconds(uint64(r.TickIntervalUS)),
		MaxTicks:     uint64(r.MaxTicks),
	}, true
}

func (in *Instance) tick() (bool, error) {
	const call = "tick"
	s := &in.sys
	if s.fn.tick == 0 {
		return false, &CallError{Call: call, Path: in.path, Err: ErrNotProvided}
	}
	var r cTickResult
	if in.version >= 6 {
		if s.tickCallbacks == nil {
			purego.RegisterFunc(&s.tickCallbacks, s.fn.tick)
		}
		r = s.tickCallbacks(s.h, s.callbacksAddr())
	} else {
		if s.tickPairs == nil {
			purego.RegisterFunc(&s.tickPairs, s.fn.tick)
		}
		r = s.tickPairs(s.h, s.cb.output, in.id, s.tel, s.telUD)
	}
	return cBool(r.Done), in.result(call, r.Success, r.Message)
}

func (in *Instance) runtimeSchema() ([]byte, error) {
	const call = "get_runtime_param_schema"
	s := &in.sys
	if s.fn.runtimeSchema == 0 {
		return nil, nil
	}
	if s.getSchema == nil {
		purego.RegisterFunc(&s.getSchema, s.fn.runtimeSchema)
	}
	r := s.getSchema(s.h)
	if !cBool(r.Success) {
		return nil, in.callError(call, pluginMessage(r.Message))
	}
	if r.Schema == 0 {
		return nil, nil
	}
	schema, fits := readCString(r.Schema, maxSchema)
	if !fits {
		return nil, in.callError(call, "returned a schema over 1 MiB")
	}
	return []byte(schema), nil
}

// destroy calls destroy_instance, then forgets the instance's callbacks and memory.
func (in *Instance) destroy() {
	s := &in.sys
	if s.fn.destroy != 0 {
		purego.SyscallN(s.fn.destroy, s.h)
	}
	unregister(in.id)
	s.mem.free()
	*s = instanceSys{}
}
