package reconcile

import (
	"github.com/plugwatch/plugwatch/internal/names"
	"runtime"
	"strings"
)

// LibraryExt is the platform's native library extension (docs/root-layout.md): ".so" on Linux,
// ".dylib" on macOS.
func LibraryExt() string {
	if runtime.GOOS == "darwin" {
		return ".dylib"
	}
	return ".so"
}

// Ignored reports whether a name is skipped without a warning (docs/root-layout.md): hidden names,
// staging files (*.tmp) and editor swap and backup files (*.swp, *~).
func Ignored(name string) bool { return names.Ignored(name) }

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
