// Package probe reads the metadata of native plugin libraries in helper processes, so
// that a library whose constructor or metadata call crashes or hangs cannot take the
// calling process down (SPEC 8.4).
//
// A [Prober] keeps up to [Options.Workers] long-lived helpers. A helper is the calling
// program's own executable started again in helper mode; it opens one library at a
// time with native.Probe and sends back the metadata or the error. A program (or test
// binary) that uses a Prober must call [Main] first thing in main (or TestMain): in a
// helper, Main serves the parent and exits; elsewhere it returns at once.
//
// # What a result means
//
// Probe returns what native.Probe returns for the library, with the same sentinel
// errors (errors.Is(err, native.ErrIncomplete) and so on), plus:
//
//   - [ErrCrashed]: the helper died (a signal, an exit) or did not answer within
//     [Options.Timeout] while opening the library, twice: once wherever it was queued,
//     and once more alone in a fresh helper, so that a crash left behind by a library
//     probed earlier in the same helper is never blamed on it.
//   - [ErrUnavailable]: no helper could be started, or the Prober is closed. It says
//     nothing about the library; try again later.
//   - ctx.Err(): the context ended first.
//
// Libraries queued behind one that crashed are never blamed: they are probed in the
// next helper. The Prober remembers nothing about the libraries it probed.
//
// # Protocol
//
// The parent starts the helper with PLUGWATCH_PROBE_HELPER=1 (the protocol version)
// and GOTRACEBACK=single (no core dumps) in its environment and three pipes as descriptors 3, 4 and 5 (exec.Cmd.ExtraFiles):
// requests on 3, replies on 4, and on 5 the Go runtime's crash report
// (runtime/debug.SetCrashOutput), from which the parent names the signal that killed
// the helper. Messages are encoding/gob values: the helper first sends a hello
// (protocol version and pid); then, for each request (an absolute path and the
// accepted API range) one reply carrying the metadata, the error (which sentinel, or
// the errno of a system error, with Op, Path and Detail) or both. Gob carries strings
// as bytes, so metadata comes back exactly as native.Probe returned it.
//
// A helper's standard input, output and error are what [Options.Command] set, by
// default the null device: whatever a library prints is discarded, and never mixes
// with the protocol or with the parent's logs. A helper exits when descriptor 3 reaches
// end of file, that is when its parent closes it or dies.
package probe
