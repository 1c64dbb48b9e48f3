//go:build unix

package manifest

import "syscall"

// openFlags keeps opening a named pipe from blocking until a writer comes.
const openFlags = syscall.O_NONBLOCK
