package reconcile

import "syscall"

func statIdentity(st *syscall.Stat_t, size int64) Identity {
	return Identity{
		Dev:   uint64(st.Dev), //nolint:unconvert // the type differs by platform
		Ino:   st.Ino,
		Size:  size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
	}
}
