package probe

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// helperHook, when set, is called in a helper before each library is probed. Only
// this package's tests set it (from an init function of a _test.go file), to make a
// helper die on cue.
var helperHook func(path string)

// Main turns this process into a probe helper when a Prober started it as one (the
// environment variable PLUGWATCH_PROBE_HELPER says so): it then serves its parent
// until the parent closes the connection or dies, and exits without returning.
// Otherwise it returns at once and does nothing.
//
// Call it first thing in main, before flags are parsed or anything is started; a
// test binary calls it first thing in TestMain:
//
//	func main() {
//		probe.Main()
//		...
//	}
//
// A helper never starts helpers itself: a Prober in a process started as a helper
// (whose program did not call Main) answers ErrUnavailable, so a program cannot
// re-run itself without end.
func Main() {
	if v, ok := os.LookupEnv(envLauncher); ok {
		os.Exit(launch(v))
	}
	v, ok := os.LookupEnv(envHelper)
	if !ok {
		return
	}
	os.Exit(serve(v))
}

// exitLostConnection is the helper's exit status when its descriptors 3 and 4 no
// longer reach its parent: a library closed or replaced them.
const exitLostConnection = 86

// How long the helper goes on killing the processes a library started.
const killChildrenTimeout = 2 * time.Second

// serve is the helper's loop; it returns the exit code.
func serve(version string) int {
	if version != strconv.Itoa(protocolVersion) {
		fmt.Fprintf(os.Stderr, "probe helper: protocol %q, want %d\n", version, protocolVersion)
		return 2
	}
	in, out, crash := os.NewFile(3, "probe-requests"), os.NewFile(4, "probe-replies"), os.NewFile(5, "probe-crash")
	closeOnExec(3, 4, 5) // programs a library starts inherit none of them
	pipes := descriptorIDs(3, 4)
	// The runtime writes its crash report to descriptor 2, and to the crash output
	// if one is set. When 2 is the null device (Options.Command left Stderr unset),
	// make it the crash pipe: a library that closes the descriptors from 3 up, the
	// runtime's own among them, kills the runtime, and its last words must still
	// reach the parent.
	if !crashToStderr(5) {
		if err := debug.SetCrashOutput(crash, debug.CrashOptions{}); err != nil {
			fmt.Fprintln(os.Stderr, "probe helper:", err)
			return 2
		}
	}
	crash.Close() // descriptor 2 or SetCrashOutput holds a copy
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "probe helper:", err)
		return 2
	}
	// The parent puts us in a process group of our own, so a Ctrl-C in a terminal does
	// not reach us; should it come anyway, leave it to the parent, which stops us.
	signal.Ignore(os.Interrupt)

	enc := gob.NewEncoder(out)
	if err := enc.Encode(reply{Hello: protocolVersion, PID: os.Getpid()}); err != nil {
		return exitLostConnection
	}
	reqs := make(chan request)
	go func() {
		// Read on even while a library hangs: the end of the requests means the
		// parent is gone or done with us.
		dec := gob.NewDecoder(in)
		for {
			var r request
			if err := dec.Decode(&r); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					os.Exit(0)
				}
				os.Exit(exitLostConnection) // descriptor 3 is no longer the parent's pipe
			}
			reqs <- r
		}
	}()
	for r := range reqs {
		if r.Try != nil {
			serveTry(enc, pipes, r)
			continue // the parent stops us
		}
		if code, end := answer(enc, pipes, r); end {
			return code
		}
	}
	return 0
}

// answer probes the library of one request and replies; end is true when the
// helper must exit, with code: its pipes are no longer the parent's, or processes
// the library started survived being killed (they are not blamed on the next one).
func answer(enc *gob.Encoder, pipes []fileID, r request) (code int, end bool) {
	if helperHook != nil {
		helperHook(r.Path)
	}
	md, err := native.Probe(r.Path, r.ABI)
	if hasChildren() {
		n := killChildren(killChildrenTimeout)
		md, err = native.Metadata{}, startsProcess(r.Path, n)
	}
	if !slices.Equal(descriptorIDs(3, 4), pipes) {
		return exitLostConnection, true // what we would write to is no longer the parent's
	}
	if err := enc.Encode(toWire(md, err)); err != nil {
		return exitLostConnection, true
	}
	if hasChildren() {
		return 0, true
	}
	return 0, false
}

// startsProcess is the error of a library whose probe started n processes.
func startsProcess(path string, n int) error {
	detail := "opening it started a process; the probe helper killed it"
	if n > 1 {
		detail = "opening it started " + strconv.Itoa(n) + " processes; the probe helper killed them"
	}
	return &native.Error{Op: "probe", Path: path, Err: native.ErrStartsProcess, Detail: detail}
}
