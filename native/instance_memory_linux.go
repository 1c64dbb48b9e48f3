//go:build linux && (amd64 || arm64)

package native

import (
	"os"
	"syscall"
	"unsafe"
)

// cMemory is an instance's memory outside the Go heap, an anonymous mapping: everything
// a plugin reads during a call (the CNodeCallbacks, the input pin names, params, the
// packet) is written here, so the plugin never sees a Go pointer and a plugin that
// keeps a pointer past its call cannot confuse the garbage collector. The first
// fixed bytes keep their content when the memory grows; the rest is scratch, reused by
// every call. The memory is mapped once per instance and grows only for a bigger
// packet than any before, so a call allocates nothing.
type cMemory struct {
	b     []byte
	fixed int
}

// newCMemory maps memory of fixed bytes plus at least scratch bytes.
func newCMemory(fixed, scratch int) (*cMemory, error) {
	b, err := mapAnon(fixed + scratch)
	if err != nil {
		return nil, err
	}
	return &cMemory{b: b, fixed: fixed}, nil
}

// mapAnon maps at least n bytes of zeroed memory, in whole pages.
func mapAnon(n int) ([]byte, error) {
	page := os.Getpagesize()
	n = (max(n, 1) + page - 1) / page * page
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

// addrOf returns the address of b[off]; off may be len(b).
func addrOf(b []byte, off int) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(off)
}

// fixedPart returns a writer over the fixed part, from offset 0.
func (m *cMemory) fixedPart() cWriter {
	return cWriter{b: m.b[:m.fixed], base: addrOf(m.b, 0)}
}

// scratch returns a writer over at least n bytes of scratch, from offset fixed (the
// writer's offsets count from the start of the memory, as the fixed part's do). It
// grows the memory when needed, which moves it: addresses of earlier calls are stale.
func (m *cMemory) scratch(n int) (cWriter, error) {
	if m.fixed+n > len(m.b) {
		b, err := mapAnon(m.fixed + max(n, 2*(len(m.b)-m.fixed)))
		if err != nil {
			return cWriter{}, err
		}
		copy(b, m.b[:m.fixed])
		syscall.Munmap(m.b)
		m.b = b
	}
	return cWriter{b: m.b, base: addrOf(m.b, 0), off: m.fixed}, nil
}

// free unmaps the memory.
func (m *cMemory) free() {
	syscall.Munmap(m.b)
	m.b = nil
}
