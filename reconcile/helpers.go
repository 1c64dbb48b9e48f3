package reconcile

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Helper libraries: a plugin that loads a library beside it (onnxruntime next to a
// model plugin), through $ORIGIN in its run path, would map that helper from the
// user's file, and a helper updated in place would crash plugwatch. So when the
// plugin needs helpers of its folder, its private copy is put in a private folder of
// its own inside the bundle folder, hidden (.<name>.plugwatch-<pid>-<n>.d: StreamKit,
// which loads native/<id>/*.so, never finds a library in it): the folder holds the
// copy under the library's own name, private copies of the helpers under theirs, and
// symlinks to every other entry of the bundle folder, so $ORIGIN finds what it
// would find for the original.

// originHelpers returns the libraries of dir that the ELF file at path needs through
// a run path of $ORIGIN, and those they need in turn, sorted; nil when none (or when
// path is not an ELF file it can read).
func originHelpers(path, dir string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		f, err := elf.Open(p)
		if err != nil {
			return
		}
		defer f.Close()
		if !usesOrigin(f) {
			return
		}
		needed, _ := f.DynString(elf.DT_NEEDED)
		for _, n := range needed {
			if seen[n] || strings.ContainsRune(n, '/') {
				continue
			}
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
				seen[n] = true
				walk(filepath.Join(dir, n))
			}
		}
	}
	walk(path)
	if len(seen) == 0 {
		return nil
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// usesOrigin reports whether an ELF file's run path (DT_RUNPATH, else DT_RPATH)
// names its own folder, $ORIGIN.
func usesOrigin(f *elf.File) bool {
	paths, _ := f.DynString(elf.DT_RUNPATH)
	if len(paths) == 0 {
		paths, _ = f.DynString(elf.DT_RPATH)
	}
	for _, list := range paths {
		for _, p := range strings.Split(list, ":") {
			if p == "$ORIGIN" || p == "${ORIGIN}" || p == "$ORIGIN/" || p == "${ORIGIN}/" {
				return true
			}
		}
	}
	return false
}

// withHelpers moves the private copy p of the library lib into a private folder of
// the bundle folder that also holds private copies of helpers and symlinks to the
// folder's other entries (see above), and returns it.
func (c *copier) withHelpers(p private, lib string, helpers []string) (private, error) {
	dir, base := filepath.Split(lib)
	priv := filepath.Join(dir, c.name(dir, base)+".d")
	if err := os.Mkdir(priv, 0o700); err != nil {
		return p, err
	}
	fail := func(err error) (private, error) {
		os.RemoveAll(priv)
		return p, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fail(err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == base || filepath.Join(dir, name) == priv || IsPrivateCopy(name):
		case slices.Contains(helpers, name):
			in, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				return fail(err)
			}
			fi, err := in.Stat()
			if err == nil {
				err = copyFrom(in, fi.Size(), filepath.Join(priv, name))
			}
			in.Close()
			if err != nil {
				return fail(fmt.Errorf("copying the helper library %s: %w", name, err))
			}
		default:
			os.Symlink(filepath.Join(dir, name), filepath.Join(priv, name))
		}
	}
	moved := filepath.Join(priv, base)
	if err := os.Rename(p.path, moved); err != nil {
		return fail(err)
	}
	if p.dir != nil {
		p.dir.Close()
	}
	d, err := os.Open(priv)
	if err != nil {
		os.Remove(moved)
		return fail(err)
	}
	return private{path: moved, dir: d, mirror: priv, j: p.j}, nil
}
