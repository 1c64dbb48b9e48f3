package main

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugwatch/plugwatch/internal/nstest"
)

// inSmallFileSystem runs test with mnt a tmpfs of the given size (such as "4m"),
// without root: the test runs again in a process of its own, as root in a user and
// mount namespace of its own, where it mounts the tmpfs (nstest).
func inSmallFileSystem(t *testing.T, size string, test func(mnt string)) {
	t.Helper()
	if !nstest.Inside() {
		nstest.Rerun(t, nstest.Root)
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
