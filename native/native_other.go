//go:build !linux || !(amd64 || arm64)

package native

// Check returns an error matching ErrUnsupported: loading is implemented on Linux for
// amd64 and arm64 only.
func Check(path string) error {
	return &Error{Op: "check", Path: path, Err: ErrUnsupported}
}

// Open returns an error matching ErrUnsupported: loading is implemented on Linux for
// amd64 and arm64 only.
func Open(path string, abi Range) (*Library, error) {
	return nil, &Error{Op: "open", Path: path, Err: ErrUnsupported}
}

// dlclose is never reached here: no Library is ever open.
func dlclose(uintptr) (string, error) { return "", ErrUnsupported }
