package probe

import (
	"encoding/gob"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"

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
	v, ok := os.LookupEnv(envHelper)
	if !ok {
		return
	}
	os.Exit(serve(v))
}

// serve is the helper's loop; it returns the exit code.
func serve(version string) int {
	if version != strconv.Itoa(protocolVersion) {
		fmt.Fprintf(os.Stderr, "probe helper: protocol %q, want %d\n", version, protocolVersion)
		return 2
	}
	in, out, crash := os.NewFile(3, "probe-requests"), os.NewFile(4, "probe-replies"), os.NewFile(5, "probe-crash")
	closeOnExec(3, 4, 5) // programs a library starts inherit none of them
	if err := debug.SetCrashOutput(crash, debug.CrashOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "probe helper:", err)
		return 2
	}
	crash.Close() // SetCrashOutput keeps its own copy
	// A Ctrl-C in a terminal reaches the whole process group: leave it to the parent,
	// which stops us by closing descriptor 3.
	signal.Ignore(os.Interrupt)

	enc := gob.NewEncoder(out)
	if err := enc.Encode(reply{Hello: protocolVersion, PID: os.Getpid()}); err != nil {
		return 1
	}
	reqs := make(chan request)
	go func() {
		// Read on even while a library hangs: the end of the requests means the
		// parent is gone or done with us.
		dec := gob.NewDecoder(in)
		for {
			var r request
			if dec.Decode(&r) != nil {
				os.Exit(0)
			}
			reqs <- r
		}
	}()
	for r := range reqs {
		if helperHook != nil {
			helperHook(r.Path)
		}
		if err := enc.Encode(toWire(native.Probe(r.Path, r.ABI))); err != nil {
			return 1
		}
	}
	return 0
}
