package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// Options says where Install puts a file and how it judges it.
type Options struct {
	// Root is the plugins root. It must exist; Install creates native/, wasm/ and
	// the library's folder below it when they are missing. Result.Path is joined
	// onto Root as given.
	Root string
	// Prober reads the staged library's metadata. It must not be nil for a
	// library. A daemon passes a prober that survives a crashing library (package
	// probe's); an in-process prober (reconcile.InProcess) runs the library's
	// constructors in the caller.
	Prober Prober
	// Provided returns the kinds already provided ("plugin::native::gain") and the
	// library that provides each: those of the plugins `scan` would report (the
	// plugins of a reconcile.Scan of Root) and, in a daemon, those of the loaded
	// ones. It must not be nil for a library.
	Provided func(ctx context.Context) (map[string]string, error)
}

// Prober reads a library's metadata, as package probe's Prober and
// reconcile.InProcess do; its errors are those of package native and probe.
type Prober interface {
	Probe(ctx context.Context, path string) (native.Metadata, error)
}

// Result is what Install put in place.
type Result struct {
	Path string // the file written, joined onto Options.Root as given
	Kind string // the registered kind ("plugin::native::gain"); "" for a .wasm
}

// The modes of what Install creates; the umask may take bits away.
const (
	libraryMode  = 0o755
	fileMode     = 0o644
	folderMode   = 0o755
	manifestName = "plugin.yml"
	wasmMagic    = "\x00asm"
)

// Install places one plugin file, read from body, into opts.Root the safe way,
// and returns where it went and the kind it provides.
//
// name is checked with CheckName. A library goes to native/<folder>/<name>, where
// the folder is the name without its extension and a leading "lib"
// ("libgain.so" → native/gain/libgain.so), or the whole name when that leaves
// nothing ("lib.so" → native/lib.so/lib.so); with a manifest, the folder is the
// manifest's id instead, so that `plugwatch remove ID` finds what scan lists as
// ID (the id must be one safe path component and a name plugwatch scans, else
// ErrBadName; CheckName's rules on the folder then apply to the id, not to the
// file's stem). A ".wasm" goes to wasm/<name>. The library's folder must not
// already hold a library or a manifest, and wasm/<name> must not exist: both are
// checked before body is read, and again when the file is moved into place.
//
// body is streamed to a hidden staging file .<name>.<pid>-<random>.tmp inside the
// target folder (never to /tmp, which may be mounted noexec), which plugwatch's
// scanner and watcher ignore; <pid> is this process's id, so that
// RemoveDeadStaging can tell the leftovers of a killed install from the files of
// one still running. More than maxSize bytes (maxSize < 0: no limit) is
// ErrTooLarge; Install then stops reading. A read error of body that matches
// ErrTooLarge is reported as ErrTooLarge too, so a caller can refuse a declared
// size through the body. A .wasm must begin with the bytes "\0asm" and is not
// probed. A library is probed with opts.Prober and its kind normalised (manifest.NormalizeKind);
// any probe failure, a crash included, is ErrInvalid, whose Detail says what the
// prober reported and which unwraps to the prober's error too.
//
// manifest, when not nil, is the content of a plugin.yml to place beside the
// library: it must parse (manifest.ParseManifest), say kind native, name the
// library as its entrypoint and its node_kind must be the kind the library
// reports; otherwise ErrInvalid. It is checked before body is read.
//
// The kind must not be provided already (opts.Provided): ErrKindProvided. Only
// then is the library moved into place, and then plugin.yml, each with a move that
// never replaces an existing file; when one is there meanwhile, the result is
// ErrOccupied and what was put in place is taken back. Of two installs racing for
// the same file one wins and the other gets ErrOccupied. (Two installs of one kind
// under different names that race past each other's Provided check both land; the
// scanner then reports the later one as a conflict.)
//
// On every error Install removes what it created (staging files, a file it moved
// into place, folders it made) and nothing else. Every error is an *Error
// wrapping a sentinel, or the system's error when a file could not be read,
// written or moved. ctx bounds the probe and Provided, and ends the
// copy of body.
func Install(ctx context.Context, opts Options, name string, body io.Reader, maxSize int64, manifest []byte) (Result, error) {
	return install(ctx, opts, name, body, maxSize, manifest, defaultSteps())
}

// steps are the file operations of an install that tests replace to inject a
// failure at each step (the probe fails through Options.Prober).
type steps struct {
	pid    func() int                 // the process id in a staging name
	random func() string              // the random part of a staging name: 8 hex digits
	writer func(f *os.File) io.Writer // what a staged file's content is written through
	move   func(from, to string) error
}

func defaultSteps() steps {
	return steps{
		pid:    os.Getpid,
		random: func() string { return fmt.Sprintf("%08x", rand.Uint32()) },
		writer: func(f *os.File) io.Writer { return f },
		move:   moveNoReplace,
	}
}

// job is one install in progress and what it created, to undo on failure.
type job struct {
	opts    Options
	st      steps
	t       target
	folders []string // folders this install made, outermost first
	temps   []string // staging files still on disk
	placed  []placed // files moved into place
}

type placed struct {
	path string
	fi   fs.FileInfo // the staged file, to check it is still ours before removing
}

func install(ctx context.Context, opts Options, name string, body io.Reader, maxSize int64, manifestData []byte, st steps) (res Result, err error) {
	j, n, m, err := prepare(opts, name, manifestData, st)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if err != nil {
			j.undo()
		}
	}()
	if err := j.makeFolders(); err != nil {
		return Result{}, err
	}
	mode := os.FileMode(libraryMode)
	if j.t.wasm {
		mode = fileMode
	}
	staged, fi, head, err := j.stage(ctx, n, mode, body, maxSize)
	if err != nil {
		return Result{}, err
	}
	kind, err := j.judge(ctx, staged, head, m)
	if err != nil {
		return Result{}, err
	}
	var stagedManifest string
	var manifestInfo fs.FileInfo
	if m != nil {
		stagedManifest, manifestInfo, _, err = j.stage(ctx, manifestName, fileMode, bytes.NewReader(manifestData), -1)
		if err != nil {
			return Result{}, err
		}
	}
	if err := j.place(staged, j.t.path, fi); err != nil {
		return Result{}, err
	}
	if m != nil {
		if err := j.place(stagedManifest, filepath.Join(j.t.dir, manifestName), manifestInfo); err != nil {
			return Result{}, err
		}
	}
	syncDir(j.t.dir)
	return Result{Path: j.t.path, Kind: kind}, nil
}

// prepare checks the name, the root and the manifest (when one comes with the
// library), and returns the job for a target that is free, with the checked name.
func prepare(opts Options, name string, manifestData []byte, st steps) (*job, string, *manifest.Manifest, error) {
	check := CheckName
	if manifestData != nil {
		check = checkFileName // the manifest's id names the folder, not the file's stem
	}
	n, err := check(name)
	if err != nil {
		return nil, "", nil, err
	}
	j := &job{opts: opts, st: st, t: newTarget(opts.Root, n, "")}
	if err := checkRoot("install", n, opts.Root); err != nil {
		return nil, "", nil, err
	}
	var m *manifest.Manifest
	if manifestData != nil {
		if m, err = j.checkManifest(manifestData); err != nil {
			return nil, "", nil, err
		}
		j.t = newTarget(opts.Root, n, m.ID)
	}
	if err := j.t.free(); err != nil {
		return nil, "", nil, err
	}
	return j, n, m, nil
}

// judge checks the staged file: a WebAssembly module by its magic bytes (head), a
// native library by probing it; it returns the kind the library reports.
func (j *job) judge(ctx context.Context, staged, head string, m *manifest.Manifest) (string, error) {
	if !j.t.wasm {
		return j.probe(ctx, staged, m)
	}
	if head != wasmMagic {
		return "", j.fail(ErrInvalid, nil, `the file does not begin with the WebAssembly magic bytes "\0asm"; is it a .wasm module?`)
	}
	return "", nil
}

// fail returns an *Error of this install.
func (j *job) fail(sentinel, cause error, detail string) error {
	return &Error{Op: "install", Path: j.t.name, Err: sentinel, Detail: detail, cause: cause}
}

// checkRoot checks that root is an existing folder.
func checkRoot(op, path, root string) error {
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Error{Op: op, Path: path, Err: err, Detail: fmt.Sprintf(
			"plugins root %s does not exist; create it, or name another with --root or $PLUGWATCH_ROOT", root)}
	case err != nil:
		return &Error{Op: op, Path: path, Err: err, Detail: fmt.Sprintf("plugins root %s cannot be read: %v", root, err)}
	case !fi.IsDir():
		return &Error{Op: op, Path: path, Err: fs.ErrInvalid, Detail: fmt.Sprintf(
			"plugins root %s is not a folder; name a folder with --root or $PLUGWATCH_ROOT", root)}
	}
	return nil
}

// checkManifest parses the manifest to place beside the library and checks what
// can be checked before the library is read.
func (j *job) checkManifest(data []byte) (*manifest.Manifest, error) {
	if j.t.wasm {
		return nil, j.fail(ErrInvalid, nil, "a manifest goes with a native library, not with a .wasm; install it without one")
	}
	m, err := manifest.ParseManifest(manifestName, data)
	if err != nil {
		return nil, j.fail(ErrInvalid, err, "invalid manifest: "+err.Error())
	}
	if m.Kind != "native" {
		return nil, j.fail(ErrInvalid, nil, fmt.Sprintf("the manifest says kind %q; a library's manifest says kind: native", m.Kind))
	}
	if filepath.Clean(m.Entrypoint) != j.t.name {
		return nil, j.fail(ErrInvalid, nil, fmt.Sprintf("the manifest's entrypoint %q does not name %s; set entrypoint: %s", m.Entrypoint, j.t.name, j.t.name))
	}
	if why := folderProblem(m.ID); why != "" {
		return nil, j.fail(ErrBadName, nil, "the manifest's id names the folder, but "+why+"; set id to one plain name")
	}
	return m, nil
}

// makeFolders creates the target folder and its parent below the root when they
// are missing, remembering which it made.
func (j *job) makeFolders() error {
	for _, dir := range []string{filepath.Dir(j.t.dir), j.t.dir} {
		if dir == filepath.Clean(j.opts.Root) {
			continue
		}
		err := os.Mkdir(dir, folderMode)
		switch {
		case err == nil:
			j.folders = append(j.folders, dir)
		case errors.Is(err, fs.ErrExist):
			if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
				return j.fail(ErrOccupied, nil, fmt.Sprintf("%s exists and is not a folder; remove or rename it first", j.rel(dir)))
			}
		default:
			return j.fail(err, nil, fmt.Sprintf("cannot create the folder %s: %v", j.rel(dir), err))
		}
	}
	return nil
}

// stage streams r to a new hidden staging file in the target folder, synced and
// closed, and returns its path, its FileInfo and its first four bytes.
func (j *job) stage(ctx context.Context, name string, mode os.FileMode, r io.Reader, maxSize int64) (path string, fi fs.FileInfo, head string, err error) {
	f, path, err := j.create(name, mode)
	if err != nil {
		return "", nil, "", err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	src := &bodyReader{ctx: ctx, r: r}
	var in io.Reader = src
	if maxSize >= 0 {
		in = io.LimitReader(src, maxSize+1)
	}
	dst := &headWriter{w: j.st.writer(f)}
	n, err := io.CopyBuffer(dst, in, make([]byte, 64<<10))
	switch {
	case src.err != nil && errors.Is(src.err, ErrTooLarge):
		return "", nil, "", j.fail(ErrTooLarge, src.err, src.err.Error())
	case src.err != nil:
		return "", nil, "", j.fail(src.err, nil, fmt.Sprintf("reading the file: %v", src.err))
	case err != nil:
		return "", nil, "", j.fail(err, nil, fmt.Sprintf("writing %s: %v", j.rel(path), err))
	case maxSize >= 0 && n > maxSize:
		return "", nil, "", j.fail(ErrTooLarge, nil, fmt.Sprintf("the file is larger than the limit of %d bytes (--max-upload)", maxSize))
	}
	if fi, err = f.Stat(); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	f = nil
	if err != nil {
		return "", nil, "", j.fail(err, nil, fmt.Sprintf("writing %s: %v", j.rel(path), err))
	}
	return path, fi, string(dst.head), nil
}

// create makes a new staging file (stagingName) in the target folder.
func (j *job) create(name string, mode os.FileMode) (*os.File, string, error) {
	for range 100 {
		path := filepath.Join(j.t.dir, stagingName(name, j.st.pid(), j.st.random()))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", j.fail(err, nil, fmt.Sprintf("cannot create a staging file in %s: %v", j.t.rel, err))
		}
		j.temps = append(j.temps, path)
		return f, path, nil
	}
	return nil, "", j.fail(fs.ErrExist, nil, fmt.Sprintf("cannot find a free staging file name in %s", j.t.rel))
}

// probe reads the staged library's kind and checks it against the manifest and
// the kinds already provided. It returns the registered kind.
func (j *job) probe(ctx context.Context, staged string, m *manifest.Manifest) (string, error) {
	if j.opts.Prober == nil {
		return "", j.fail(ErrInvalid, nil, "no prober to read the library with")
	}
	if j.opts.Provided == nil {
		return "", j.fail(ErrInvalid, nil, "no way to tell which kinds are already provided")
	}
	meta, err := j.opts.Prober.Probe(ctx, staged)
	if cerr := ctx.Err(); cerr != nil {
		return "", j.fail(cerr, nil, fmt.Sprintf("probing the library: %v", cerr))
	}
	if err != nil {
		p := state.ProbeProblem(staged, err)
		return "", j.fail(ErrInvalid, err, fmt.Sprintf("not a valid plugin: %s: %s", p.Code, p.Message))
	}
	k, err := manifest.NormalizeKind(meta.Kind)
	if err != nil {
		return "", j.fail(ErrInvalid, err, fmt.Sprintf("not a valid plugin: %s: %v; fix the kind its get_metadata returns", state.InvalidKind, err))
	}
	kind := layout.KindPrefix + k
	if m != nil {
		if mk, _ := manifest.NormalizeKind(m.NodeKind); mk != k {
			return "", j.fail(ErrInvalid, nil, fmt.Sprintf("the manifest's node_kind %q is not the kind the library reports, %s; fix node_kind", m.NodeKind, kind))
		}
	}
	provided, err := j.opts.Provided(ctx)
	if err != nil {
		return "", j.fail(err, nil, fmt.Sprintf("cannot tell which kinds are already provided: %v", err))
	}
	if lib, ok := provided[kind]; ok {
		return "", j.fail(ErrKindProvided, nil, fmt.Sprintf("kind %s is already provided by %s; remove that plugin first", kind, j.rel(lib)))
	}
	return kind, nil
}

// place moves a staged file to its final path, which must not exist. For the
// library it first checks the folder again: an install of another name into the
// same folder may have landed meanwhile.
func (j *job) place(staged, final string, fi fs.FileInfo) error {
	if final == j.t.path && !j.t.wasm {
		if name, err := occupant(j.t.dir); err != nil {
			return j.fail(err, nil, fmt.Sprintf("cannot read %s: %v", j.t.rel, err))
		} else if name != "" {
			return j.fail(ErrOccupied, nil, fmt.Sprintf("%s received %s meanwhile; remove that plugin first, or install under another name", j.t.rel, name))
		}
	}
	if err := j.st.move(staged, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return j.fail(ErrOccupied, err, fmt.Sprintf("%s appeared meanwhile; it was left alone", j.rel(final)))
		}
		return j.fail(err, nil, fmt.Sprintf("cannot move the staged file to %s: %v", j.rel(final), err))
	}
	j.temps = remove(j.temps, staged)
	j.placed = append(j.placed, placed{final, fi})
	return nil
}

// undo removes what the install created, newest first: files it moved into place
// (only while they are still the same file), staging files, then the folders it
// made, which are removed only when empty.
func (j *job) undo() {
	for i := len(j.placed) - 1; i >= 0; i-- {
		p := j.placed[i]
		if fi, err := os.Lstat(p.path); err == nil && os.SameFile(fi, p.fi) {
			os.Remove(p.path)
		}
	}
	for _, t := range j.temps {
		os.Remove(t)
	}
	for i := len(j.folders) - 1; i >= 0; i-- {
		os.Remove(j.folders[i]) // fails, as it should, when the folder is not empty
	}
}

// rel shows a path relative to the root when it lies below it.
func (j *job) rel(path string) string { return relTo(j.opts.Root, path) }

func relTo(root, path string) string {
	absRoot, err1 := filepath.Abs(root)
	absPath, err2 := filepath.Abs(path)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(absRoot, absPath); err == nil && filepath.IsLocal(r) {
			return r
		}
	}
	return path
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// bodyReader reads the body to install, remembering its error (to tell it from a
// write error) and stopping when ctx is done.
type bodyReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return 0, err
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// headWriter writes through to w and keeps the first four bytes.
type headWriter struct {
	w    io.Writer
	head []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	if k := min(len(p), len(wasmMagic)-len(h.head)); k > 0 {
		h.head = append(h.head, p[:k]...)
	}
	return h.w.Write(p)
}
