package watcher

import (
	"io/fs"
	"syscall"
)

// sysStat returns the identity of the file fi describes and its change time (ns);
// zeros when unknown.
func sysStat(fi fs.FileInfo) (id fileID, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, st.Ctimespec.Nano()
	}
	return fileID{}, 0
}

// statStamp stats path, following symlinks unless lstat, without the allocations of
// os.Stat: polling makes one call per folder and file each pass. The error only says
// that the file cannot be stat'ed.
func statStamp(path string, lstat bool) (stamp, error) {
	var st syscall.Stat_t
	for {
		var err error
		if lstat {
			err = syscall.Lstat(path, &st)
		} else {
			err = syscall.Stat(path, &st)
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return stamp{}, err
		}
		return stamp{
			mode:  uint32(st.Mode),
			dir:   st.Mode&syscall.S_IFMT == syscall.S_IFDIR,
			id:    fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)},
			size:  st.Size,
			mtime: st.Mtimespec.Nano(),
			ctime: st.Ctimespec.Nano(),
		}, nil
	}
}
