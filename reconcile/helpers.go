package reconcile

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
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
// not a 64-bit little-endian ELF file it can read (no other is loaded here), or needs
// nothing. It reads what the dynamic loader reads, through the program headers: the
// dynamic segment, and the strings it names in the string table (a few small reads,
// whatever the size of the file; a library without section headers is read too).
func readDeps(path string) elfDeps {
	f, err := os.Open(path)
	if err != nil {
		return elfDeps{}
	}
	defer f.Close()
	dyn, strtab, ok := dynamicSegment(f)
	if !ok {
		return elfDeps{}
	}
	le := binary.LittleEndian
	var runpath, rpath, needed []uint64 // offsets in the string table
	for i := 0; i+16 <= len(dyn); i += 16 {
		val := le.Uint64(dyn[i+8:])
		switch elf.DynTag(le.Uint64(dyn[i:])) {
		case elf.DT_NULL:
			i = len(dyn)
		case elf.DT_RUNPATH:
			runpath = append(runpath, val)
		case elf.DT_RPATH:
			rpath = append(rpath, val)
		case elf.DT_NEEDED:
			needed = append(needed, val)
		}
	}
	if len(runpath) == 0 {
		runpath = rpath
	}
	if len(runpath) == 0 {
		return elfDeps{}
	}
	var d elfDeps
	for _, off := range runpath {
		if s, ok := readString(f, strtab+off); ok {
			d.runpath = append(d.runpath, strings.Split(s, ":")...)
		}
	}
	for _, off := range needed {
		if s, ok := readString(f, strtab+off); ok {
			d.needed = append(d.needed, s)
		}
	}
	return d
}

// dynamicSegment reads the dynamic segment of the 64-bit little-endian ELF file f,
// and where its string table (DT_STRTAB, an address) lies in the file.
func dynamicSegment(f *os.File) (dyn []byte, strtab uint64, ok bool) {
	le := binary.LittleEndian
	var hdr [64]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:4]) != elf.ELFMAG ||
		elf.Class(hdr[4]) != elf.ELFCLASS64 || elf.Data(hdr[5]) != elf.ELFDATA2LSB || le.Uint16(hdr[54:]) != 56 {
		return nil, 0, false
	}
	phoff, phnum := le.Uint64(hdr[32:]), int(le.Uint16(hdr[56:]))
	phdrs := make([]byte, phnum*56)
	if phoff > 1<<40 {
		return nil, 0, false
	}
	if _, err := f.ReadAt(phdrs, int64(phoff)); err != nil {
		return nil, 0, false
	}
	type segment struct{ off, vaddr, size uint64 }
	var loads []segment
	var dynamic segment
	for i := range phnum {
		ph := phdrs[i*56:]
		seg := segment{off: le.Uint64(ph[8:]), vaddr: le.Uint64(ph[16:]), size: le.Uint64(ph[32:])}
		switch elf.ProgType(le.Uint32(ph)) {
		case elf.PT_LOAD:
			loads = append(loads, seg)
		case elf.PT_DYNAMIC:
			dynamic = seg
		}
	}
	if dynamic.size == 0 || dynamic.size > maxDynamic {
		return nil, 0, false
	}
	dyn = make([]byte, dynamic.size)
	if _, err := f.ReadAt(dyn, int64(dynamic.off)); err != nil {
		return nil, 0, false
	}
	var addr uint64
	for i := 0; i+16 <= len(dyn); i += 16 {
		if elf.DynTag(le.Uint64(dyn[i:])) == elf.DT_STRTAB {
			addr = le.Uint64(dyn[i+8:])
		}
	}
	for _, l := range loads { // the address, as an offset in the file
		if addr >= l.vaddr && addr-l.vaddr < l.size {
			return dyn, l.off + addr - l.vaddr, true
		}
	}
	return nil, 0, false
}

// maxDynamic bounds the dynamic segment readDeps reads (a library's holds a few
// hundred bytes).
const maxDynamic = 1 << 20

// readString reads the NUL-terminated string at off in f, of at most 4,095 bytes
// (a path's limit).
func readString(f *os.File, off uint64) (string, bool) {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, int64(off))
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		return string(buf[:i]), true
	}
	return "", false
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
	priv := filepath.Join(dir, c.name(dir, base, ".d", 1+len(base))) // priv/base is the copy
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
