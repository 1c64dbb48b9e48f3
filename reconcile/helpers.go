package reconcile

import (
	"debug/elf"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/plugwatch/plugwatch/layout"
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
//
// The helpers are part of what was loaded: a claim's Identity carries a key of their
// names and identities (Identity.Helpers), so a helper changed alone is a new
// identity, probed and opened again with the plugin, which is reloaded.

// helper is one helper library a plugin needs: its name in the plugin's folder and
// its identity when it was looked at.
type helper struct {
	name string
	id   Identity
}

// elfDeps is what the helper rule needs of one ELF file: its run path entries
// (DT_RUNPATH, else DT_RPATH) and the libraries it needs (DT_NEEDED). Both depend on
// the file's bytes only, so they are cached by identity (fileCache.deps).
type elfDeps struct {
	runpath []string
	needed  []string
}

// readDeps reads the elfDeps of the ELF file at path; the zero elfDeps when path is
// not an ELF file it can read, or needs nothing.
func readDeps(path string) elfDeps {
	f, err := elf.Open(path)
	if err != nil {
		return elfDeps{}
	}
	defer f.Close()
	paths, _ := f.DynString(elf.DT_RUNPATH)
	if len(paths) == 0 {
		paths, _ = f.DynString(elf.DT_RPATH)
	}
	var d elfDeps
	for _, list := range paths {
		d.runpath = append(d.runpath, strings.Split(list, ":")...)
	}
	if len(d.runpath) > 0 {
		d.needed, _ = f.DynString(elf.DT_NEEDED)
	}
	return d
}

// searches reports whether the run path names the folder the library is loaded
// from: $ORIGIN, or an absolute path to one of folders (the folder, resolved).
func (d elfDeps) searches(folders []string) bool {
	for _, p := range d.runpath {
		switch p {
		case "$ORIGIN", "${ORIGIN}", "$ORIGIN/", "${ORIGIN}/":
			return true
		}
		if namesFolder(p, folders) {
			return true
		}
	}
	return false
}

// folderNames is dir and dir resolved, for namesFolder.
func folderNames(dir string) []string {
	dir = filepath.Clean(dir)
	if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
		return []string{dir, real}
	}
	return []string{dir}
}

// originHelpers returns the libraries of dir that the ELF file at path needs through
// a run path of $ORIGIN (or of dir itself), and those they need in turn, sorted by
// name, with their identities (symlinks followed); nil when none. deps reads what a
// file needs.
func originHelpers(path, dir string, deps func(string) elfDeps) []helper {
	seen := map[string]Identity{}
	var folders []string
	var walk func(string)
	walk = func(p string) {
		d := deps(p)
		if len(d.needed) == 0 {
			return
		}
		if folders == nil {
			folders = folderNames(dir)
		}
		if !d.searches(folders) {
			return
		}
		for _, n := range d.needed {
			if _, ok := seen[n]; ok || strings.ContainsRune(n, '/') {
				continue
			}
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
				seen[n] = identityOf(fi)
				walk(filepath.Join(dir, n))
			}
		}
	}
	walk(path)
	if len(seen) == 0 {
		return nil
	}
	out := make([]helper, 0, len(seen))
	for n, id := range seen {
		out = append(out, helper{name: n, id: id})
	}
	slices.SortFunc(out, func(a, b helper) int { return strings.Compare(a.name, b.name) })
	return out
}

// helperKey is the Identity.Helpers of a set of helpers sorted by name: a hash of
// their names and identities; never 0 for a non-empty set.
func helperKey(hs []helper) uint64 {
	if len(hs) == 0 {
		return 0
	}
	h := fnv.New64a()
	for _, x := range hs {
		fmt.Fprintf(h, "%s\x00%d %d %d %d %d\x00", x.name, x.id.Dev, x.id.Ino, x.id.Size, x.id.Mtime, x.id.Ctime)
	}
	return max(h.Sum64(), 1)
}

// withHelpers moves the private copy p of the library lib into a private folder of
// the bundle folder that also holds private copies of helpers and symlinks to the
// folder's other entries (see above), and returns it. Each helper's copy is named
// uniquely (elfpatch.go), with a hard link under its own name, and the copies are
// patched to need those names. A helper whose identity is no longer the one listed
// is errChanged.
func (c *copier) withHelpers(p private, lib string, helpers []helper) (private, error) {
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
	renames := map[string]string{}
	var copies []string
	for _, e := range entries {
		name := e.Name()
		i := slices.IndexFunc(helpers, func(h helper) bool { return h.name == name })
		switch {
		case name == base || filepath.Join(dir, name) == priv || layout.IsPrivateCopy(name):
		case i >= 0:
			as := name
			if u := uniqueName(name, c.seq.Add(1)); u != "" {
				as, renames[name] = u, u
			}
			out := filepath.Join(priv, as)
			if err := copyHelper(filepath.Join(dir, name), helpers[i].id, out); err != nil {
				return fail(err)
			}
			copies = append(copies, out)
			if as != name {
				if os.Link(out, filepath.Join(priv, name)) != nil {
					os.Symlink(as, filepath.Join(priv, name))
				}
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
	folders := folderNames(dir)
	for _, f := range append(copies, moved) {
		if err := patchELF(f, renames, folders); err != nil {
			os.Remove(moved)
			return fail(err)
		}
	}
	d, err := os.Open(priv)
	if err != nil {
		os.Remove(moved)
		return fail(err)
	}
	return private{path: moved, dir: d, mirror: priv, j: p.j}, nil
}

// copyHelper copies the helper at path, of identity want, to out.
func copyHelper(path string, want Identity, out string) error {
	in, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || identityOf(fi) != want {
		return errChanged
	}
	if err := copyFrom(in, fi.Size(), out); err != nil {
		return fmt.Errorf("copying the helper library %s: %w", filepath.Base(path), err)
	}
	if after, err := in.Stat(); err != nil || identityOf(after) != want {
		return errChanged
	}
	return nil
}
