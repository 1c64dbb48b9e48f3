//go:build linux && (amd64 || arm64)

package native

import (
	"bytes"
	"encoding/binary"
	"unsafe"
)

// Reading the memory of a loaded library. Addresses come from the library and are
// trusted to point to readable memory of the size the ABI gives them: a library that
// lies crashes the process, as it would in StreamKit. Values are copied out at once;
// nothing here keeps a pointer into the library.

// pointer turns an address outside the Go heap into an unsafe.Pointer without the
// uintptr-to-Pointer conversion that go vet and checkptr object to.
func pointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// peek returns the n bytes at addr, without copying them.
func peek(addr uintptr, n int) []byte {
	return unsafe.Slice((*byte)(pointer(addr)), n)
}

func readU16(addr uintptr) uint16 { return binary.NativeEndian.Uint16(peek(addr, 2)) }
func readU32(addr uintptr) uint32 { return binary.NativeEndian.Uint32(peek(addr, 4)) }
func readI32(addr uintptr) int32  { return int32(readU32(addr)) }
func readU64(addr uintptr) uint64 { return binary.NativeEndian.Uint64(peek(addr, 8)) }
func readPtr(addr uintptr) uintptr {
	return uintptr(readU64(addr)) // pointers and size_t are 8 bytes on amd64 and arm64
}

// readCString copies the NUL-terminated string at addr (not NULL) when it is at most
// limit bytes long; ok is false when it is longer. It reads no page past the one
// holding the NUL, and stops in the page holding byte limit+1 of an overlong string.
func readCString(addr uintptr, limit int) (s string, ok bool) {
	// Scan in pieces that end at 4 KiB boundaries: memory is mapped in whole pages,
	// so a piece is readable when its first byte is.
	const chunk = 4096
	n := 0
	for n <= limit {
		p := addr + uintptr(n)
		size := chunk - int(p%chunk)
		if i := bytes.IndexByte(peek(p, size), 0); i >= 0 {
			n += i
			if n > limit {
				return "", false
			}
			return string(peek(addr, n)), true
		}
		n += size
	}
	return "", false
}
