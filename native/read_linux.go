//go:build linux && (amd64 || arm64)

package native

import "fmt"

// Offsets and sizes of SPEC section 6.
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
	afSampleRate   = 0
	afChannels     = 4
	afSampleFormat = 8
)

// Limits of SPEC section 6.
const (
	maxCount  = 1024     // pins, types of a pin, categories
	maxString = 64 << 10 // kind, description, names, type ids, categories
	maxSchema = 1 << 20  // param_schema
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

// readMetadata copies the CNodeMetadata at md of a library of the given API version.
func readMetadata(md uintptr, version uint32) (Metadata, *Error) {
	m := Metadata{APIVersion: version}

	kind := readPtr(md + mdKind)
	if kind == 0 {
		return Metadata{}, &Error{Err: ErrInvalidKind, Detail: "kind is NULL"}
	}
	var ok bool
	if m.Kind, ok = readCString(kind, maxString); !ok {
		return Metadata{}, &Error{Err: ErrInvalidKind, Detail: "kind is over 64 KiB"}
	}

	var e *Error
	if m.Description, e = optionalString(readPtr(md+mdDescription), maxString, "description"); e != nil {
		return Metadata{}, e
	}
	schema, e := optionalString(readPtr(md+mdParamSchema), maxSchema, "param_schema")
	if e != nil {
		return Metadata{}, e
	}
	if schema == "" {
		schema = "{}"
	}
	m.ParamSchema = Schema(schema)

	// Inputs.
	inputs, n, e := array(md+mdInputs, md+mdInputsCount, "inputs")
	if e != nil {
		return Metadata{}, e
	}
	m.Inputs = make([]InputPin, n)
	for i := range n {
		pin := inputs + uintptr(i)*inputPinSize
		name, e := pinName(pin+inName, "input", i)
		if e != nil {
			return Metadata{}, e
		}
		where := fmt.Sprintf("input pin %d %q", i, name)
		types, nt, e := array(pin+inTypes, pin+inTypesCount, where+": accepts_types")
		if e != nil {
			return Metadata{}, e
		}
		m.Inputs[i] = InputPin{Name: name, Types: make([]TypeInfo, nt)}
		for j := range nt {
			if m.Inputs[i].Types[j], e = readType(types+uintptr(j)*typeInfoSize(version), where); e != nil {
				return Metadata{}, e
			}
		}
	}

	// Outputs, whose type is inline.
	outputs, n, e := array(md+mdOutputs, md+mdOutputsCount, "outputs")
	if e != nil {
		return Metadata{}, e
	}
	m.Outputs = make([]OutputPin, n)
	for i := range n {
		pin := outputs + uintptr(i)*(ptrSize+typeInfoSize(version))
		name, e := pinName(pin+outName, "output", i)
		if e != nil {
			return Metadata{}, e
		}
		t, e := readType(pin+outType, fmt.Sprintf("output pin %d %q", i, name))
		if e != nil {
			return Metadata{}, e
		}
		m.Outputs[i] = OutputPin{Name: name, Type: t}
	}

	// Categories.
	cats, n, e := array(md+mdCategories, md+mdCategoriesCount, "categories")
	if e != nil {
		return Metadata{}, e
	}
	m.Categories = make([]string, n)
	for i := range n {
		p := readPtr(cats + uintptr(i)*ptrSize)
		if p == 0 {
			return Metadata{}, metadataError("category %d is NULL", i)
		}
		if m.Categories[i], ok = readCString(p, maxString); !ok {
			return Metadata{}, metadataError("category %d is over 64 KiB", i)
		}
	}
	return m, nil
}

// array reads the pointer at ptrAddr and the count at countAddr of a C array: at most
// maxCount elements, and not NULL unless empty.
func array(ptrAddr, countAddr uintptr, what string) (uintptr, int, *Error) {
	p, count := readPtr(ptrAddr), readU64(countAddr)
	if count > maxCount {
		return 0, 0, metadataError("%s: count %d is over %d", what, count, maxCount)
	}
	if p == 0 && count > 0 {
		return 0, 0, metadataError("%s: NULL with count %d", what, count)
	}
	return p, int(count), nil
}

// optionalString copies a string that may be NULL ("").
func optionalString(p uintptr, limit int, what string) (string, *Error) {
	if p == 0 {
		return "", nil
	}
	s, ok := readCString(p, limit)
	if !ok {
		return "", metadataError("%s is over %s", what, sizeName(limit))
	}
	return s, nil
}

// pinName copies the name of input or output pin i from addr.
func pinName(addr uintptr, dir string, i int) (string, *Error) {
	p := readPtr(addr)
	if p == 0 {
		return "", metadataError("%s pin %d: name is NULL", dir, i)
	}
	name, ok := readCString(p, maxString)
	if !ok {
		return "", metadataError("%s pin %d: name is over 64 KiB", dir, i)
	}
	return name, nil
}

// readType copies the CPacketTypeInfo at addr of the pin described by where.
func readType(addr uintptr, where string) (TypeInfo, *Error) {
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
		var ok bool
		if t.CustomTypeID, ok = readCString(id, maxString); !ok {
			return TypeInfo{}, metadataError("%s: custom_type_id is over 64 KiB", where)
		}
	}
	return t, nil
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
