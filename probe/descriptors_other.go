//go:build !unix

package probe

// closeOnExec does nothing here.
func closeOnExec(...int) {}

// crashToStderr does nothing here: the crash output is set as it is.
func crashToStderr(int) bool { return false }
