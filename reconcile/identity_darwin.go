package reconcile

import "syscall"

func statIdentity(st *syscall.Stat_t, size int64) Identity {
	return Identity{
		Dev:   uint64(st.Dev),
		Ino:   st.Ino,
		Size:  size,
		Mtime: st.Mtimespec.Nano(),
		Ctime: st.Ctimespec.Nano(),
	}
}
