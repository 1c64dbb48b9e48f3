//go:build linux || darwin

package reconcile

import (
	"io/fs"
	"syscall"
)

// identityOf returns the identity of the file fi describes (docs/files.md): device, inode,
// size, modification time and change time. cp -p and tar keep modification times, so
// the change time is what tells a copied-over file from the original.
func identityOf(fi fs.FileInfo) Identity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Identity{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	}
	return statIdentity(st, fi.Size())
}

// pathIdentity is the identity of the file at path (symlinks followed), read
// without allocating a FileInfo: a full pass asks it of every file of every unit.
func pathIdentity(path string) (Identity, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return Identity{}, err
		}
		return statIdentity(&st, st.Size), nil
	}
}
