package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
)

const (
	wasmExt   = ".wasm"
	maxName   = 255 // bytes, the longest file name
	wasmDir   = "wasm"
	nativeDir = "native"
)

// CheckName applies the naming rules of an install to the name of a file to
// install and returns it trimmed of surrounding white space. The name must be one
// plain file name: not empty, at most 255 bytes, without a path separator ("/" or
// "\"), a control character, a bidirectional control character (U+202A–U+202E,
// U+2066–U+2069, which make listings lie) or ".." anywhere ("lib..so" and "..so"
// are refused), not hidden, and ending in the platform's library extension
// (layout.LibraryExt, case-sensitive) or ".wasm": "libfoo.so.1" and "x.dll" are
// refused. A library's folder (see Install) must be a name `plugwatch remove` can
// be given and plugwatch scans: "lib.x.so" would go to the hidden folder native/.x,
// and "lib sp2.so" to native/" sp2", whose leading space no command line keeps;
// both are refused.
//
// It reads nothing from disk. On failure it returns an *Error wrapping ErrBadName.
func CheckName(name string) (trimmed string, err error) {
	n, err := checkFileName(name)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(n, wasmExt) {
		if why := folderProblem(layout.Stem(n)); why != "" {
			return "", &Error{Op: "install", Path: shown(n), Err: ErrBadName, Detail: why + "; rename the file"}
		}
	}
	return n, nil
}

// checkFileName is CheckName without the rules on the library's folder, for an
// install whose manifest names the folder.
func checkFileName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if why := nameProblem(n); why != "" {
		return "", &Error{Op: "install", Path: shown(n), Err: ErrBadName, Detail: why}
	}
	return n, nil
}

// nameProblem says why n is no name to install, and what to do, or returns "".
func nameProblem(n string) string {
	ext := layout.LibraryExt()
	switch {
	case n == "":
		return "the file name is empty; name the file, e.g. lib<kind>" + ext
	case len(n) > maxName:
		return "the file name is longer than 255 bytes; rename the file"
	case strings.IndexFunc(n, unicode.IsControl) >= 0 || !utf8.ValidString(n):
		return "the file name holds a control character or invalid UTF-8; rename the file"
	case strings.IndexFunc(n, isBidiControl) >= 0:
		return "the file name holds a bidirectional control character (U+202A–U+202E, U+2066–U+2069), which makes listings show another name; rename the file"
	case strings.ContainsAny(n, `/\`):
		return "the file name must be one plain name without a path separator; rename the file"
	case strings.Contains(n, ".."):
		return `the file name must not contain ".."; rename the file`
	case n[0] == '.':
		return "the file name is hidden (starts with \".\"); rename the file"
	case strings.HasSuffix(n, wasmExt):
		return ""
	case !strings.HasSuffix(n, ext):
		return "the file name must end in " + ext + " (a native library) or " + wasmExt + "; rename the file"
	}
	return ""
}

// folderProblem says why folder cannot be a bundle folder native/<folder>/ that
// an install makes, or returns "": it must be one safe path component (as
// `plugwatch remove` requires of an id: no leading or trailing white space, no
// path separator, not "." or ".."), hold no control or bidirectional control
// character, and not be a name plugwatch ignores.
func folderProblem(folder string) string {
	if err := manifest.SafeComponent(folder); err != nil {
		why := err.Error()
		if me := (*manifest.Error)(nil); errors.As(err, &me) {
			why = me.Detail
		}
		return "its folder name " + why + ", so plugwatch remove could not be given it"
	}
	rel := strconv.Quote(nativeDir + "/" + folder)
	switch {
	case strings.IndexFunc(folder, unicode.IsControl) >= 0 || !utf8.ValidString(folder):
		return "its folder " + rel + " holds a control character or invalid UTF-8"
	case strings.IndexFunc(folder, isBidiControl) >= 0:
		return "its folder " + rel + " holds a bidirectional control character (U+202A–U+202E, U+2066–U+2069), which makes listings show another name"
	case layout.Ignored(folder):
		return "its folder " + rel + " would be ignored by plugwatch (hidden, *.tmp, *.swp or *~)"
	}
	return ""
}

// isBidiControl reports whether r is one of the bidirectional embedding, override
// and isolate controls (U+202A–U+202E, U+2066–U+2069).
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// shown is a name as error messages show it: quoted when empty or when it holds
// characters that would not print on one line.
func shown(n string) string {
	if n == "" || strings.IndexFunc(n, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || !utf8.ValidString(n) {
		return strconv.Quote(n)
	}
	return n
}

// target is where a checked name goes.
type target struct {
	name string
	wasm bool
	rel  string // the folder, relative to the root: "native/gain" or "wasm"
	dir  string // the folder, joined onto the root as given
	path string // dir/name
}

// newTarget returns where name goes below root: wasm/ for a .wasm, else
// native/<folder>/, with folder the name's stem (layout.Stem) when "".
func newTarget(root, name, folder string) target {
	t := target{name: name, wasm: strings.HasSuffix(name, wasmExt)}
	if folder == "" {
		folder = layout.Stem(name)
	}
	if t.wasm {
		t.rel = wasmDir
	} else {
		t.rel = filepath.Join(nativeDir, folder)
	}
	t.dir = filepath.Join(root, t.rel)
	t.path = filepath.Join(t.dir, name)
	return t
}

// free checks that the target is not taken: the library's folder holds
// no library or manifest and is not anything but a plain folder; wasm/NAME does
// not exist. It returns nil, an *Error wrapping ErrOccupied, or the system's error.
func (t target) free() error {
	occupied := func(detail string) error {
		return &Error{Op: "install", Path: t.name, Err: ErrOccupied, Detail: detail}
	}
	if t.wasm {
		if fi, err := os.Stat(t.dir); err == nil && !fi.IsDir() {
			return occupied(t.rel + " exists and is not a folder; remove or rename it first")
		}
		rel := filepath.Join(t.rel, t.name)
		if _, err := os.Lstat(t.path); err == nil {
			return occupied(rel + " already exists; remove it first, or install under another name")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return &Error{Op: "install", Path: t.name, Err: err, Detail: fmt.Sprintf("cannot check %s: %v", rel, err)}
		}
		return nil
	}
	if fi, err := os.Stat(filepath.Dir(t.dir)); err == nil && !fi.IsDir() {
		return occupied(nativeDir + " exists and is not a folder; remove or rename it first")
	}
	fi, err := os.Lstat(t.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &Error{Op: "install", Path: t.name, Err: err, Detail: fmt.Sprintf("cannot check %s: %v", t.rel, cause(err))}
	case !fi.IsDir():
		return occupied(t.rel + " exists and is not a plain folder; remove or rename it first, or install under another name")
	}
	name, err := occupant(t.dir)
	if err != nil {
		return &Error{Op: "install", Path: t.name, Err: err, Detail: fmt.Sprintf("cannot read %s: %v", t.rel, cause(err))}
	}
	if name != "" {
		return occupied(fmt.Sprintf("%s already holds %s; remove that plugin first (plugwatch remove %s), or install under another name",
			t.rel, name, filepath.Base(t.rel)))
	}
	return nil
}

// occupant returns the first entry of dir that makes it an occupied bundle folder: a
// library or a manifest (plugin.yml, plugin.yaml, *.plugin.yml, *.plugin.yaml),
// ignoring the names plugwatch ignores; "" when there is none.
func occupant(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if n := e.Name(); layout.IsLibraryName(n) || isManifestName(n) {
			return n, nil
		}
	}
	return "", nil
}

// isManifestName reports whether n is, or could be, a directory bundle's
// manifest: plugin.yml, plugin.yaml, or <stem>.plugin.yml / <stem>.plugin.yaml.
func isManifestName(n string) bool {
	if layout.Ignored(n) {
		return false
	}
	return n == "plugin.yml" || n == "plugin.yaml" ||
		strings.HasSuffix(n, ".plugin.yml") || strings.HasSuffix(n, ".plugin.yaml")
}
