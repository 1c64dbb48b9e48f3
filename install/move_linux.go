package install

import "golang.org/x/sys/unix"

// renameNoReplace is renameat2(2) with RENAME_NOREPLACE (Linux 3.15).
func renameNoReplace(from, to string) error {
	return unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
}
