//go:build linux

package probe

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The helper's side of refusing libraries that start processes. The helper starts no
// process of its own, so every child it has was started by a library. It is a child
// subreaper: a process a library started and left behind (a daemon that forked again
// and exited) becomes the helper's child rather than init's, so it is seen and
// killed too.

// becomeSubreaper makes this process the reaper of its orphaned descendants.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// hasChildren reports whether this process has a child, running or exited and not
// yet waited for. It waits for none.
func hasChildren() bool {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT|unix.WALL, nil)
		switch {
		case err == nil:
			return true // a child, whether or not it changed state
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL):
			// A kernel before 4.7, without __WALL for waitid.
			err = unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			return err == nil
		default:
			return false // ECHILD: none
		}
	}
}

// killChildren kills every child of this process, and every process that becomes
// one meanwhile, and waits for them, giving up after timeout. It returns how many
// children it found first.
func killChildren(timeout time.Duration) int {
	first := -1
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		pids := children()
		if first < 0 {
			first = len(pids)
		}
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG|unix.WALL, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if pid <= 0 || err != nil {
				break
			}
		}
		if !hasChildren() || time.Now().After(deadline) {
			return max(first, 1)
		}
		// Killed children die, and orphans of theirs are handed to us, on their own
		// time.
		time.Sleep(delay)
	}
}

// children returns the pids of this process's children, from
// /proc/self/task/*/children when the kernel provides it, else by reading the
// parent of every process in /proc.
func children() []int {
	self := os.Getpid()
	if tasks, err := filepath.Glob("/proc/self/task/*/children"); err == nil && len(tasks) > 0 {
		var pids []int
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread ended
			}
			for _, field := range bytes.Fields(b) {
				if pid, err := strconv.Atoi(string(field)); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		return pids
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if parent(pid) == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// parent returns the parent of process pid from /proc/PID/stat, or -1.
func parent(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return -1
	}
	return ppid
}

// fileID identifies an open file.
type fileID struct{ dev, ino uint64 }

// descriptorIDs returns what the descriptors refer to now; a closed one has the zero
// fileID.
func descriptorIDs(fds ...int) []fileID {
	ids := make([]fileID, len(fds))
	for i, fd := range fds {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			ids[i] = fileID{uint64(st.Dev), st.Ino}
		}
	}
	return ids
}
