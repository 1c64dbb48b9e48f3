//go:build linux && (amd64 || arm64)

package native

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/ebitengine/purego"
)

const entrySymbol = "streamkit_native_plugin_api"

// Open checks the file (see Check), loads it with dlopen(RTLD_NOW|RTLD_LOCAL), calls
// streamkit_native_plugin_api, checks the API version the table reports against abi
// (limited to 1-9; nothing else of the table is read when it is outside) and copies
// the metadata. On failure the library is closed again and the error wraps
// ErrIncomplete or ErrNotLoadable (from the check), ErrLoader (dlopen refused it; the
// loader's message is in Detail), ErrNoEntry, ErrABIVersion, ErrMetadata or
// ErrInvalidKind.
//
// Open runs the library's constructors, its entry point and get_metadata in this
// process: a library that crashes or hangs there crashes or hangs the caller. The
// returned Library must be closed.
func Open(path string, abi Range) (*Library, error) {
	wrap := func(e *Error) error {
		e.Op, e.Path = "open", path
		return e
	}
	if e := checkELF(path); e != nil {
		return nil, wrap(e)
	}
	// A name without a slash would make dlopen search the library path.
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, wrap(&Error{Err: err})
	}
	handle, entry, e := dlopen(abs)
	if e != nil {
		return nil, wrap(e)
	}
	api, md, e := load(entry, abi)
	if e != nil {
		dlclose(handle)
		return nil, wrap(e)
	}
	return &Library{path: path, meta: md, handle: handle, api: api}, nil
}

// dlopen loads the library at path and finds its entry point.
func dlopen(path string) (handle, entry uintptr, e *Error) {
	// dlerror's message belongs to the thread that failed: stay on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return 0, 0, &Error{Err: ErrLoader, Detail: err.Error()}
	}
	entry, err = purego.Dlsym(handle, entrySymbol)
	if err != nil {
		purego.Dlclose(handle)
		return 0, 0, &Error{Err: ErrNoEntry, Detail: err.Error()}
	}
	return handle, entry, nil
}

// dlclose closes a handle of dlopen; on failure it returns the loader's message and
// ErrLoader.
func dlclose(handle uintptr) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := purego.Dlclose(handle); err != nil {
		return err.Error(), ErrLoader
	}
	return "", nil
}

// load calls the entry point, checks the table's version and reads the metadata. It
// returns the table's address and the copied metadata.
func load(entry uintptr, abi Range) (uintptr, Metadata, *Error) {
	api, _, _ := purego.SyscallN(entry)
	if api == 0 {
		return 0, Metadata{}, metadataError("%s returned NULL", entrySymbol)
	}
	version := readU32(api + apiVersion)
	if accept := abi.effective(); !accept.Contains(version) {
		detail := fmt.Sprintf("reports API version %d; accepted range is %v", version, accept)
		if accept.Min > accept.Max {
			detail = fmt.Sprintf("reports API version %d; no version is accepted (range %v)", version, abi)
		}
		return 0, Metadata{}, &Error{Err: ErrABIVersion, Detail: detail}
	}
	getMetadata := readPtr(api + apiGetMetadata)
	if getMetadata == 0 {
		return 0, Metadata{}, metadataError("get_metadata is NULL")
	}
	md, _, _ := purego.SyscallN(getMetadata)
	if md == 0 {
		return 0, Metadata{}, metadataError("get_metadata returned NULL")
	}
	m, e := readMetadata(md, version)
	if e != nil {
		return 0, Metadata{}, e
	}
	return api, m, nil
}
