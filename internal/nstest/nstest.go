// Package nstest runs a test again, alone, in a new test process inside a user
// namespace of its own: as root there, with a mount namespace of its own too, for a
// test that mounts a file system; or as a user without privileges, for a test of
// what permission bits deny, which root would not see. Neither needs root.
//
//	func TestFull(t *testing.T) {
//		if !nstest.Inside() {
//			nstest.Rerun(t, nstest.Root)
//			return
//		}
//		// mount a tmpfs, fill it, ...
//	}
package nstest

import (
	"os"
	"testing"
)

// Who the rerun test is inside its namespace.
type Who int

const (
	// Root is uid 0 in a new user and mount namespace: it may mount file systems,
	// which no other namespace sees.
	Root Who = iota
	// Unprivileged is uid 1000 in a new user namespace, with no capabilities:
	// permission bits apply to it even when the test runs as root.
	Unprivileged
)

// env is set in the environment of a test process that Rerun started.
const env = "PLUGWATCH_NSTEST"

// Inside reports whether this test process is one that Rerun started.
func Inside() bool { return os.Getenv(env) != "" }

// Rerun runs t alone in a new test process in a namespace of its own as who, and
// fails t when that run failed, skips it when that run skipped or when no user
// namespace can be made here (not Linux, or user namespaces disabled), and passes it
// otherwise. The caller returns after Rerun; the test's body runs in the new process,
// where Inside reports true.
func Rerun(t *testing.T, who Who) {
	t.Helper()
	rerun(t, who)
}
