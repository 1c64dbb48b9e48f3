//go:build linux && (amd64 || arm64)

package native

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"runtime"
	"syscall"
)

// Check reports whether path holds a whole 64-bit little-endian ELF shared object
// (ET_DYN) for this machine, without loading it: ErrIncomplete for a prefix of an ELF
// file (empty, shorter than its headers, or with section headers or segment or
// section contents past its end), ErrNotLoadable for anything else that is not such an
// object (a text file, another machine, a 32-bit or executable file), the system's
// error for a file that cannot be read, nil otherwise. Open runs the same check first.
func Check(path string) error {
	if err := checkELF(path); err != nil {
		err.Op, err.Path = "check", path
		return err
	}
	return nil
}

// thisMachine returns the ELF machine of the running program.
func thisMachine() elf.Machine {
	if runtime.GOARCH == "arm64" {
		return elf.EM_AARCH64
	}
	return elf.EM_X86_64
}

const (
	ehdrSize = 64 // sizeof(Elf64_Ehdr)
	phdrSize = 56 // sizeof(Elf64_Phdr)
	shdrSize = 64 // sizeof(Elf64_Shdr)
)

// checkELF implements Check; the caller fills in Op and Path.
func checkELF(path string) *Error {
	// O_NONBLOCK: a FIFO is opened without waiting for a writer, and then refused
	// below unread; a regular file reads as it would without it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return ioError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ioError(err)
	}
	if !fi.Mode().IsRegular() {
		return notLoadable("not a regular file")
	}
	size := uint64(fi.Size())

	hdr := make([]byte, ehdrSize)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return ioError(err)
	}
	hdr = hdr[:n]
	if e := checkIdent(hdr); e != nil {
		return e
	}
	if n < ehdrSize {
		return incomplete("%d bytes, shorter than the %d-byte ELF header", n, ehdrSize)
	}

	h, e := parseHeader(hdr)
	if e != nil {
		return e
	}
	if e := checkSegments(f, size, h); e != nil {
		return e
	}
	return checkSections(f, size, h)
}

// header is what the checks use of the ELF header.
type header struct {
	phoff, phnum, shoff, shentsize, shnum uint64
}

// parseHeader checks the machine, type and program header size of a whole ELF
// header and returns where the tables are.
func parseHeader(hdr []byte) (header, *Error) {
	le := binary.LittleEndian
	typ := elf.Type(le.Uint16(hdr[16:]))
	machine := elf.Machine(le.Uint16(hdr[18:]))
	h := header{phoff: le.Uint64(hdr[32:]), shoff: le.Uint64(hdr[40:])}
	phentsize, phnum := uint64(le.Uint16(hdr[54:])), uint64(le.Uint16(hdr[56:]))
	h.phnum, h.shentsize, h.shnum = phnum, uint64(le.Uint16(hdr[58:])), uint64(le.Uint16(hdr[60:]))
	switch {
	case machine != thisMachine():
		return h, notLoadable("ELF machine %v, this machine is %v", machine, thisMachine())
	case typ != elf.ET_DYN:
		return h, notLoadable("ELF type %v, not a shared object (ET_DYN)", typ)
	case phnum == 0:
		return h, notLoadable("no program headers")
	case phentsize != phdrSize:
		return h, notLoadable("program header size %d, want %d", phentsize, phdrSize)
	}
	return h, nil
}

// checkSegments reads the program headers and checks that every segment's file
// range lies within the file's size.
func checkSegments(f *os.File, size uint64, h header) *Error {
	le := binary.LittleEndian
	phdrs, e := readTable(f, size, "program headers", h.phoff, h.phnum, phdrSize)
	if e != nil {
		return e
	}
	for i := range h.phnum {
		ph := phdrs[i*phdrSize:]
		off, filesz := le.Uint64(ph[8:]), le.Uint64(ph[32:])
		if e := inFile(size, off, filesz, fmt.Sprintf("segment %d (%v)", i, elf.ProgType(le.Uint32(ph)))); e != nil {
			return e
		}
	}
	return nil
}

// checkSections reads the section headers, if there are any, and checks that the
// contents of every section that has some lie within the file's size.
func checkSections(f *os.File, size uint64, h header) *Error {
	if h.shoff == 0 {
		return nil
	}
	if h.shentsize != shdrSize {
		return notLoadable("section header size %d, want %d", h.shentsize, shdrSize)
	}
	le := binary.LittleEndian
	shnum := h.shnum
	if shnum == 0 {
		// Extended numbering: the count is in the sh_size of section 0.
		sh0, e := readTable(f, size, "section header 0", h.shoff, 1, shdrSize)
		if e != nil {
			return e
		}
		shnum = le.Uint64(sh0[32:])
	}
	shdrs, e := readTable(f, size, "section headers", h.shoff, shnum, shdrSize)
	if e != nil {
		return e
	}
	for i := range shnum {
		sh := shdrs[i*shdrSize:]
		if elf.SectionType(le.Uint32(sh[4:])) == elf.SHT_NOBITS {
			continue
		}
		off, shsize := le.Uint64(sh[24:]), le.Uint64(sh[32:])
		if e := inFile(size, off, shsize, fmt.Sprintf("section %d", i)); e != nil {
			return e
		}
	}
	return nil
}

// checkIdent checks the bytes of e_ident that hdr holds (it may be short).
func checkIdent(hdr []byte) *Error {
	magic := []byte(elf.ELFMAG)
	if !bytes.HasPrefix(magic, hdr[:min(len(hdr), len(magic))]) {
		return notLoadable("no ELF magic number")
	}
	if len(hdr) < len(magic) {
		if len(hdr) == 0 {
			return incomplete("empty file")
		}
		return incomplete("%d bytes, shorter than the ELF magic number", len(hdr))
	}
	if len(hdr) > elf.EI_CLASS {
		if c := elf.Class(hdr[elf.EI_CLASS]); c != elf.ELFCLASS64 {
			return notLoadable("ELF class %v, want ELFCLASS64", c)
		}
	}
	if len(hdr) > elf.EI_DATA {
		if d := elf.Data(hdr[elf.EI_DATA]); d != elf.ELFDATA2LSB {
			return notLoadable("ELF data encoding %v, want ELFDATA2LSB", d)
		}
	}
	if len(hdr) > elf.EI_VERSION {
		if v := elf.Version(hdr[elf.EI_VERSION]); v != elf.EV_CURRENT {
			return notLoadable("ELF version %v", v)
		}
	}
	return nil
}

// readTable reads count entries of entsize bytes at off, or reports the table as
// running past the end of the size-byte file.
func readTable(f *os.File, size uint64, what string, off, count, entsize uint64) ([]byte, *Error) {
	hi, lo := bits.Mul64(count, entsize)
	if hi != 0 {
		return nil, incomplete("%s: %d entries of %d bytes", what, count, entsize)
	}
	if e := inFile(size, off, lo, what); e != nil {
		return nil, e
	}
	buf := make([]byte, lo)
	if _, err := f.ReadAt(buf, int64(off)); err != nil {
		if errors.Is(err, io.EOF) { // the file shrank since Stat
			return nil, incomplete("%s: file shrank while being read", what)
		}
		return nil, ioError(err)
	}
	return buf, nil
}

// inFile reports bytes [off, off+n) of a size-byte file that run past its end.
func inFile(size, off, n uint64, what string) *Error {
	if end, carry := bits.Add64(off, n, 0); carry != 0 || end > size {
		return incomplete("%s: %d bytes at offset %d, past the end of the %d-byte file", what, n, off, size)
	}
	return nil
}

func incomplete(format string, args ...any) *Error {
	return &Error{Err: ErrIncomplete, Detail: fmt.Sprintf(format, args...)}
}

func notLoadable(format string, args ...any) *Error {
	return &Error{Err: ErrNotLoadable, Detail: fmt.Sprintf(format, args...)}
}

// ioError keeps the system error of a failed file operation (without a *PathError
// around it: Error carries the path).
func ioError(err error) *Error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return &Error{Err: err}
}
