//go:build !linux && !darwin

package reconcile

import (
	"io/fs"
	"os"
)

func identityOf(fi fs.FileInfo) Identity {
	return Identity{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
}

// pathIdentity is the identity of the file at path (symlinks followed).
func pathIdentity(path string) (Identity, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Identity{}, err
	}
	return identityOf(fi), nil
}
