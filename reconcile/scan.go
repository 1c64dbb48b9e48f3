package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// Options says where the plugins are and how to judge them. The zero value of every
// field but Root has a default.
type Options struct {
	// Root is the plugins root (docs/root-layout.md). Relative paths are made absolute once, when
	// the Scanner is made.
	Root string
	// Workdir is StreamKit's working directory, against which relative record
	// entrypoints resolve; "" means the parent of Root as given.
	Workdir string
	// Trust names folders outside the root that libraries may resolve into.
	Trust []string
	// ABI is the accepted API version range; the zero value means native.DefaultRange.
	ABI native.Range
	// Prober reads libraries' metadata; nil means InProcess(ABI).
	Prober Prober
	// Smoker, when set, tries every library that passed its probe before it is
	// opened (run --smoke, scan --smoke); see Smoker.
	Smoker Smoker
	// Quiet is the quiet period of run (its --debounce): a record, manifest, folder
	// or library modified less than Quiet ago that fails is not judged yet (docs/desired-state.md)
	// but listed in Desired.Pending. Zero, as for scan, judges every file at once.
	Quiet time.Duration
}

// RootError reports a plugins root that cannot be scanned at all: it does not exist,
// is not a folder, or cannot be read.
type RootError struct {
	Path string // the root as given
	Err  error  // fs.ErrNotExist, the error of reading it, or one for a root that is not a folder
}

// Error says what is wrong with the root and what to do.
func (e *RootError) Error() string {
	switch {
	case errors.Is(e.Err, fs.ErrNotExist):
		return fmt.Sprintf("plugins root %s does not exist; create it, or name another with --root or $PLUGWATCH_ROOT", e.Path)
	case errors.Is(e.Err, errNotDir):
		return fmt.Sprintf("plugins root %s is not a folder; name a folder with --root or $PLUGWATCH_ROOT", e.Path)
	default:
		return fmt.Sprintf("plugins root %s cannot be read: %v; give plugwatch read access to it", e.Path, cause(e.Err))
	}
}

// Unwrap returns e.Err.
func (e *RootError) Unwrap() error { return e.Err }

var errNotDir = errors.New("not a directory")

// Scanner computes the desired state of a plugins root. It caches probe results by
// file identity, so computing it again over an unchanged disk opens no library.
// A Scanner is not safe for concurrent use: one pass at a time.
type Scanner struct {
	root, workdir string
	trust         []string
	stage         *stage
	files         *fileCache
	seen          *observations
	passes        int
	entries       []nativeEntry         // of native/, as the last pass found them, sorted by name
	refs          map[Identity]int      // how many claims of entries hold each library identity
	records       []*claim              // the claims of records the last pass read
	book          *book                 // the desired state, kept from pass to pass
	unsettled     map[string]bool       // names of native/ a hint pass reads again (unit.settled)
	waiting       map[string]bool       // names of native/ whose units wait for a probe (unit.waiting)
	holds         map[string][]Identity // names of native/ and the library identities their claims hold
	holders       map[Identity][]string // those names by identity
	recordPaths   []string              // the records the last pass found, parsed or not
	modes         [2]fs.FileMode        // of the root and native/ at the last full pass
	quiet         time.Duration
	now           func() time.Time                    // a seam for tests
	readDir       func(string) ([]fs.DirEntry, error) // a seam for tests
}

// NewScanner returns a Scanner for opts. It fails only when a path cannot be made
// absolute.
func NewScanner(opts Options) (*Scanner, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	workdir := opts.Workdir
	if workdir == "" {
		workdir = filepath.Dir(root)
	}
	if workdir, err = filepath.Abs(workdir); err != nil {
		return nil, err
	}
	var trust []string
	for _, t := range opts.Trust {
		abs, err := filepath.Abs(t)
		if err != nil {
			return nil, err
		}
		trust = append(trust, abs)
	}
	abi := opts.ABI
	if abi == (native.Range{}) {
		abi = native.DefaultRange()
	}
	p := opts.Prober
	if p == nil {
		p = InProcess(abi)
	}
	return &Scanner{
		root: root, workdir: workdir, trust: trust,
		stage:   newStage(p, opts.Smoker, &copier{pid: os.Getpid()}, slog.New(slog.DiscardHandler)),
		files:   newFileCache(),
		seen:    newObservations(),
		readDir: os.ReadDir,
		quiet:   opts.Quiet,
		now:     time.Now,
	}, nil
}

// Root returns the absolute plugins root.
func (s *Scanner) Root() string { return s.root }

// Close stops the probes in flight and removes their private copies. A Scanner is
// not used after Close.
func (s *Scanner) Close() { s.stage.close() }

// Desired reads the disk and computes the desired state (docs/desired-state.md), waiting for the
// probes of the libraries it finds. Every problem of a record, bundle or library is
// in the result; the error is non-nil only when the root itself cannot be scanned
// (*RootError), no library could be probed (the probe helper could not start), or
// ctx ended.
func (s *Scanner) Desired(ctx context.Context) (*Desired, error) {
	return s.settle(ctx, func() (*Desired, error) { return s.desired(nil) })
}

// settle runs pass until no claim waits for a probe.
func (s *Scanner) settle(ctx context.Context, pass func() (*Desired, error)) (*Desired, error) {
	for {
		d, err := pass()
		if err != nil || d.Probing == 0 {
			if d != nil {
				d.complete()
			}
			return d, err
		}
		select {
		case <-s.stage.C():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := s.stage.Cause(); err != nil {
			return nil, fmt.Errorf("cannot probe the libraries: %w", err)
		}
		pass = func() (*Desired, error) { return s.hint(nil) }
	}
}

// DesiredHint is Desired for a pass asked for by events at paths: it reads again the
// records, the listing of native/ and the bundle folders the paths lie in (and those
// left to be judged later), and takes the other bundle folders as the last pass found
// them. A path anywhere else (the root, native/ itself, bundles/, a folder outside the
// root) makes it read everything, as Desired does. The paths are hints of where to
// look, never a description of what changed: what is read is read from the disk.
func (s *Scanner) DesiredHint(ctx context.Context, paths []string) (*Desired, error) {
	return s.settle(ctx, func() (*Desired, error) { return s.hint(paths) })
}

// hint is one pass of DesiredHint that waits for no probe.
func (s *Scanner) hint(paths []string) (*Desired, error) {
	dirty, ok := s.dirtyBundles(paths)
	if !ok {
		return s.desired(nil)
	}
	return s.desired(dirty)
}

// dirtyBundles maps event paths to the bundle folders they lie in; false when a
// path lies elsewhere than a bundle folder or active/.
func (s *Scanner) dirtyBundles(paths []string) (map[string]bool, bool) {
	native, active := filepath.Join(s.root, "native"), filepath.Join(s.root, "active")
	dirty := map[string]bool{}
	for _, p := range paths {
		if within(p, native) && p != native {
			rel, _ := filepath.Rel(native, p)
			first, _, _ := strings.Cut(rel, string(filepath.Separator))
			dir := filepath.Join(native, first)
			if _, err := os.Lstat(dir); err != nil && rel != first {
				// An event from inside a folder that is gone: it was renamed, and the
				// kernel may go on naming its events by the old name. Read everything.
				return nil, false
			}
			dirty[dir] = true
			continue
		}
		if within(p, active) && p != active {
			continue // records are read again on every pass
		}
		return nil, false
	}
	return dirty, true
}

// desired is one pass: it reads the disk (when dirty is not nil, the entries of
// native/ not in it are taken as the last pass found them; when it is nil, those
// whose files did not change), looks up in the probe stage without waiting what it
// read, and decides again what that changed (everything, on the first pass). Claims
// whose probe is still running are pending; the stage asks for another pass when
// results arrive.
func (s *Scanner) desired(dirty map[string]bool) (*Desired, error) {
	l, err := s.paths()
	if err != nil {
		s.entries, s.book = nil, nil // read whole when it is back
		return nil, err
	}
	first := s.book == nil // no pass read everything yet, or the root was gone
	if first {
		dirty = nil
	}
	full := dirty == nil
	if full {
		s.stage.retryTransient() // before waitingNow, which then names their holders
	}
	r := &diskReader{
		l: l, readDir: s.readDir, files: s.files, now: s.now(), quiet: s.quiet,
		infos: map[string]fs.FileInfo{}, stats: map[string]fs.FileInfo{},
		prev: s.entries, dirty: dirty, seen: s.seen, first: s.passes == 0,
		unsettled: slices.Collect(maps.Keys(s.unsettled)), recheck: s.waitingNow(),
		reread: map[string]bool{}, hint: !full, kept: !first,
	}
	if full {
		// Whoever can write the root or native/ could change any plugin
		// (checkPermissions): when their permissions changed, no folder is taken
		// as it was.
		modes := [2]fs.FileMode{folderMode(l.RealRoot), folderMode(filepath.Join(l.RealRoot, "native"))}
		r.reusable = modes == s.modes
		s.modes = modes
	}
	s.passes++
	r.read()
	if full {
		// Only a pass that read everything knows which files are gone.
		s.files.sweep()
		s.seen.sweep()
	}
	for _, c := range r.records {
		r.resolve(c)
	}
	s.entries = r.entries
	records := s.records
	s.lookUp(r, first)
	var d *Desired
	if first {
		d = s.makeBook(r)
	} else {
		d = s.update(r, records)
	}
	d.Retry = r.retry
	d.Unjudged = s.stage.Cause()
	return d, nil
}

// folderMode is the mode of the folder at path, 0 when it cannot be statted.
func folderMode(path string) fs.FileMode {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Mode()
}

func (s *Scanner) paths() (rootPaths, error) {
	fi, err := os.Stat(s.root)
	if err == nil && !fi.IsDir() {
		err = errNotDir
	}
	if err == nil {
		_, err = s.readDir(s.root)
	}
	if err != nil {
		return rootPaths{}, &RootError{Path: s.root, Err: err}
	}
	real, err := filepath.EvalSymlinks(s.root)
	if err != nil {
		return rootPaths{}, &RootError{Path: s.root, Err: err}
	}
	l := rootPaths{Root: s.root, Workdir: s.workdir, RealRoot: real}
	for _, t := range s.trust {
		if rt, err := filepath.EvalSymlinks(t); err == nil {
			l.Trust = append(l.Trust, rt)
		}
	}
	return l, nil
}

// display shows a path relative to the root's parent when it lies below it
// (".plugins/native/gain/libgain.so"), else whole.
func (s *Scanner) display(path string) string {
	parent := filepath.Dir(s.root)
	if rel, err := filepath.Rel(parent, path); err == nil && filepath.IsLocal(rel) && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// State renders d as the state document of docs/state.md, with every plugin loaded at at.
func (d *Desired) State(root string, generation uint64, at time.Time) *state.State {
	st := &state.State{Root: root, Generation: generation, ReconciledAt: state.Time{Time: at}}
	for _, w := range d.Plugins {
		p := w.Plugin
		p.LoadedAt = state.Time{Time: at}
		st.Plugins = append(st.Plugins, p)
	}
	st.Skipped = append(st.Skipped, d.Skipped...)
	st.Problems = append(st.Problems, d.Problems...)
	st.Sort()
	return st
}

// LibrariesOf returns the libraries that the last pass found claimed for the plugin
// id (by records and bundles, whatever their verdict: one that failed its probe
// too), in claim order.
func (s *Scanner) LibrariesOf(id string) []string {
	var libs []string
	for _, c := range s.records {
		if c.ID == id && !c.Wasm {
			libs = append(libs, c.Library)
		}
	}
	for _, e := range s.entries {
		if e.u == nil {
			continue
		}
		for _, c := range e.u.claims {
			if c.ID == id && !c.Wasm {
				libs = append(libs, c.Library)
			}
		}
	}
	return libs
}

// Scan computes the desired state of opts.Root once and returns it as the state
// document `plugwatch scan` prints: generation 1, every plugin "loaded" now.
func Scan(ctx context.Context, opts Options) (*state.State, error) {
	s, err := NewScanner(opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	d, err := s.Desired(ctx)
	if err != nil {
		return nil, err
	}
	return d.State(s.root, 1, time.Now()), nil
}
