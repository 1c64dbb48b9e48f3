package probe

import (
	"bytes"
	"strconv"
	"strings"
	"syscall"
)

// crashDetail says, for people, how a helper ended: from the Go runtime's crash
// report when there is one (a signal in a library reaches the runtime's handler,
// which reports it and exits with status 2), else from the wait status. The report
// may follow what libraries wrote to standard error.
func crashDetail(report []byte, st *ended) string {
	if name := reportedSignal(report); name != "" {
		return signalDetail(name)
	}
	if line := firstLine(report, "fatal error: "); line != "" {
		if strings.HasPrefix(line, "fatal error: runtime: netpoll") {
			// The runtime's poller lost its descriptors: only a library that
			// closes or replaces descriptors it does not own does that.
			return lostDetail
		}
		return "the helper failed: " + line
	}
	if line := firstLine(report, "panic: "); line != "" {
		return "the helper failed: " + line
	}
	switch {
	case st == nil || !st.known:
		return "the helper ended"
	case st.signal != 0:
		return signalDetail(signalName(st.signal))
	}
	return "exited with status " + strconv.Itoa(st.code)
}

func signalDetail(name string) string {
	if name == "SIGABRT" {
		return "aborted (SIGABRT)"
	}
	return "killed by signal " + name
}

// reportedSignal finds the signal in a Go crash report: "[signal SIGSEGV: ..." (a
// fault in code the runtime did not expect it in) or a line "SIGABRT: abort" (a
// signal the runtime dies of).
func reportedSignal(report []byte) string {
	if _, rest, ok := bytes.Cut(report, []byte("[signal ")); ok {
		if name, _, ok := bytes.Cut(rest, []byte(":")); ok && isSignalName(name) {
			return string(name)
		}
	}
	for line := range bytes.Lines(report) {
		if name, _, ok := bytes.Cut(line, []byte(": ")); ok && isSignalName(name) {
			return string(name)
		}
	}
	return ""
}

func isSignalName(b []byte) bool {
	if len(b) < 4 || len(b) > 12 || !bytes.HasPrefix(b, []byte("SIG")) {
		return false
	}
	for _, c := range b[3:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// firstLine returns the first line of report that starts with prefix, without its
// line break.
func firstLine(report []byte, prefix string) string {
	for line := range bytes.Lines(report) {
		if bytes.HasPrefix(line, []byte(prefix)) {
			return string(bytes.TrimRight(line, "\r\n"))
		}
	}
	return ""
}

// signalName returns the usual name of s ("SIGSEGV"), or its number.
func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGFPE:
		return "SIGFPE"
	case syscall.SIGILL:
		return "SIGILL"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGTRAP:
		return "SIGTRAP"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return strconv.Itoa(int(s))
}
