package manifest

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Limits on a document's shape, on top of MaxSize (docs/files.md).
const (
	// maxDepth is the deepest nesting of lists and objects accepted. Records and
	// manifests need 3.
	maxDepth = 100
	// maxValues bounds the values of a document, counting every expansion of a
	// YAML alias. A 1 MiB file without aliases holds fewer.
	maxValues = 1 << 20
)

// checkText applies the rules both formats share: at most MaxSize bytes, valid
// UTF-8, no NUL byte.
func checkText(path string, data []byte) error {
	if len(data) > MaxSize {
		return tooLarge(path, int64(len(data)))
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return errorf(path, "", ErrSyntax, "the text is not valid UTF-8 at %s", position(data, off))
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return errorf(path, "", ErrSyntax, "the text holds a NUL byte at %s", position(data, i))
	}
	return nil
}

// lineCol returns the 1-based line and column (in runes) of byte offset off.
func lineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	start := bytes.LastIndexByte(data[:off], '\n') + 1
	return bytes.Count(data[:start], []byte{'\n'}) + 1, utf8.RuneCount(data[start:off]) + 1
}

// position describes byte offset off for a message.
func position(data []byte, off int) string {
	line, col := lineCol(data, off)
	return fmt.Sprintf("line %d, column %d", line, col)
}
