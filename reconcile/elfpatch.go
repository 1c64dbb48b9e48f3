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
// absolute path to one of folders to $ORIGIN. A file that is no ELF file, or has no
// dynamic section, is left as it is.
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
	data, err := dyn.Data()
	if err != nil {
		return err
	}
	var needed, paths []uint64
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
		case elf.DT_NEEDED:
			needed = append(needed, val)
		case elf.DT_RPATH, elf.DT_RUNPATH:
			paths = append(paths, val)
		case elf.DT_NULL:
			i = len(data)
		}
	}
	if vr := ef.SectionByType(elf.SHT_GNU_VERNEED); vr != nil {
		if v, err := vr.Data(); err == nil {
			for i := 0; i+16 <= len(v); {
				needed = append(needed, uint64(ef.ByteOrder.Uint32(v[i+4:])))
				next := int(ef.ByteOrder.Uint32(v[i+12:]))
				if next <= 0 {
					break
				}
				i += next
			}
		}
	}
	read := func(off uint64) (string, int64, bool) {
		if off >= strtab.Size {
			return "", 0, false
		}
		buf := make([]byte, min(strtab.Size-off, 4096))
		at := int64(strtab.Offset + off)
		n, _ := f.ReadAt(buf, at)
		end := bytes.IndexByte(buf[:n], 0)
		if end < 0 {
			return "", 0, false
		}
		return string(buf[:end]), at, true
	}
	for _, off := range needed {
		if name, at, ok := read(off); ok && renames[name] != "" {
			if _, err := f.WriteAt([]byte(renames[name]), at); err != nil {
				return err
			}
		}
	}
	for _, off := range paths {
		list, at, ok := read(off)
		if !ok {
			continue
		}
		entries := strings.Split(list, ":")
		changed := false
		for i, e := range entries {
			if len(e) >= len("$ORIGIN") && namesFolder(e, folders) {
				entries[i] = "$ORIGIN" + strings.Repeat("/", len(e)-len("$ORIGIN"))
				changed = true
			}
		}
		if changed {
			if _, err := f.WriteAt([]byte(strings.Join(entries, ":")), at); err != nil {
				return err
			}
		}
	}
	return nil
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
