package reconcile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/native"
)

// errChanged: the library changed while it was being copied; look again later.
var errChanged = errors.New("the library changed while it was copied")

// copier makes the private copies of docs/files.md: plugwatch never maps the user's
// file, so a library rebuilt or copied over in place cannot crash it. A copy is a
// hidden file beside the path it was given (so $ORIGIN and neighbouring helper
// libraries resolve as for the original) named .<name>.plugwatch-<pid>-<n>, which
// ends in no library extension and is ignored by the watcher and by StreamKit.
type copier struct {
	pid int
	seq atomic.Uint64
	j   *journal // records every private file; nil records none
}

// private is one private copy; remove deletes it (and the mirror folder made for it,
// if any). It holds its folder open, so that the copy is removed even when the user
// moved the bundle folder away meanwhile: it would travel with the folder.
type private struct {
	path   string
	dir    *os.File
	mirror string
	j      *journal
}

func (p private) remove() {
	if p.path == "" {
		return
	}
	defer p.j.removed(p)
	if p.dir != nil {
		unix.Unlinkat(int(p.dir.Fd()), filepath.Base(p.path), 0)
		p.dir.Close()
	} else {
		os.Remove(p.path)
	}
	if p.mirror != "" {
		os.RemoveAll(p.mirror)
	}
}

// errNotRegular: the library is not a regular file (a FIFO, a device): never read.
var errNotRegular = errors.New("not a regular file")

// copy copies lib to a private copy and checks that what it copied is the file of
// identity want (a zero want skips that check) and did not change while it was
// copied. It reads through one descriptor, opened without blocking (a FIFO must not
// hang it) and checked to be a regular file before a byte is read, and reads no more
// than the size fstat gave.
func (c *copier) copy(lib string, want Identity) (private, error) {
	in, err := os.OpenFile(lib, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrPermission) {
		// A verdict on this file until its permissions (its change time) change.
		return private{}, &native.Error{Op: "read", Path: lib, Err: native.ErrNotLoadable,
			Detail: "cannot be read (permission denied); give plugwatch read access to it"}
	}
	if err != nil {
		return private{}, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return private{}, err
	}
	if !fi.Mode().IsRegular() {
		return private{}, errNotRegular
	}
	before := identityOf(fi)
	if want != (Identity{}) && before != want.file() {
		return private{}, errChanged
	}
	dir, base := filepath.Split(lib)
	name := c.name(dir, base, "", 0)
	p := private{path: filepath.Join(dir, name)}
	err = copyFrom(in, fi.Size(), p.path)
	if err == nil {
		p.dir, err = os.Open(filepath.Dir(p.path))
		if err != nil {
			os.Remove(p.path)
		}
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		p, err = c.mirrored(lib, name, in, fi.Size())
	}
	if err != nil {
		return private{}, err
	}
	helpers := originHelpers(p.path, dir, readDeps)
	if want != (Identity{}) && helperKey(helpers) != want.Helpers {
		p.remove()
		return private{}, errChanged
	}
	if helpers != nil {
		if p, err = c.withHelpers(p, lib, helpers); err != nil {
			p.remove()
			return private{}, err
		}
	}
	p.j = c.j
	c.j.made(p)
	if after, err := in.Stat(); err != nil || identityOf(after) != before {
		p.remove()
		return private{}, errChanged
	}
	return p, nil
}

// name is the private copy's name for a library called base in dir: hidden,
// carrying the process id and a sequence number, ending in ext (no library
// extension), and within the file system's limits (255 bytes a name, 4,095 a path,
// counting after more bytes that will follow the name in a path) however long base
// and dir are: base is shortened to fit.
func (c *copier) name(dir, base, ext string, after int) string {
	suffix := fmt.Sprintf("%s%d-%d", layout.CopyMarker, c.pid, c.seq.Add(1)) + ext
	room := min(255, 4095-len(dir)-after) - 1 - len(suffix)
	if len(base) > room {
		base = base[:max(0, room)]
	}
	return "." + base + suffix
}

// mirrored places the copy in a private folder that mirrors lib's folder with
// symlinks to its other entries, for a folder plugwatch may not write.
func (c *copier) mirrored(lib, name string, in *os.File, size int64) (private, error) {
	dir := filepath.Dir(lib)
	mirror, err := os.MkdirTemp("", fmt.Sprintf("plugwatch-%d-", c.pid))
	if err != nil {
		return private{}, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		os.RemoveAll(mirror)
		return private{}, err
	}
	for _, e := range entries {
		os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(mirror, e.Name()))
	}
	p := private{path: filepath.Join(mirror, name), mirror: mirror}
	if err := copyFrom(in, size, p.path); err != nil {
		os.RemoveAll(mirror)
		return private{}, err
	}
	return p, nil
}

// copyFrom writes the first size bytes of in, from its start, to a new file dst.
func copyFrom(in *os.File, size int64, dst string) (err error) {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// From a file limited to size, io.Copy copies in the kernel (copy_file_range)
	// where the file systems allow it, without a buffer here.
	n, err := io.Copy(out, io.LimitReader(in, size))
	if err == nil && n != size {
		err = errChanged // it shrank while it was copied
	}
	return err
}

// removeLeftovers deletes the private copies left below root by plugwatch processes
// that no longer run, and returns how many it removed.
func removeLeftovers(root string) int {
	n := 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != root && strings.Count(strings.TrimPrefix(path, root), string(filepath.Separator)) > 4 {
				return filepath.SkipDir
			}
			return nil
		}
		if pid, ok := layout.CopyOwner(d.Name()); ok && !alive(pid) {
			if os.Remove(path) == nil {
				n++
			}
		}
		return nil
	})
	return n
}

// removeMirrors deletes the private mirror folders (see copier.mirrored) left in the
// temporary folder by plugwatch processes that no longer run.
func removeMirrors() int {
	n := 0
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "plugwatch-*-*"))
	for _, dir := range dirs {
		pidText, suffix, ok := strings.Cut(strings.TrimPrefix(filepath.Base(dir), "plugwatch-"), "-")
		pid, err := strconv.Atoi(pidText)
		if _, serr := strconv.ParseUint(suffix, 10, 64); !ok || err != nil || serr != nil || pid <= 0 || alive(pid) {
			continue
		}
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || !holdsCopyOf(dir, pid) {
			continue // not one of ours: never delete what plugwatch did not create
		}
		if os.RemoveAll(dir) == nil {
			n++
		}
	}
	return n
}

// holdsCopyOf reports whether dir holds a private copy made by process pid.
func holdsCopyOf(dir string, pid int) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if owner, ok := layout.CopyOwner(e.Name()); ok && owner == pid && e.Type().IsRegular() {
			return true
		}
	}
	return false
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// retarget makes an error about a private copy speak of the user's file.
func retarget(err error, copyPath, path string) error {
	var ne *native.Error
	if !errors.As(err, &ne) {
		return err
	}
	out := *ne
	out.Path = path
	out.Detail = strings.ReplaceAll(ne.Detail, copyPath, path)
	return &out
}
