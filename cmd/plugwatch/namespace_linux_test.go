package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNamespace is set in the environment of a test binary that inSmallFileSystem
// started in a user and mount namespace of its own.
const inNamespace = "PLUGWATCH_TEST_IN_NAMESPACE"

// inSmallFileSystem runs test with mnt a tmpfs of the given size (such as "4m"),
// without root: it runs the test again in a new test process in a user and mount
// namespace of its own, where it may mount one, and reports that process's result
// as this test's. The test is skipped where user namespaces cannot be made.
func inSmallFileSystem(t *testing.T, size string, test func(mnt string)) {
	t.Helper()
	if os.Getenv(inNamespace) == "" {
		rerunInNamespace(t)
		return
	}
	// Nothing mounted here reaches the namespace this one was made from.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("making the mounts private: %v", err)
	}
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size); err != nil {
		t.Fatalf("mounting a tmpfs of %s on %s: %v", size, mnt, err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	test(mnt)
}

// rerunInNamespace runs t alone in a new test process, in a new user namespace
// (where this user is root) and a new mount namespace, and fails or skips t as that
// run did.
func rerunInNamespace(t *testing.T) {
	t.Helper()
	args := []string{"-test.run=^" + t.Name() + "$", "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), inNamespace+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("in a user and mount namespace of its own: %v\n%s", err, out)
	case err != nil:
		t.Skipf("cannot make a user namespace to mount a small file system in: %v", err)
	case strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skipf("in a user and mount namespace of its own:\n%s", out)
	case !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("in a user and mount namespace of its own, the test did not run:\n%s", out)
	}
	t.Logf("passed in a user and mount namespace of its own")
}
