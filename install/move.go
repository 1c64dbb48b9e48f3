package install

import (
	"errors"
	"os"
	"syscall"
)

// moveNoReplace moves the file from to to, never replacing an existing to: when to
// exists it fails with an error matching fs.ErrExist and from stays where it was.
// It uses the platform's no-replace rename (renameNoReplace) and falls back to
// link then unlink where the system or file system does not support it.
func moveNoReplace(from, to string) error { return noReplace(renameNoReplace, from, to) }

// noReplace is moveNoReplace with the no-replace rename given, for tests.
func noReplace(rename func(from, to string) error, from, to string) error {
	err := rename(from, to)
	if err == nil {
		return nil
	}
	// renameat2 answers EINVAL where the file system does not support the flag,
	// ENOSYS on kernels before 3.15; macOS answers ENOTSUP.
	if !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return linkMove(from, to)
}

// linkMove moves from to to with link(2), which fails when to exists, then unlinks
// from. When the unlink fails the new link is removed again, so that the file is
// never left under two names.
func linkMove(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	if err := os.Remove(from); err != nil {
		os.Remove(to)
		return err
	}
	return nil
}

// syncDir flushes a folder's entries to disk, so that a move survives a crash.
// Best effort: some file systems cannot sync a folder.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
