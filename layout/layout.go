// Package layout holds the rules of the plugins root (docs/root-layout.md) that the
// watcher, the reconciler, the installer and the command line all apply: which names
// are ignored without a warning, which are native libraries, which folders the
// layout is made of, the prefix of a native kind, and the names of plugwatch's
// private copies. It imports nothing of plugwatch's, so that they never disagree.
package layout

import (
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// KindPrefix is the prefix of every native plugin's registered kind
// ("plugin::native::gain").
const KindPrefix = "plugin::native::"

// LibraryExt is the platform's native library extension: ".so" on Linux, ".dylib"
// on macOS.
func LibraryExt() string {
	if runtime.GOOS == "darwin" {
		return ".dylib"
	}
	return ".so"
}

// IsLibraryName reports whether name is a native library's name on this platform:
// it ends in LibraryExt (case-sensitive) and is not ignored. "libfoo.so.1" is not one.
func IsLibraryName(name string) bool {
	return !Ignored(name) && strings.HasSuffix(name, LibraryExt())
}

// Stem is a library name without a leading "lib" and without its extension; the
// folder a bare library belongs in (docs/files.md). When that leaves nothing ("lib.so")
// it is the whole name.
func Stem(name string) string {
	s := strings.TrimPrefix(strings.TrimSuffix(name, LibraryExt()), "lib")
	if s == "" {
		return name
	}
	return s
}

// CopyMarker is what the name of a private copy carries before the process id of
// the plugwatch that made it: .<library>.plugwatch-<pid>-<n> (docs/files.md).
const CopyMarker = ".plugwatch-"

// IsPrivateCopy reports whether a file name is one of plugwatch's private copies
// (docs/files.md), which remove unlinks with the plugin and a running daemon ignores.
func IsPrivateCopy(name string) bool {
	_, ok := CopyOwner(name)
	return ok
}

// CopyOwner returns the process id in a private copy's name, and whether name is
// one.
func CopyOwner(name string) (pid int, ok bool) {
	i := strings.LastIndex(name, CopyMarker)
	if !strings.HasPrefix(name, ".") || i < 0 {
		return 0, false
	}
	pidText, _, ok := strings.Cut(name[i+len(CopyMarker):], "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	return pid, err == nil && pid > 0
}

// LayoutFolder reports whether dir is a folder of the layout below root that the
// watcher watches on its own: root, active/, native/, native/<id>/, bundles/,
// bundles/<id>/ and bundles/<id>/<version>/ (no ignored name on the way). Both are
// compared as given, cleaned.
func LayoutFolder(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return false
	}
	if rel == "." {
		return true
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for _, p := range parts {
		if Ignored(p) {
			return false
		}
	}
	switch parts[0] {
	case "active":
		return len(parts) == 1
	case "native":
		return len(parts) <= 2
	case "bundles":
		return len(parts) <= 3
	}
	return false
}

// Ignored reports whether a file or folder name is skipped without a warning: hidden
// names (plugwatch's private copies, the installer's staging files and
// bundles/<id>/.tmp-* folders), *.tmp staging files, and editor swap and backup files
// (*.swp, *~).
func Ignored(name string) bool {
	return name == "" || name[0] == '.' ||
		strings.HasSuffix(name, ".tmp") ||
		strings.HasSuffix(name, ".swp") ||
		strings.HasSuffix(name, "~")
}
