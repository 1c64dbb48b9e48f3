package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the largest record or manifest read, in bytes (docs/files.md). A
// larger file is refused unread with ErrTooLarge, and so is larger data given to
// ParseRecord or ParseManifest.
const MaxSize = 1 << 20

// readFile reads the regular file at path, refusing one over MaxSize without
// reading it. On Unix it opens with O_NONBLOCK so that a named pipe in place of the
// file cannot block the caller; that flag changes nothing for a regular file.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, ioError(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, ioError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Path: path, Err: fs.ErrInvalid, Detail: "it is " + describeType(fi.Mode()) + ", not a regular file"}
	}
	if fi.Size() > MaxSize {
		return nil, tooLarge(path, fi.Size())
	}
	// The file may grow between Stat and the read: read at most one byte more
	// than allowed, and refuse it if that byte is there.
	buf := make([]byte, 0, fi.Size()+1)
	data, err := readAll(io.LimitReader(f, MaxSize+1), buf)
	if err != nil {
		return nil, ioError(path, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{Path: path, Err: ErrTooLarge, Detail: "it grew past the limit while being read"}
	}
	return data, nil
}

// readAll is io.ReadAll appending to buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func tooLarge(path string, size int64) *Error {
	return &Error{Path: path, Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes", size)}
}

// ioError wraps an error from opening or reading path. An *fs.PathError is reduced
// to its cause, since the *Error names the path already.
func ioError(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Error{Path: path, Err: err}
}

// describeType names the type of a file that is not a regular one.
func describeType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return fmt.Sprintf("of type %v", m.Type())
}
