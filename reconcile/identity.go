package reconcile

import (
	"fmt"
)

// Identity is a file's identity (docs/files.md): when any field changes, the file is
// treated as a new file and probed again.
type Identity struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the Unix epoch

	// Helpers, for a library, is a key of the helper libraries it loads from its own
	// folder (their names and identities; see helpers.go), 0 when it loads none: a
	// helper changed alone makes the library a new one too.
	Helpers uint64 `json:",omitempty"`
}

// file is the identity of the file alone, without its helpers.
func (id Identity) file() Identity {
	id.Helpers = 0
	return id
}

// String shows the identity's fields (and the helpers' key, when there are helpers),
// for logs.
func (id Identity) String() string {
	s := fmt.Sprintf("dev=%d ino=%d size=%d mtime=%d ctime=%d", id.Dev, id.Ino, id.Size, id.Mtime, id.Ctime)
	if id.Helpers != 0 {
		s += fmt.Sprintf(" helpers=%x", id.Helpers)
	}
	return s
}
