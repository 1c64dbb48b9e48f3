// Package install changes a plugins root the three ways plugwatch's promise of
// SPEC 8 point 1 allows: Install places one library (or .wasm) safely (SPEC 8.1),
// Remove deletes one plugin's files (SPEC 7.1 `remove`) and Migrate moves bare
// libraries of native/ into folders of their own (SPEC 7.1 `migrate`). The command
// line (`plugwatch install`, `remove`, `migrate`) and the admin API's write endpoints
// (POST /v1/plugins, DELETE /v1/plugins/{id}) share this one implementation.
//
// Each function touches only what it names. Install and Migrate put a file in place
// with a move that cannot replace an existing file (renameat2 with RENAME_NOREPLACE
// on Linux, renamex_np with RENAME_EXCL on macOS, else link then unlink), so an
// existing plugin's files are never overwritten, even by two installs racing; on
// every error path Install removes exactly what it created and nothing else.
//
// Every failure is an *Error wrapping one of the sentinel errors (ErrBadName,
// ErrOccupied, ErrTooLarge, ErrInvalid, ErrKindProvided, ErrNothingToRemove) or the
// operating system's error; match them with errors.Is, never by their text. The
// package has no global state: its functions are safe to call concurrently.
package install
