// Package probe reads the metadata of native plugin libraries in helper processes, so
// that a library whose constructor or metadata call crashes, hangs or takes something
// it keeps cannot harm the calling process.
//
// A [Prober] probes libraries in helpers: the calling program's own executable started
// again in helper mode, each in a process group of its own. A helper opens the
// libraries of one call, one at a time, with native.Probe, sends back each one's
// metadata or error, and is then killed with its process group and waited for: when
// [Prober.ProbeBatch] returns, no process that opened one of its libraries is left, so
// a port a constructor bound or a lock it took is free again for the caller. One spare
// helper is kept started ahead, so a probe does not wait for a process to start. A
// program (or test binary) that uses a Prober must call [Main] first thing in main (or
// TestMain): in a helper, Main serves the parent and exits; elsewhere it returns at
// once.
//
// On Linux, once the calling process holds more than 1,024 descriptors, the helpers
// of the default command are started by a launcher: the same executable once more,
// holding nothing but its connection to the Prober. Starting a process costs time
// for every descriptor its parent holds (a daemon with 10,000 plugins holds a
// descriptor for each), and the launcher holds none of the caller's. It exits when the Prober closes or the
// caller's process dies; killed or stopped, it takes the helpers it started with it
// (their libraries are never blamed: they are probed again in a fresh helper, or
// answered with ErrUnavailable), and the next helper starts a new one.
// [Prober.CPU] counts the helpers' and the launcher's CPU time, which the caller's
// own rusage no longer does.
//
// # What a result means
//
// Every error that is a verdict about the library wraps one of native's verdict
// sentinels (see native.IsVerdict); every error that says nothing about the library
// wraps none of them, and the library should be probed again later. The verdicts are
// what native.Probe returns for the library (errors.Is(err, native.ErrIncomplete)
// and so on), plus:
//
//   - native.ErrCrashed: the helper died (a signal, an exit), did not answer within
//     [Options.Timeout], or lost its connection to the parent because the library
//     closed descriptors it does not own, while opening the library, twice: once wherever it was queued, and once more alone in a fresh
//     helper, so that a crash left behind by a library probed earlier in the same
//     helper is never blamed on it.
//   - native.ErrStartsProcess: opening the library started a process (it forked when
//     loaded). The helper kills and reaps what it started; opened in the caller's
//     process, that process would hold the caller's descriptors and ports.
//
// The errors that are no verdict:
//
//   - [ErrUnavailable]: no helper could be started, native plugins are not supported
//     on this system, or the Prober is closed.
//   - ctx.Err(): the context ended first.
//   - the system's error (matching fs.ErrNotExist, fs.ErrPermission, ...) for a file
//     that could not be read.
//
// The libraries of a batch after one that crashed are never blamed: they go on in
// another helper, and the results the crashed helper gave before are kept. The Prober
// remembers nothing about the libraries it probed.
//
// # Trying a plugin
//
// [Prober.Try] runs one instance of a library's plugin in a fresh helper (create,
// the input packets or a source's ticks, flush, destroy) and returns a [Report] of
// what it did, which marshals to the document of `plugwatch try --json`. The helper
// tells the parent before and after each call, so a plugin that crashes or hangs
// the helper is a Report naming the call and the packet index, never the caller's
// crash; the helper is gone with its process group when Try returns.
//
// # Processes a library starts
//
// A helper is a child subreaper (Linux): whatever process a library starts becomes
// the helper's child, even a daemon that forked again and left the process group. After
// each library the helper looks for children of its own; a library that left one is
// refused with native.ErrStartsProcess, and the helper kills and waits for every such
// process before it goes on. A process a library starts and waits for itself leaves
// nothing behind and is not seen. Killing a helper kills its process group with it.
//
// # Protocol
//
// The parent starts the helper with PLUGWATCH_PROBE_HELPER=3 (the protocol version)
// and GOTRACEBACK=single (no core dumps) in its environment and three pipes as
// descriptors 3, 4 and 5 (exec.Cmd.ExtraFiles): requests on 3, replies on 4, and on 5
// the Go runtime's crash report, from which the parent names the signal that killed
// the helper. Messages are encoding/gob values: the
// helper first sends a hello (protocol version and pid); then, for each request (an
// absolute path and the accepted API range) one reply carrying the metadata, the
// error (which sentinel, or the errno of a system error, with Op, Path and Detail) or
// both. Gob carries strings as bytes, so metadata comes back exactly as native.Probe
// returned it. The helper answers in the order it was asked. The parent keeps up to
// four requests sent ahead of the replies, so that the helper reads the next while
// it probes one; a library's time limit starts when the helper answered the one
// before it, and when a helper dies or hangs the first unanswered library is the
// one tried again alone, the others sent after it going on in the next helper. The
// parent's first request, for the empty path, readies both ends before the helper
// counts as started. A request to try a library is answered by a stream of messages (the
// metadata, each call's begin and end, the plugin's log lines, then the outcome),
// after which the parent stops the helper.
//
// A helper's standard input, output and error are what [Options.Command] set, by
// default the null device: whatever a library prints never mixes with the protocol
// or with the parent's logs. When its standard error is the null device, the helper
// makes it a copy of descriptor 5, so that the runtime's report still reaches the
// parent after a library closed every descriptor from 3 up (the runtime's own among
// them, which kills it); the parent keeps the last 64 KiB and discards the rest,
// what the libraries printed included. Otherwise the helper sets descriptor 5 as its
// crash output (runtime/debug.SetCrashOutput). A helper exits when descriptor 3 reaches
// end of file, that is when its parent dies; its parent normally kills it. A helper
// whose descriptors 3 and 4 no longer reach its parent (a library closed or replaced
// them) exits with status 86, which the parent reports as the library's crash.
package probe
