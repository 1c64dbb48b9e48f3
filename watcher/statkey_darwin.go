package watcher

import (
	"io/fs"
	"syscall"
)

// statKey returns the inode and the change time (ns) of fi, zero when unknown.
func statKey(fi fs.FileInfo) (ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino, st.Ctimespec.Nano()
	}
	return 0, 0
}
