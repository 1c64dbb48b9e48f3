package reconcile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// claim is one record or bundle library that wants to provide a kind. The disk
// reader fills in where it comes from, resolve where its library is, and the prober
// what the library reports; decide then picks the winners.
type claim struct {
	Source   state.Source
	ID       string
	Version  string
	Manifest string // the record or manifest; "" for a bundle without one
	Library  string // the user's path to the library
	NodeKind string // normalised kind the record or manifest names; "" when none
	Wasm     bool

	Resolved string         // Library after symlinks
	Identity Identity       // of Resolved
	Fail     *state.Problem // why it claims nothing before probing (missing_library, outside_root)

	Meta     *native.Metadata
	Smoke    *state.Smoke // its smoke test, under --smoke
	ProbeErr error

	// Origin identifies where the claim comes from across passes: the record for a
	// record, the bundle folder for a bundle. A changed library from the same origin
	// is a reload (docs/http-api.md: "the same kind from the same record or folder").
	Origin string
	// Young: the claim's record, manifest or folder was modified within the quiet
	// period, so a failure to resolve it is not judged yet. LibYoung: likewise for
	// a failure to probe its library.
	Young, LibYoung bool
	// Rewriting: the library replaced one seen before within the quiet period (a
	// linker or cp writing it in place): it is not judged, nor probed, until quiet,
	// so a rebuild is one change however the tool writes it.
	Rewriting bool

	resolved bool // resolve ran
	plain    bool // Library is a plain file (no symlink on the way) of its bundle folder

	kindOf     *native.Metadata // the probe result kind, kindErr and registered were worked out for
	kind       string           // normalised, as the library reports it
	registered string           // KindPrefix + kind
	mismatch   bool             // the record or manifest names another kind
	kindErr    error
	linkDir    string // a dangling symlink's target folder, watched for the target to come back

	rank   rank   // its place in claim order
	rule   ruling // the ruling of the book it is in
	booked *book  // that book, or nil
}

// diskReader reads the plugins root into claims and problems. It never probes a
// library; it reads directories, records and manifests and stats files.
type diskReader struct {
	l        rootPaths
	readDir  func(string) ([]fs.DirEntry, error)
	files    *fileCache
	claims   []*claim        // of the bundle folder being read
	problems []state.Problem // of records and the layout's folders; a unit keeps its own

	// Under run, files modified less than quiet before now are not judged yet
	// (docs/desired-state.md): their failures go to pending instead of problems.
	now     time.Time
	quiet   time.Duration
	pending map[string]bool // origins (records, bundle folders, libraries) not judged yet
	retry   time.Time       // when the earliest of them will have been quiet long enough

	// infos holds what the pass already knows of paths that are no symlinks (their
	// Stat is their Lstat), so that a pass over an unchanged root makes few calls.
	infos map[string]fs.FileInfo
	stats map[string]fs.FileInfo // os.Stat of folders and manifests, once a pass

	// prev holds the entries of native/ the last pass found, sorted by name (nil
	// before the first); dirty, when not nil, holds the entries events came from
	// since (nil: every entry is read); unsettled the names of the entries every
	// such pass reads again, and recheck those this one looks up again
	// (Scanner.waitingNow). entries is this
	// pass's (on such a pass, prev changed in place); active the claims whose
	// library the probe stage must look up (see Scanner.desired), and dropped and
	// gone the claims and units of the last pass's that this pass replaced or lost.
	hint        bool // a pass asked for by events, after a full one
	prev        []nativeEntry
	dirty       map[string]bool
	unsettled   []string
	recheck     []string
	reread      map[string]bool // the names of native/ read again
	entries     []nativeEntry
	active      []*claim
	fresh       []*claim // the claims of the units read this pass
	units       []*unit  // the units read this pass
	records     []*claim // the claims of records
	recordPaths []string // every record, parsed or not
	looked      []*unit  // the units whose claims are active
	dropped     []*claim
	gone        []*unit
	// reusable: a full pass may take unchanged bundle folders as they were (the
	// root's and native/'s permissions did not change since the last full pass).
	reusable bool
	// kept: the Scanner keeps the last pass's book, and changes it by what this
	// pass read again (every pass but the first): a full pass then says what
	// changed as a pass asked for by events does (compare).
	kept bool

	warm   *warm         // what was read ahead of the bundle folder being read, or nil
	origin string        // the record or bundle folder being read; stamped on its problems
	seen   *observations // when plugwatch saw each file's identity change
	first  bool          // the first pass: no file has been seen changing yet
}

// young reports whether path changed within the quiet period, and if so makes sure
// a pass runs once it has been quiet long enough.
func (r *diskReader) young(path string) bool {
	young, _ := r.changing(path)
	return young
}

// changing is young, and also reports whether the change replaced a file seen
// before (a library rebuilt or copied over in place, rather than one moved in).
func (r *diskReader) changing(path string) (young, replaced bool) {
	if r.quiet <= 0 {
		return false, false
	}
	fi, ok := r.infos[path]
	if !ok {
		var err error
		if fi, err = os.Lstat(path); err != nil {
			return false, false
		}
	}
	return r.youngReplaced(path, fi)
}

// youngInfo is young for a file already statted. A file is young when plugwatch saw
// its identity change (or the file appear) less than the quiet period ago; its
// modification time is never compared with the clock, so a future mtime or clock
// skew cannot hold it back. Files there at the first pass are not young.
func (r *diskReader) youngInfo(path string, fi fs.FileInfo) bool {
	young, _ := r.youngReplaced(path, fi)
	return young
}

func (r *diskReader) youngReplaced(path string, fi fs.FileInfo) (young, replaced bool) {
	return r.youngIdentity(path, identityOf(fi))
}

func (r *diskReader) youngIdentity(path string, id Identity) (young, replaced bool) {
	if r.quiet <= 0 {
		return false, false
	}
	at, replaced := r.seen.changed(path, id, r.now, r.first)
	ready := at.Add(r.quiet)
	if !ready.After(r.now) {
		return false, false
	}
	if r.retry.IsZero() || ready.Before(r.retry) {
		r.retry = ready
	}
	return true, replaced
}

func (r *diskReader) defer_(origin string) {
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
	r.pending[origin] = true
}

func (r *diskReader) add(p state.Problem) {
	p.Origin = r.origin
	r.problems = append(r.problems, p)
}

// dir reads a folder below the root. A folder that does not exist is empty; one that
// cannot be read is reported as unreadable.
func (r *diskReader) dir(path string) ([]fs.DirEntry, bool) {
	var entries []fs.DirEntry
	var err error
	if w := r.ahead(path); w != nil {
		entries, err = w.entries, w.listErr
	} else {
		entries, err = r.readDir(path)
	}
	if err == nil {
		return entries, true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		r.add(problem(path, state.Unreadable, state.Error, fmt.Sprintf(
			"cannot read folder: %v; give plugwatch read access to it (chmod u+rx) or move it out of the plugins root", cause(err))))
	}
	return nil, false
}

// read reads the whole root: active records in sorted file-name order, then the
// bundles of native/ in folder-name order.
func (r *diskReader) read() {
	r.readRecords()
	r.readNative()
}

func (r *diskReader) readRecords() {
	dir := filepath.Join(r.l.Root, "active")
	entries, _ := r.dir(dir)
	for _, e := range entries {
		name := e.Name()
		if layout.Ignored(name) || !strings.HasSuffix(name, ".json") || !isFile(dir, e) {
			continue
		}
		path := filepath.Join(dir, name)
		r.origin = path
		r.recordPaths = append(r.recordPaths, path)
		rec, err := r.files.record(path, nil)
		if err != nil && r.young(path) {
			r.defer_(path) // perhaps still being written
			continue
		}
		if err != nil {
			r.add(problem(path, state.BadRecord, state.Error, message(err)))
			continue
		}
		lib := rec.Entrypoint
		if !filepath.IsAbs(lib) {
			lib = filepath.Join(r.l.Workdir, lib)
		}
		kind, _ := manifest.NormalizeKind(rec.NodeKind)
		c := &claim{
			Source: state.SourceActive, ID: rec.PluginID, Version: rec.Version,
			Manifest: path, Library: filepath.Clean(lib), NodeKind: kind,
			Wasm: rec.Kind == "wasm", Origin: path, Young: r.young(path),
			rank: rank{name: name},
		}
		r.active = append(r.active, c) // records are read again on every pass
		r.records = append(r.records, c)
	}
	r.origin = ""
}

// readBundle reads one directory bundle, native/<id>/ (docs/formats.md).
func (r *diskReader) readBundle(dir string) {
	r.origin = dir
	defer func() { r.origin = "" }()
	entries, ok := r.dir(dir)
	if !ok {
		return
	}
	libs, files := r.bundleFiles(dir, entries)
	tried := false
	for _, name := range manifestCandidates(libs) {
		if !files[name] {
			continue
		}
		tried = true
		path := filepath.Join(dir, name)
		m, err := r.files.manifest(path, r.infos[path])
		if err != nil && r.young(path) {
			r.defer_(dir) // perhaps still being written
			return
		}
		if errors.Is(err, manifest.ErrEscapes) {
			// A manifest whose entrypoint leaves the bundle folder is the folder's
			// manifest: it names a library that must never be opened.
			r.add(problem(path, state.OutsideRoot, state.Error, message(err)+
				"; to load a library kept elsewhere, symlink it into the bundle folder and run plugwatch with --trust naming the folder it is in"))
			return
		}
		if err != nil {
			r.add(problem(path, state.BadManifest, state.Error, message(err)))
			continue
		}
		kind, _ := manifest.NormalizeKind(m.NodeKind)
		lib := filepath.Join(dir, filepath.Clean(m.Entrypoint))
		r.claims = append(r.claims, &claim{
			Source: state.SourceDirectory, ID: m.ID, Version: m.Version, Manifest: path,
			Library: lib, NodeKind: kind, Wasm: m.Kind == "wasm",
			Origin: dir, Young: r.young(path),
		})
		return
	}
	if tried || len(libs) == 0 {
		return // every manifest is invalid, or this is not a bundle
	}
	r.noManifest(dir, libs)
}

// manifestCandidates returns the names a bundle folder's manifest may have, in the
// order they are tried, given the names of its libraries.
func manifestCandidates(libs []string) []string {
	candidates := []string{"plugin.yml", "plugin.yaml"}
	for _, lib := range libs {
		stem := layout.Stem(lib)
		candidates = append(candidates, stem+".plugin.yml", stem+".plugin.yaml")
	}
	return candidates
}

// bundleFiles returns the library names among a bundle folder's entries (those that
// are no regular file too: they are missing libraries) and the names of its regular
// files; it remembers the entries of a plain folder in r.infos.
func (r *diskReader) bundleFiles(dir string, entries []fs.DirEntry) (libs []string, files map[string]bool) {
	stat := func(name string) (fs.FileInfo, error) { return os.Stat(filepath.Join(dir, name)) }
	if w := r.ahead(dir); w != nil {
		stat = w.stat
	}
	return classify(entries, func(e fs.DirEntry) (fs.FileInfo, error) {
		fi, err := stat(e.Name())
		if err == nil && e.Type()&fs.ModeSymlink == 0 && r.infos[dir] != nil {
			r.infos[filepath.Join(dir, e.Name())] = fi // a plain entry of a plain folder
		}
		return fi, err
	})
}

// classify sorts a bundle folder's entries, statted by stat (which follows
// symlinks), into libraries and regular files, as bundleFiles says.
func classify(entries []fs.DirEntry, stat func(fs.DirEntry) (fs.FileInfo, error)) (libs []string, files map[string]bool) {
	files = map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if layout.Ignored(name) {
			continue
		}
		fi, err := stat(e)
		switch {
		case (err != nil || !fi.Mode().IsRegular()) && layout.IsLibraryName(name):
			// A dangling symlink or loop, a FIFO, a device or a folder: missing_library.
			libs = append(libs, name)
		case err != nil || !fi.Mode().IsRegular():
		case layout.IsLibraryName(name):
			libs = append(libs, name)
			files[name] = true
		default:
			files[name] = true
		}
	}
	return libs, files
}

// noManifest claims each library of a bundle folder that has no manifest file at all
// under the folder's name, with a no_manifest warning, once its libraries are quiet.
func (r *diskReader) noManifest(dir string, libs []string) {
	// cp -r writes the library before plugin.yml: a folder without a manifest whose
	// libraries are still changing is not judged yet. (Not the folder's own time:
	// plugwatch's private copies change it.)
	young := false
	for _, lib := range libs {
		young = r.young(filepath.Join(dir, lib)) || young
	}
	if young {
		r.defer_(dir)
		return
	}
	r.add(problem(dir, state.NoManifest, state.Warn,
		"bundle folder has no plugin.yml; each library in it loads under the kind it reports, with the folder name as id and no version; add a plugin.yml naming the entrypoint"))
	id := filepath.Base(dir)
	for _, lib := range libs {
		path := filepath.Join(dir, lib)
		r.claims = append(r.claims, &claim{Source: state.SourceDirectory, ID: id, Library: path, Origin: dir})
	}
}

// resolve follows the claim's library through symlinks, checks containment (docs/root-layout.md)
// and records the file's identity; a failure is kept in c.Fail.
func (r *diskReader) resolve(c *claim) {
	if c.Wasm || c.resolved {
		return
	}
	c.resolved = true
	at := c.Manifest
	if at == "" {
		at = c.Library
	}
	if fi := r.infos[c.Library]; fi != nil && fi.Mode().IsRegular() {
		// A plain file in a plain bundle folder: no symlink to follow.
		rel, _ := filepath.Rel(r.l.Root, c.Library)
		c.Resolved = filepath.Join(r.l.RealRoot, rel)
		c.Identity = identityOf(fi)
		c.plain = true
		c.LibYoung, c.Rewriting = r.youngReplaced(c.Library, fi)
		r.checkPermissions(c, fi)
		r.addHelpers(c, fi)
		return
	}
	real, err := filepath.EvalSymlinks(c.Library)
	if err != nil {
		c.linkDir = danglingDir(c.Library)
		what := "does not exist"
		if !errors.Is(err, fs.ErrNotExist) {
			what = fmt.Sprintf("cannot be resolved (%v)", cause(err))
		}
		p := problem(at, state.MissingLibrary, state.Error, fmt.Sprintf(
			"library %s %s; build or copy it there, or fix the entrypoint", c.Library, what))
		c.Fail = &p
		return
	}
	if !r.l.contains(real) {
		fix := "to load it from there, run plugwatch with --trust " + filepath.Dir(real)
		if systemPath(real) {
			fix = "a library there is never loaded; point the entrypoint at a library file"
		}
		p := problem(at, state.OutsideRoot, state.Error, fmt.Sprintf(
			"library %s resolves to %s, outside the plugins root %s; %s", c.Library, real, r.l.RealRoot, fix))
		c.Fail = &p
		return
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		p := problem(at, state.MissingLibrary, state.Error, fmt.Sprintf(
			"library %s is not a regular file; build or copy the library there, or fix the entrypoint", c.Library))
		c.Fail = &p
		return
	}
	c.Resolved = real
	c.Identity = identityOf(fi)
	y1, w1 := r.changing(real)
	y2, w2 := r.changing(c.Library)
	c.LibYoung, c.Rewriting = y1 || y2, w1 || w2
	r.checkPermissions(c, fi)
	r.addHelpers(c, fi)
}

// addHelpers adds the helper libraries the claim's library loads from its folder
// (helpers.go) to its identity; a helper changed within the quiet period makes the
// library young, one rewritten in place makes it Rewriting.
func (r *diskReader) addHelpers(c *claim, fi fs.FileInfo) {
	dir := filepath.Dir(c.Library) // $ORIGIN: the folder of the path it is loaded by
	hs := originHelpers(c.Resolved, dir, func(path string) elfDeps {
		if path == c.Resolved {
			return r.files.deps(path, fi)
		}
		return r.files.deps(path, nil)
	})
	if hs == nil {
		return
	}
	c.Identity.Helpers = helperKey(hs)
	for _, h := range hs {
		young, replaced := r.youngIdentity(filepath.Join(dir, h.name), h.id)
		c.LibYoung, c.Rewriting = c.LibYoung || young, c.Rewriting || replaced
	}
}

// isFile reports whether a directory entry is a regular file or a symlink to one.
func isFile(dir string, e fs.DirEntry) bool {
	if e.Type().IsRegular() {
		return true
	}
	fi, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && fi.Mode().IsRegular()
}

// message is an error's text without the path it starts with: the problem carries
// the path already.
func message(err error) string {
	var me *manifest.Error
	if errors.As(err, &me) {
		return me.Text()
	}
	return err.Error()
}

// cause strips an *fs.PathError down to its cause.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
