//go:build unix

package probe

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// setGroup makes cmd start in a process group of its own, whose id is its pid: a
// signal to the group reaches every process a library started without leaving it.
func setGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pgid = true, 0
}

// killGroup sends SIGKILL to the process group pgid (the helper's pid). Call it only
// while the helper has not been waited for, or after checking the group is not
// empty: a group id stays taken while a member lives.
func killGroup(pgid int) {
	syscall.Kill(-pgid, syscall.SIGKILL) // fails only when the group is empty
}

// awaitGroup returns once the process group pgid is empty, killing what is left in
// it, or after timeout. It reports whether the group is empty. Call it after the
// group's leader has been waited for.
func awaitGroup(pgid int, timeout time.Duration) bool {
	if groupGone(pgid) {
		return true
	}
	killGroup(pgid)
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		// The members are dying of SIGKILL; nothing tells us when they are gone.
		time.Sleep(delay)
		if groupGone(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func groupGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}
