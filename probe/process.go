package probe

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

var (
	// errLauncherGone: the launcher (launcher_linux.go) died, hung or was killed
	// before the helper it was asked for said hello.
	errLauncherGone = errors.New("the probe helpers' launcher ended")
	// errTooLong: the command line and environment do not fit in one message to
	// the launcher.
	errTooLong = errors.New("the helper's command is too long for the launcher")
)

// process is a started helper process, whoever started it: this process (direct) or
// the launcher (launcher_linux.go).
type process interface {
	pid() int
	// wait returns once the process ended and was waited for, or, for a helper
	// whose launcher died, once it was killed (ended.known is false). Call it once.
	wait() ended
	// kill sends SIGKILL to the process itself (its group is killGroup's); once it
	// was waited for, it does nothing.
	kill()
}

// ended is how a helper process ended.
type ended struct {
	known  bool           // false: nobody could wait for it (its launcher died)
	code   int            // its exit status, -1 when a signal ended it
	signal syscall.Signal // the signal that ended it, or 0
	cpu    time.Duration  // the CPU time it used, user and system
}

// direct is a helper process this process started and waits for.
type direct struct{ cmd *exec.Cmd }

func startDirect(cmd *exec.Cmd) (process, error) {
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = drainTimeout // in case Command gave it output that is no *os.File
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return direct{cmd}, nil
}

func (d direct) pid() int { return d.cmd.Process.Pid }

func (d direct) kill() { d.cmd.Process.Kill() } // fails only when it already ended

func (d direct) wait() ended {
	d.cmd.Wait()
	st := d.cmd.ProcessState
	if st == nil {
		return ended{}
	}
	e := ended{known: true, code: st.ExitCode(), cpu: st.UserTime() + st.SystemTime()}
	if ws, ok := st.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		e.signal = ws.Signal()
	}
	return e
}
