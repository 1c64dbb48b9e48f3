package install

import "golang.org/x/sys/unix"

// renameNoReplace is renamex_np(2) with RENAME_EXCL (macOS 10.12).
func renameNoReplace(from, to string) error {
	return unix.RenamexNp(from, to, unix.RENAME_EXCL)
}
