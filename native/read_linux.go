//go:build linux && (amd64 || arm64)

package native

import "fmt"

// Offsets and sizes of docs/abi.md.
const (
	apiVersion     = 0 // CNativePluginAPI.version, uint32
	apiGetMetadata = 8 // CNativePluginAPI.get_metadata

	// CNodeMetadata
	mdKind            = 0
	mdDescription     = 8
	mdInputs          = 16
	mdInputsCount     = 24
	mdOutputs         = 32
	mdOutputsCount    = 40
	mdParamSchema     = 48
	mdCategories      = 56
	mdCategoriesCount = 64

	// CInputPin
	inputPinSize = 24
	inName       = 0
	inTypes      = 8
	inTypesCount = 16

	// COutputPin: the name, then the CPacketTypeInfo inline.
	outName = 0
	outType = 8

	// CPacketTypeInfo (raw_video_format, from version 3, is not read)
	tiDiscriminant = 0 // int32
	tiAudioFormat  = 8
	tiCustomType   = 16

	ptrSize = 8 // pointers and size_t

	// CAudioFormat
	audioFormatSize = 12
	afSampleRate    = 0
	afChannels      = 4
	afSampleFormat  = 8
)

// Limits on metadata.
const (
	maxCount  = 1024     // pins, types of a pin, categories
	maxString = 64 << 10 // kind, description, names, type ids, categories
	maxSchema = 1 << 20  // param_schema
	maxTotal  = 4 << 20  // all strings and arrays of one library's metadata together
)

// typeInfoSize returns sizeof(CPacketTypeInfo) in the given API version: version 3
// appended raw_video_format.
func typeInfoSize(version uint32) uintptr {
	if version >= 3 {
		return 32
	}
	return 24
}

func metadataError(format string, args ...any) *Error {
	return &Error{Err: ErrMetadata, Detail: fmt.Sprintf(format, args...)}
}

// reader copies one library's metadata, counting what it copies against maxTotal:
// the bytes of every string and the C size of every array and audio format. It
// checks before it copies, so no more than maxTotal is ever held for a library.
type reader struct {
	version uint32
	used    int // bytes counted so far
}

// overTotal is the error of metadata over maxTotal.
func overTotal() *Error {
	return metadataError("its strings and arrays together are over %s (the limit on a library's metadata)", sizeName(maxTotal))
}

// take counts n more bytes; it returns overTotal when they do not fit.
func (r *reader) take(n uint64) *Error {
	if n > uint64(maxTotal-r.used) {
		return overTotal()
	}
	r.used += int(n)
	return nil
}

// cstring copies and counts the string at p (not NULL) when it is at most limit
// bytes long. It returns ok false for a longer string, and overTotal for one that
// does not fit in what is left of maxTotal.
func (r *reader) cstring(p uintptr, limit int) (s string, ok bool, e *Error) {
	room := maxTotal - r.used
	s, ok = readCString(p, min(limit, room))
	if !ok {
		if room < limit {
			return "", false, overTotal()
		}
		return "", false, nil
	}
	r.used += len(s)
	return s, true, nil
}

// readMetadata copies the CNodeMetadata at md of a library of the given API version.
func readMetadata(md uintptr, version uint32) (Metadata, *Error) {
	r := &reader{version: version}
	m, e := r.metadata(md)
	if e != nil {
		return Metadata{}, e
	}
	return m, nil
}

func (r *reader) metadata(md uintptr) (Metadata, *Error) {
	m := Metadata{APIVersion: r.version}
	var e *Error
	if e = r.header(md, &m); e != nil {
		return m, e
	}
	if m.Inputs, e = r.inputs(md); e != nil {
		return m, e
	}
	if m.Outputs, e = r.outputs(md); e != nil {
		return m, e
	}
	m.Categories, e = r.categories(md)
	return m, e
}

// header reads the kind, the description and the parameter schema ("{}" when
// there is none) into m.
func (r *reader) header(md uintptr, m *Metadata) *Error {
	kind := readPtr(md + mdKind)
	if kind == 0 {
		return &Error{Err: ErrInvalidKind, Detail: "kind is NULL"}
	}
	var ok bool
	var e *Error
	if m.Kind, ok, e = r.cstring(kind, maxString); e != nil {
		return e
	} else if !ok {
		return &Error{Err: ErrInvalidKind, Detail: "kind is over 64 KiB"}
	}
	if m.Description, e = r.optionalString(readPtr(md+mdDescription), maxString, "description"); e != nil {
		return e
	}
	schema, e := r.optionalString(readPtr(md+mdParamSchema), maxSchema, "param_schema")
	if e != nil {
		return e
	}
	if schema == "" {
		schema = "{}"
	}
	m.ParamSchema = Schema(schema)
	return nil
}

// inputs reads the input pins, each with the types it accepts.
func (r *reader) inputs(md uintptr) ([]InputPin, *Error) {
	inputs, n, e := r.array(md+mdInputs, md+mdInputsCount, inputPinSize, "inputs")
	if e != nil {
		return nil, e
	}
	out := make([]InputPin, n)
	for i := range n {
		pin := inputs + uintptr(i)*inputPinSize
		name, e := r.pinName(pin+inName, "input", i)
		if e != nil {
			return nil, e
		}
		where := fmt.Sprintf("input pin %d %q", i, name)
		types, nt, e := r.array(pin+inTypes, pin+inTypesCount, typeInfoSize(r.version), where+": accepts_types")
		if e != nil {
			return nil, e
		}
		out[i] = InputPin{Name: name, Types: make([]TypeInfo, nt)}
		for j := range nt {
			if out[i].Types[j], e = r.readType(types+uintptr(j)*typeInfoSize(r.version), where); e != nil {
				return nil, e
			}
		}
	}
	return out, nil
}

// outputs reads the output pins, whose type is inline.
func (r *reader) outputs(md uintptr) ([]OutputPin, *Error) {
	outputSize := ptrSize + typeInfoSize(r.version)
	outputs, n, e := r.array(md+mdOutputs, md+mdOutputsCount, outputSize, "outputs")
	if e != nil {
		return nil, e
	}
	out := make([]OutputPin, n)
	for i := range n {
		pin := outputs + uintptr(i)*outputSize
		name, e := r.pinName(pin+outName, "output", i)
		if e != nil {
			return nil, e
		}
		t, e := r.readType(pin+outType, fmt.Sprintf("output pin %d %q", i, name))
		if e != nil {
			return nil, e
		}
		out[i] = OutputPin{Name: name, Type: t}
	}
	return out, nil
}

// categories reads the categories, none of them NULL.
func (r *reader) categories(md uintptr) ([]string, *Error) {
	cats, n, e := r.array(md+mdCategories, md+mdCategoriesCount, ptrSize, "categories")
	if e != nil {
		return nil, e
	}
	out := make([]string, n)
	for i := range n {
		p := readPtr(cats + uintptr(i)*ptrSize)
		if p == 0 {
			return nil, metadataError("category %d is NULL", i)
		}
		var ok bool
		if out[i], ok, e = r.cstring(p, maxString); e != nil {
			return nil, e
		} else if !ok {
			return nil, metadataError("category %d is over 64 KiB", i)
		}
	}
	return out, nil
}

// array reads the pointer at ptrAddr and the count at countAddr of a C array of
// elements of the given size: at most maxCount elements, and not NULL unless empty.
// It counts the array.
func (r *reader) array(ptrAddr, countAddr, size uintptr, what string) (uintptr, int, *Error) {
	p, count := readPtr(ptrAddr), readU64(countAddr)
	if count > maxCount {
		return 0, 0, metadataError("%s: count %d is over %d", what, count, maxCount)
	}
	if p == 0 && count > 0 {
		return 0, 0, metadataError("%s: NULL with count %d", what, count)
	}
	if e := r.take(count * uint64(size)); e != nil {
		return 0, 0, e
	}
	return p, int(count), nil
}

// optionalString copies a string that may be NULL ("").
func (r *reader) optionalString(p uintptr, limit int, what string) (string, *Error) {
	if p == 0 {
		return "", nil
	}
	s, ok, e := r.cstring(p, limit)
	if e != nil {
		return "", e
	}
	if !ok {
		return "", metadataError("%s is over %s", what, sizeName(limit))
	}
	return s, nil
}

// pinName copies the name of input or output pin i from addr.
func (r *reader) pinName(addr uintptr, dir string, i int) (string, *Error) {
	p := readPtr(addr)
	if p == 0 {
		return "", metadataError("%s pin %d: name is NULL", dir, i)
	}
	name, ok, e := r.cstring(p, maxString)
	if e != nil {
		return "", e
	}
	if !ok {
		return "", metadataError("%s pin %d: name is over 64 KiB", dir, i)
	}
	return name, nil
}

// readType copies the CPacketTypeInfo at addr of the pin described by where.
func (r *reader) readType(addr uintptr, where string) (TypeInfo, *Error) {
	t := TypeInfo{Type: PacketType(readI32(addr + tiDiscriminant))}
	if !t.Type.known() {
		return TypeInfo{}, metadataError("%s: unknown packet type %d", where, int32(t.Type))
	}
	switch t.Type {
	case RawAudio:
		f := readPtr(addr + tiAudioFormat)
		if f == 0 {
			return TypeInfo{}, metadataError("%s: raw_audio without audio_format", where)
		}
		if e := r.take(audioFormatSize); e != nil {
			return TypeInfo{}, e
		}
		t.AudioFormat = &AudioFormat{
			SampleRate:   readU32(f + afSampleRate),
			Channels:     readU16(f + afChannels),
			SampleFormat: readI32(f + afSampleFormat),
		}
	case Custom, EncodedVideo, EncodedAudio:
		id := readPtr(addr + tiCustomType)
		if id == 0 {
			if t.Type == Custom {
				return TypeInfo{}, metadataError("%s: custom without custom_type_id", where)
			}
			break
		}
		s, ok, e := r.cstring(id, maxString)
		if e != nil {
			return TypeInfo{}, e
		}
		if !ok {
			return TypeInfo{}, metadataError("%s: custom_type_id is over 64 KiB", where)
		}
		t.CustomTypeID = s
	}
	return t, nil
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
