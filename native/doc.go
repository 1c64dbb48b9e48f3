// Package native opens StreamKit native plugin libraries and reads their metadata.
//
// A plugin library is a shared object exporting streamkit_native_plugin_api, which
// returns a versioned table of functions (docs/abi.md). [Open] checks that the file is
// a whole ELF shared object for this machine ([Check]), loads it with dlopen (through
// purego; the package uses no cgo), verifies the table's API version against an
// accepted [Range] and copies the library's metadata into Go memory. [Probe] does the
// same and closes the library again.
//
// Loading runs the library's code in this process: its constructors, the entry point
// and get_metadata. A library that crashes or hangs there takes the process with it;
// a caller that must survive such libraries probes them in a child process.
//
// Every failure is an [*Error] wrapping one of the sentinel errors (ErrIncomplete,
// ErrNotLoadable, ErrLoader, ErrNoEntry, ErrABIVersion, ErrMetadata, ErrInvalidKind,
// ErrClosed, ErrUnsupported); match them with [errors.Is].
//
// Loading is implemented on Linux for amd64 and arm64. Elsewhere Check, Open and Probe
// return an error matching ErrUnsupported.
package native
