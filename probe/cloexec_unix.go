//go:build unix

package probe

import "syscall"

// closeOnExec marks the descriptors close-on-exec.
func closeOnExec(fds ...int) {
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
	}
}
