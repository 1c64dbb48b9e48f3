// Package install changes a plugins root the three ways plugwatch's promise to
// touch only what it names allows: Install places one library (or .wasm) safely,
// Remove deletes one plugin's files (`plugwatch remove`) and Migrate moves bare
// libraries of native/ into folders of their own (`plugwatch migrate`). The
// command line (`plugwatch install`, `remove`, `migrate`) and the admin API's
// write endpoints (POST /v1/plugins, DELETE /v1/plugins/{id}) share this one
// implementation. RemoveDeadStaging removes what installs killed mid-way left
// behind; a daemon calls it at start.
//
// Each function touches only what it names, and nothing is ever deleted through
// a symlink. Install and Migrate put a file in place with a move that cannot
// replace an existing file (renameat2 with RENAME_NOREPLACE on Linux, renamex_np
// with RENAME_EXCL on macOS, else link then unlink), so an existing plugin's files
// are never overwritten, even by two installs racing; on every error path Install
// removes exactly what it created and nothing else.
//
// Every failure is an *Error wrapping one of the sentinel errors (ErrBadName,
// ErrOccupied, ErrTooLarge, ErrInvalid, ErrKindProvided, ErrNothingToRemove), an
// *AmbiguousError (Remove of an id that names both a local folder and a
// marketplace record), or the operating system's error; match them with
// errors.Is and errors.As, never by their text. The package has no global state:
// its functions are safe to call concurrently.
package install
