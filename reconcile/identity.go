package reconcile

import (
	"fmt"
	"os"
)

// Identity is a file's identity (docs/files.md): when any field changes, the file is
// treated as a new file and probed again.
type Identity struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the Unix epoch
}

func (id Identity) String() string {
	return fmt.Sprintf("dev=%d ino=%d size=%d mtime=%d ctime=%d", id.Dev, id.Ino, id.Size, id.Mtime, id.Ctime)
}

// StatIdentity returns the identity of the file at path, following symlinks.
func StatIdentity(path string) (Identity, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Identity{}, err
	}
	return identityOf(fi), nil
}
