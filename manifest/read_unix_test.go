//go:build unix

package manifest

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A named pipe in place of a record is refused at once: opening it must not wait
// for a writer.
func TestReadNamedPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip("cannot make a named pipe:", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadRecord(path)
		done <- err
	}()
	select {
	case err := <-done:
		checkErr(t, err, path, fs.ErrInvalid, "")
	case <-time.After(10 * time.Second):
		t.Fatal("ReadRecord blocked on a named pipe")
	}
}
