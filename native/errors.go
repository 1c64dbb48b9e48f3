package native

import "errors"

// The sentinel errors. Every error of Check, Open, Probe and Close is an *Error whose
// Err is one of these (or, for a file that cannot be read, the underlying system
// error, e.g. one matching fs.ErrNotExist).
//
// The verdict sentinels say what is wrong with a library: ErrIncomplete,
// ErrNotLoadable, ErrLoader, ErrNoEntry, ErrABIVersion, ErrMetadata, ErrInvalidKind,
// and the two that only a probe in a child process can give, ErrCrashed and
// ErrStartsProcess (package probe returns them; this package never does). Every error
// that is a verdict about a library, from this package or from package probe, wraps
// exactly one of them; an error that wraps none of them says nothing about the library
// (a file that could not be read, a probe helper that could not run, a context that
// ended) and the library should be judged again later. [IsVerdict] tells the two
// apart. ErrClosed and ErrUnsupported are about the caller and the system, not a
// library, and are no verdicts.
var (
	// ErrIncomplete: the file is a prefix of an ELF file (empty, shorter than its
	// headers, or with headers or segments pointing past its end), as a file still
	// being copied or a truncated one is. It was not handed to the loader.
	ErrIncomplete = errors.New("not a whole ELF file")
	// ErrNotLoadable: the file is not a 64-bit ELF shared object for this machine
	// (a text file, another architecture, a 32-bit or executable file). It was not
	// handed to the loader.
	ErrNotLoadable = errors.New("not a shared object for this machine")
	// ErrLoader: the dynamic loader refused the library (or failed to close it);
	// Error.Detail keeps the loader's message.
	ErrLoader = errors.New("dynamic loader failed")
	// ErrNoEntry: the library does not export the entry point.
	ErrNoEntry = errors.New("missing symbol streamkit_native_plugin_api")
	// ErrABIVersion: the library reports an API version outside the accepted range;
	// Error.Detail names the version and the range.
	ErrABIVersion = errors.New("unsupported API version")
	// ErrMetadata: the API table or the metadata breaks a limit: a NULL table,
	// metadata or pin name, over 1,024 pins, types or categories, a string over
	// 64 KiB (param_schema over 1 MiB), an unknown packet type, a pin type without
	// its format or type id, or over 4 MiB in total (all its strings and arrays
	// together). Error.Detail says which.
	ErrMetadata = errors.New("invalid metadata")
	// ErrInvalidKind: the library reports a NULL kind or one over 64 KiB. Other rules
	// on kinds (docs/formats.md) are the caller's to apply to Metadata.Kind.
	ErrInvalidKind = errors.New("invalid kind")
	// ErrCrashed: opening the library killed or hung the process that opened it.
	// Package probe returns it for a library that crashed or hung its helper process,
	// also when tried again alone; Error.Detail says how ("killed by signal SIGSEGV",
	// "hung for more than 5s").
	ErrCrashed = errors.New("library crashed or hung when opened")
	// ErrStartsProcess: opening the library started a process (its constructor or
	// get_metadata forked). Package probe returns it: in a process that keeps the
	// library open, that child would hold the process's descriptors and ports.
	ErrStartsProcess = errors.New("starts a process when loaded")
	// ErrClosed: Close was called on a library that is already closed.
	ErrClosed = errors.New("library already closed")
	// ErrUnsupported: native plugins cannot be loaded on this system.
	ErrUnsupported = errors.New("native plugins are not supported on this system")
)

// Error is every failure of Check, Open, Probe and Close. Match Err with errors.Is
// against the sentinels; Detail is for people, never for control flow.
type Error struct {
	Op     string // "check", "open", "close", "probe" (in a helper) or "read" (copying it)
	Path   string // the library's path as the caller gave it
	Err    error  // a sentinel, or a system error for a file that cannot be read
	Detail string // what exactly was wrong; may be empty
}

// Error returns "native: OP PATH: ERR: DETAIL" (without ": DETAIL" when Detail is empty).
func (e *Error) Error() string {
	s := "native: " + e.Op + " " + e.Path + ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// verdicts are the sentinels that are verdicts about a library.
var verdicts = []error{
	ErrIncomplete, ErrNotLoadable, ErrLoader, ErrNoEntry, ErrABIVersion,
	ErrMetadata, ErrInvalidKind, ErrCrashed, ErrStartsProcess,
}

// IsVerdict reports whether err is a verdict about a library: whether it wraps one
// of the verdict sentinels (ErrIncomplete, ErrNotLoadable, ErrLoader, ErrNoEntry,
// ErrABIVersion, ErrMetadata, ErrInvalidKind, ErrCrashed, ErrStartsProcess). An error
// that is no verdict says nothing about the library; nil is no verdict.
func IsVerdict(err error) bool {
	for _, s := range verdicts {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// ProbeResult is one library's result of probing many at once: its metadata, or
// the error probing it gave (see IsVerdict).
type ProbeResult struct {
	Meta Metadata
	Err  error
}
