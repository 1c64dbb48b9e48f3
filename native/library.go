package native

import "sync"

// Library is an open plugin library. Its methods are safe for concurrent use.
//
// The dynamic loader keeps one mapping per path: opening a path that is still open
// returns the same mapping, so a rebuilt file is not seen until every Library of that
// path is closed (and glibc may keep some libraries mapped even then; docs/abi.md).
type Library struct {
	path string
	meta Metadata

	mu     sync.Mutex
	handle uintptr // dlopen handle; 0 once closed
	api    uintptr // address of the API table; 0 once closed
}

// Path returns the path the library was opened with.
func (l *Library) Path() string { return l.path }

// Metadata returns a copy of the metadata read at Open; it stays valid after Close.
func (l *Library) Metadata() Metadata { return l.meta.clone() }

// API returns the address of the library's CNativePluginAPI table. The address is
// valid until Close; API returns 0 after Close.
func (l *Library) API() uintptr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.api
}

// Close releases the library with dlclose. Whether the code is then unmapped is up to
// the system's loader. A second Close does nothing and returns an error matching
// ErrClosed. A failing dlclose is reported as ErrLoader; the Library is closed anyway.
func (l *Library) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.handle == 0 {
		return &Error{Op: "close", Path: l.path, Err: ErrClosed}
	}
	h := l.handle
	l.handle, l.api = 0, 0
	if msg, err := dlclose(h); err != nil {
		return &Error{Op: "close", Path: l.path, Err: err, Detail: msg}
	}
	return nil
}

// Probe opens the library at path, copies its metadata and closes it again; see Open.
// When only the closing fails, Probe returns the metadata and that error.
func Probe(path string, abi Range) (Metadata, error) {
	l, err := Open(path, abi)
	if err != nil {
		return Metadata{}, err
	}
	md := l.meta
	return md, l.Close()
}
