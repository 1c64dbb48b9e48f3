//go:build unix

package probe

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// closeOnExec marks the descriptors close-on-exec.
func closeOnExec(fds ...int) {
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
	}
}

// crashToStderr makes descriptor 2 a copy of fd when 2 is the null device, and
// reports whether it did. Programs a library starts inherit it.
func crashToStderr(fd int) bool {
	stderr, err := os.Stderr.Stat()
	if err != nil {
		return false
	}
	null, err := os.Stat(os.DevNull)
	if err != nil || !os.SameFile(stderr, null) {
		return false
	}
	return unix.Dup2(fd, 2) == nil
}
