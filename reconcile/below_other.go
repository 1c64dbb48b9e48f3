//go:build !linux

package reconcile

import "os"

// below stats paths below one folder; on this system, by their whole path.
type below struct{}

func openBelow(dir, real string) *below { return &below{} }

func (b *below) close() {}

// identity returns the identity of the file at path (symlinks followed), and
// whether it is a folder.
func (b *below) identity(path string) (Identity, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Identity{}, false, err
	}
	return identityOf(fi), fi.IsDir(), nil
}
