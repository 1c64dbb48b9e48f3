package state

// Code names a kind of problem (docs/problems.md).
type Code string

// The problem codes of docs/problems.md.
const (
	BareLibrary       Code = "bare_library"
	NoManifest        Code = "no_manifest"
	VersionDiverged   Code = "version_diverged"
	BadRecord         Code = "bad_record"
	BadManifest       Code = "bad_manifest"
	MissingLibrary    Code = "missing_library"
	OutsideRoot       Code = "outside_root"
	Incomplete        Code = "incomplete"
	LoadFailed        Code = "load_failed"
	ABIVersion        Code = "abi_version"
	InvalidKind       Code = "invalid_kind"
	KindMismatch      Code = "kind_mismatch"
	Crashed           Code = "crashed"
	UnsafePermissions Code = "unsafe_permissions"
	Unreadable        Code = "unreadable"
	SmokeFailed       Code = "smoke_failed"
)

// Level is a problem's severity.
type Level string

const (
	// Warn: the plugin still loads, or the file is simply not a plugin.
	Warn Level = "warn"
	// Error: something the user meant to load did not load.
	Error Level = "error"
)

// Problem is one thing wrong on disk. A problem is identified by (Path, Code): a
// change of Message alone is not a new problem.
type Problem struct {
	Path    string `json:"path"`
	Code    Code   `json:"code"`
	Level   Level  `json:"level"`
	Message string `json:"message"`

	// Origin is the record or bundle folder the problem belongs to ("" for one of
	// the root's own: a bare library, an unreadable native/). It is not part of the
	// document's JSON.
	Origin string `json:"-"`
}

// Key identifies a problem.
type Key struct {
	Path string
	Code Code
}

// Key returns the identity of p.
func (p Problem) Key() Key { return Key{p.Path, p.Code} }
