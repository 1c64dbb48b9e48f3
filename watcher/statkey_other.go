//go:build !linux && !darwin

package watcher

import (
	"io/fs"
	"os"
)

// sysStat returns zeros: identity and change time are not read on this system, so
// polling sees changes through size and modification time only, and folders reached
// through symlinks are not known to share a watch.
func sysStat(fs.FileInfo) (id fileID, ctime int64) { return fileID{}, 0 }

// statStamp stats path, following symlinks unless lstat.
func statStamp(path string, lstat bool) (stamp, error) {
	stat := os.Stat
	if lstat {
		stat = os.Lstat
	}
	fi, err := stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{mode: uint32(fi.Mode()), dir: fi.IsDir(), size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}
