package nstest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func rerun(t *testing.T, who Who) {
	t.Helper()
	args := []string{"-test.run=^" + t.Name() + "$", "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env+"=1")
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	inside := 0
	if who == Root {
		attr.Cloneflags |= syscall.CLONE_NEWNS
	} else {
		inside = 1000
		attr.Credential = &syscall.Credential{Uid: uint32(inside), Gid: uint32(inside)}
	}
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: inside, HostID: os.Getuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: inside, HostID: os.Getgid(), Size: 1}}
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("in a user namespace of its own: %v\n%s", err, out)
	case err != nil:
		t.Skipf("cannot make a user namespace here: %v", err)
	case strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skipf("in a user namespace of its own:\n%s", out)
	case !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("in a user namespace of its own, the test did not run:\n%s", out)
	}
	t.Logf("passed in a user namespace of its own")
}
