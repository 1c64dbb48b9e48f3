package nstest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRerunUnprivileged(t *testing.T) {
	if !Inside() {
		Rerun(t, Unprivileged)
		return
	}
	if uid := os.Getuid(); uid != 1000 {
		t.Fatalf("uid %d inside, want 1000", uid)
	}
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(path); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("reading a file of mode 0 = %v, want permission denied", err)
	}
}

func TestRerunRoot(t *testing.T) {
	if !Inside() {
		Rerun(t, Root)
		return
	}
	if uid := os.Getuid(); uid != 0 {
		t.Fatalf("uid %d inside, want 0", uid)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mounting a tmpfs: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	var st unix.Statfs_t
	if err := unix.Statfs(mnt, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Fatalf("statfs %s: type %x, %v; want a tmpfs", mnt, st.Type, err)
	}
}
