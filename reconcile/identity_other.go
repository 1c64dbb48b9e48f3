//go:build !linux && !darwin

package reconcile

import "io/fs"

func identityOf(fi fs.FileInfo) Identity {
	return Identity{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
}
