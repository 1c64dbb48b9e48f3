package reconcile

import (
	"strings"

	"golang.org/x/sys/unix"
)

// below stats paths that lie below one folder relative to a descriptor of it: the
// lookup walks a few components instead of the whole path from the file system's
// root, about a quarter less time a stat. A full pass stats every bundle folder and
// every file a folder was read from this way. A path elsewhere is statted as it is.
type below struct {
	fd       int       // -1 when the folder could not be opened
	prefixes [2]string // the folder as named and as resolved, each ending in a separator
}

// openBelow opens the folder dir, which resolves to real.
func openBelow(dir, real string) *below {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		fd = -1
	}
	return &below{fd: fd, prefixes: [2]string{dir + "/", real + "/"}}
}

// close closes the descriptor.
func (b *below) close() {
	if b.fd >= 0 {
		unix.Close(b.fd)
	}
}

// identity returns the identity of the file at path (symlinks followed), and
// whether it is a folder.
func (b *below) identity(path string) (Identity, bool, error) {
	var st unix.Stat_t
	fd, name := unix.AT_FDCWD, path
	for _, p := range b.prefixes {
		if b.fd >= 0 && strings.HasPrefix(path, p) {
			fd, name = b.fd, path[len(p):]
			break
		}
	}
	for {
		err := unix.Fstatat(fd, name, &st, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Identity{}, false, err
		}
		id := Identity{
			Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size, //nolint:unconvert // the types differ by platform
			Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
		}
		return id, st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
	}
}
