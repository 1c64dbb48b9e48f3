package reconcile

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A process maps one library per name: glibc gives a library that needs
// "libhelper.so" the object already loaded under that name, whatever folder it came
// from. A rebuilt plugin opened beside its previous build (a reload opens the new one
// before closing the old) would so run with the old helper, and two plugins with
// their own copies of one helper would share the first. So in a private copy every
// reference to a helper is renamed to a name of the same length that no other
// loaded object has (uniqueName), the helper's private copy is given that name, and a
// run path naming the bundle folder by its absolute path is rewritten to $ORIGIN (the
// private folder). Only plugwatch's private copies are rewritten, before they are
// probed: the probed bytes are the opened bytes.

// uniqueName returns a name as long as name that ends in "~" and seq in base 36, or
// "" when name is too short to hold it.
func uniqueName(name string, seq uint64) string {
	tag := "~" + strconv.FormatUint(seq, 36)
	if len(tag) >= len(name) {
		return ""
	}
	return name[:len(name)-len(tag)] + tag
}

// patchELF rewrites, in place in the ELF file at path, every reference to a needed
// library named in renames (its DT_NEEDED entries and the file names of its version
// needs) to the new name, of the same length, and every run path entry that is an
// absolute path to one of folders to $ORIGIN. A string the linker shares with
// another (ld merges a string into the tail of a longer one) is left as it is, so
// nothing else changes; the helper is then found under its own name, as without
// the rename. A file that is no ELF file, or has no dynamic section, is left as it
// is.
func patchELF(path string, renames map[string]string, folders []string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil
	}
	dyn := ef.SectionByType(elf.SHT_DYNAMIC)
	if dyn == nil || int(dyn.Link) >= len(ef.Sections) {
		return nil
	}
	strtab := ef.Sections[dyn.Link]
	str, err := strtab.Data()
	if err != nil {
		return &os.PathError{Op: "read ELF string table", Path: path, Err: err}
	}
	refs, err := stringRefs(ef, dyn)
	if err != nil {
		return &os.PathError{Op: "read ELF dynamic section", Path: path, Err: err}
	}
	if !(dynStrings{str, refs}).rewrite(renames, folders) {
		return nil
	}
	_, err = f.WriteAt(str, int64(strtab.Offset))
	return err
}

// dynStrings is a dynamic string table and every reference into it.
type dynStrings struct {
	str  []byte
	refs []stringRef
}

// at returns the string at off, if one ends in the table.
func (d dynStrings) at(off uint64) (string, bool) {
	if off >= uint64(len(d.str)) {
		return "", false
	}
	end := bytes.IndexByte(d.str[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(d.str[off : off+uint64(end)]), true
}

// alone reports whether the string at off is used by no reference but those of
// kind k starting there.
func (d dynStrings) alone(off uint64, k refKind) bool {
	s, _ := d.at(off)
	end := off + uint64(len(s))
	for _, r := range d.refs {
		if r.off == off && r.kind == k {
			continue
		}
		if t, ok := d.at(r.off); ok && r.off <= end && r.off+uint64(len(t)) >= off {
			return false
		}
	}
	return true
}

// rewrite renames, in place, the needed libraries that renames names and the run
// path entries that name one of folders (as $ORIGIN, padded with slashes), where no
// other reference shares their bytes; it reports whether anything changed.
func (d dynStrings) rewrite(renames map[string]string, folders []string) bool {
	changed := false
	for _, r := range d.refs {
		name, ok := d.at(r.off)
		switch {
		case !ok:
		case r.kind == refNeeded && renames[name] != "" && d.alone(r.off, refNeeded):
			copy(d.str[r.off:], renames[name])
			changed = true
		case r.kind == refPath && d.alone(r.off, refPath):
			entries := strings.Split(name, ":")
			for i, e := range entries {
				if len(e) >= len("$ORIGIN") && namesFolder(e, folders) {
					entries[i] = "$ORIGIN" + strings.Repeat("/", len(e)-len("$ORIGIN"))
					changed = true
				}
			}
			copy(d.str[r.off:], strings.Join(entries, ":"))
		}
	}
	return changed
}

type refKind uint8

const (
	refNeeded refKind = iota // a needed library: DT_NEEDED, a version need's file
	refPath                  // DT_RPATH, DT_RUNPATH
	refOther                 // anything else: DT_SONAME, symbol and version names
)

// stringRef is a reference into the dynamic string table.
type stringRef struct {
	off  uint64
	kind refKind
}

// stringRefs lists every reference into the dynamic string table that patchELF
// must not disturb: the dynamic entries', the version needs' and definitions' and
// the dynamic symbols' names.
func stringRefs(ef *elf.File, dyn *elf.Section) ([]stringRef, error) {
	data, err := dyn.Data()
	if err != nil {
		return nil, err
	}
	refs := dynamicRefs(ef, data)
	refs = append(refs, versionRefs(ef)...)
	return append(refs, symbolRefs(ef)...), nil
}

// dynamicRefs returns the strings the dynamic section data names.
func dynamicRefs(ef *elf.File, data []byte) []stringRef {
	var refs []stringRef
	size := 16
	if ef.Class == elf.ELFCLASS32 {
		size = 8
	}
	for i := 0; i+size <= len(data); i += size {
		var tag, val uint64
		if size == 16 {
			tag, val = ef.ByteOrder.Uint64(data[i:]), ef.ByteOrder.Uint64(data[i+8:])
		} else {
			tag, val = uint64(ef.ByteOrder.Uint32(data[i:])), uint64(ef.ByteOrder.Uint32(data[i+4:]))
		}
		switch elf.DynTag(tag) {
		case elf.DT_NULL:
			return refs
		case elf.DT_NEEDED:
			refs = append(refs, stringRef{val, refNeeded})
		case elf.DT_RPATH, elf.DT_RUNPATH:
			refs = append(refs, stringRef{val, refPath})
		case elf.DT_SONAME, elf.DT_AUXILIARY, elf.DT_FILTER:
			refs = append(refs, stringRef{val, refOther})
		}
	}
	return refs
}

// versionRefs returns the strings the symbol version sections name.
func versionRefs(ef *elf.File) []stringRef {
	var refs []stringRef
	u32 := func(b []byte, i int) uint64 { return uint64(ef.ByteOrder.Uint32(b[i:])) }
	// chain calls each for the records of a linked list in v from i: records of at
	// least size bytes whose u32 at nextAt is the offset of the next (0: the last).
	chain := func(v []byte, i, size, nextAt int, each func(i int)) {
		for n := 0; i >= 0 && i+size <= len(v) && n < len(v); n++ {
			each(i)
			next := int(u32(v, i+nextAt))
			if next <= 0 {
				return
			}
			i += next
		}
	}
	// Version needs: Verneed {vn_version, vn_cnt u16; vn_file, vn_aux, vn_next u32},
	// each with Vernaux {vna_hash u32; vna_flags, vna_other u16; vna_name, vna_next u32}.
	if sec := ef.SectionByType(elf.SHT_GNU_VERNEED); sec != nil {
		if v, err := sec.Data(); err == nil {
			chain(v, 0, 16, 12, func(i int) {
				refs = append(refs, stringRef{u32(v, i+4), refNeeded})
				chain(v, i+int(u32(v, i+8)), 16, 12, func(a int) { refs = append(refs, stringRef{u32(v, a+8), refOther}) })
			})
		}
	}
	// Version definitions: Verdef {vd_version, vd_flags, vd_ndx, vd_cnt u16; vd_hash,
	// vd_aux, vd_next u32}, each with Verdaux {vda_name, vda_next u32}.
	if sec := ef.SectionByType(elf.SHT_GNU_VERDEF); sec != nil {
		if v, err := sec.Data(); err == nil {
			chain(v, 0, 20, 16, func(i int) {
				chain(v, i+int(u32(v, i+12)), 8, 4, func(a int) { refs = append(refs, stringRef{u32(v, a), refOther}) })
			})
		}
	}
	return refs
}

// symbolRefs returns the names of the dynamic symbols: st_name is the first word of
// each entry.
func symbolRefs(ef *elf.File) []stringRef {
	sec := ef.SectionByType(elf.SHT_DYNSYM)
	if sec == nil {
		return nil
	}
	v, err := sec.Data()
	if err != nil {
		return nil
	}
	var refs []stringRef
	entry := 24
	if ef.Class == elf.ELFCLASS32 {
		entry = 16
	}
	for i := 0; i+entry <= len(v); i += entry {
		if off := uint64(ef.ByteOrder.Uint32(v[i:])); off != 0 {
			refs = append(refs, stringRef{off, refOther})
		}
	}
	return refs
}

// namesFolder reports whether a run path entry is an absolute path to one of
// folders (compared resolved).
func namesFolder(entry string, folders []string) bool {
	if !strings.HasPrefix(entry, "/") {
		return false
	}
	real, err := filepath.EvalSymlinks(entry)
	if err != nil {
		return false
	}
	for _, f := range folders {
		if real == f {
			return true
		}
	}
	return false
}
