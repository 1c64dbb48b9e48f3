package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// ControllerOptions configures a Controller. The zero value of every field but
// Options.Root has a default.
type ControllerOptions struct {
	Options
	// Logger receives one line per load, reload, unload, skip, problem and
	// resolution; nil discards them.
	Logger *slog.Logger
	// Host is told of every load, reload and unload; nil means nobody.
	Host Host
	// OpenTimeout limits opening a library in this process after it passed its
	// probe (default 5s): an open that does not return in time is crashed.
	OpenTimeout time.Duration
}

// Controller keeps the set of plugins loaded in this process equal to the desired
// state of the disk. It is level-triggered: a pass takes no description of what
// changed; it reads the disk again and drives the loaded set towards what it finds.
//
// Libraries are probed and opened off the pass, in a stage of their own: a pass
// uses the results it has, leaves a record or folder whose library is still being
// probed as it was, and LookAgain receives a value when new results wait for a pass.
//
// Reconcile, Step and Close must be called from one goroutine at a time; State,
// Subscribe and LookAgain may be called from any goroutine.
type Controller struct {
	scan *Scanner
	log  *slog.Logger
	host Host

	loaded    map[string]*LoadedPlugin   // by kind
	byOrigin  map[string][]*LoadedPlugin // the loaded plugins by origin
	gone      map[string]time.Time       // origins of loaded plugins whose files went, since when
	gen       uint64
	retry     time.Time
	probing   int
	unjudged  error
	watch     []string // Desired.Watch of the last pass
	watchDirs []string // WatchDirs of generation watchGen
	watchGen  uint64
	journal   *journal
	opening   map[string]bool        // kinds whose want's library is being opened off the pass
	unloading map[*LoadedPlugin]bool // unloaded by a pass and maybe not closed yet: Close waits for them
	held      map[string]bool        // kinds whose loaded plugin the last pass kept without wanting it
	dirs      map[string]int         // how many loaded plugins each of their pluginDirs holds
	last      *state.State           // the last pass's document, without its Plugins (State publishes it once the first reconcile finished)

	mu      sync.Mutex
	state   *state.State    // the published document; its Plugins are made when State is called
	plugins documentPlugins // the plugins of the last pass's document
	subs    map[*subscriber]struct{}
}

// NewController returns a Controller for opts, and removes the private copies that
// plugwatch processes no longer running left below the root.
func NewController(opts ControllerOptions) (*Controller, error) {
	if opts.ABI == (native.Range{}) {
		opts.ABI = native.DefaultRange()
	}
	s, err := NewScanner(opts.Options)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abi := opts.ABI
	s.stage.open = func(path string) (*native.Library, error) { return native.Open(path, abi) }
	s.stage.log = log
	if opts.OpenTimeout > 0 {
		s.stage.timeout = opts.OpenTimeout
	}
	j := openJournal(s.root, os.Getpid())
	s.stage.copies.j = j
	rec := recoverJournals(s.root, os.Getpid(), j, log)
	s.stage.seed(rec.blamed, rec.suspects)
	if n := rec.removed + removeLeftovers(s.root) + removeMirrors(); n > 0 {
		log.Info("removed private copies left by earlier runs", "count", n, "path", s.root)
	}
	return &Controller{
		scan: s, log: log, host: opts.Host, journal: j,
		loaded: map[string]*LoadedPlugin{}, byOrigin: map[string][]*LoadedPlugin{}, gone: map[string]time.Time{}, opening: map[string]bool{}, unloading: map[*LoadedPlugin]bool{}, held: map[string]bool{}, dirs: map[string]int{}, subs: map[*subscriber]struct{}{},
	}, nil
}

// Root returns the absolute plugins root.
func (c *Controller) Root() string { return c.scan.root }

// State returns the current state document, or nil before the first reconcile
// finished (every library it found probed).
// The caller may keep it: it is never changed afterwards.
func (c *Controller) State() *state.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != nil && c.state.Plugins == nil {
		c.state.Plugins = c.plugins.sorted() // the document of the last pass: c.plugins holds its plugins
	}
	return c.state
}

// RetryAt is when the files the last pass did not judge yet (changed within the
// quiet period, or gone within it) should be looked at again; zero when there are
// none.
func (c *Controller) RetryAt() time.Time { return c.retry }

// LookAgain receives a value when probes finished whose results no pass has used
// yet: a Step then applies them.
func (c *Controller) LookAgain() <-chan struct{} { return c.scan.stage.C() }

// Probing returns how many records and folders the last pass left waiting for their
// library's probe or open.
func (c *Controller) Probing() int { return c.probing }

// Hint says what a Step reads again: everything (Full), or only the records and
// the bundle folders the paths of file events lie in. Rescan marks a requested full
// rescan (SIGHUP), which counts as a new generation even when nothing changed.
type Hint struct {
	Full, Rescan bool
	Paths        []string
}

// Step is one pass: it reads the disk (as h says), uses the probe results it has,
// and loads, reloads and unloads plugins towards the desired state. It never waits
// for a probe. It returns the pass's events: the published ones (the passes of the
// first reconcile return none until the one that ends it returns what generation 1
// holds, as changes from nothing). Problems with files are never errors:
// they are in the state. The error is ctx's when ctx ended; the pass then changed
// nothing. A root that has gone is an empty root: everything is unloaded.
func (c *Controller) Step(ctx context.Context, h Hint) ([]state.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h.Full || h.Rescan {
		return c.reconcile(h.Rescan, func() (*Desired, error) { return c.scan.desired(nil) })
	}
	// The origins whose files went within the quiet period are read again too: a
	// pass at the end of their grace must see what is there now.
	paths := h.Paths
	for origin := range c.gone {
		paths = append(paths, origin)
	}
	return c.reconcile(false, func() (*Desired, error) { return c.scan.hint(paths) })
}

// Reconcile reads the whole disk and drives the loaded set towards it, making
// passes until no library waits for its probe (or ctx ends), and returns the events
// of all of them (for the first reconcile, generation 1's; see Step).
func (c *Controller) Reconcile(ctx context.Context, rescan bool) ([]state.Event, error) {
	return c.settle(ctx, Hint{Full: true, Rescan: rescan})
}

// ReconcileHint is Reconcile for a pass asked for by events at paths: only the
// bundle folders the paths lie in are read again (see Scanner.DesiredHint).
func (c *Controller) ReconcileHint(ctx context.Context, paths []string) ([]state.Event, error) {
	return c.settle(ctx, Hint{Paths: paths})
}

func (c *Controller) settle(ctx context.Context, h Hint) ([]state.Event, error) {
	var all []state.Event
	for {
		events, err := c.Step(ctx, h)
		all = append(all, events...)
		if err != nil || c.probing == 0 {
			return all, err
		}
		select {
		case <-c.LookAgain():
		case <-ctx.Done():
			return all, ctx.Err()
		}
		h = Hint{}
	}
}

func (c *Controller) reconcile(rescan bool, desired func() (*Desired, error)) ([]state.Event, error) {
	defer c.scan.stage.sweep() // the libraries opened for claimants that were not adopted
	d, err := desired()
	var re *RootError
	if errors.As(err, &re) {
		c.log.Warn("plugins root is gone; unloading everything until it is back", "path", re.Path, "err", re.Err)
		d, err = &Desired{}, nil
	}
	if err != nil {
		return nil, err
	}
	c.retry = d.Retry
	c.watch = d.Watch
	if d.Unjudged != nil && c.unjudged == nil {
		c.log.Error("cannot probe libraries; trying again", "err", d.Unjudged) // once, until probing works again
	}
	c.unjudged = d.Unjudged
	now := time.Now()
	prev := c.last
	next, ex, changed, old := c.apply(d, now)

	// The document's plugins are made when it is read (State), from c.plugins.
	st := &state.State{Root: c.scan.root, Generation: c.gen, ReconciledAt: state.Time{Time: now}}
	st.Skipped, st.Problems = ex.judged(d, prev)
	st.SortJudged()
	entries := entriesOf(next, changed, ex.edited)
	c.mu.Lock()
	pluginsChanged := c.plugins.differs(entries)
	c.mu.Unlock()

	events := stamped(diff(prev, st, old, next, changed), now)
	c.loaded = next
	c.index(old, next, changed)
	c.last = st
	c.notify(old, next, changed, events)
	if c.gen == 0 && c.probing > 0 {
		// The first reconcile has not finished: it ends with the pass that has every
		// library it found probed, which is generation 1 and publishes all of it.
		c.mu.Lock()
		c.plugins.set(entries)
		c.mu.Unlock()
		return nil, nil
	}
	if c.gen == 0 {
		events = stamped(firstEvents(st, next), now)
	}
	if len(events) > 0 || rescan || c.gen == 0 || pluginsChanged || !sameJudged(prev, st) {
		c.gen++
	}
	st.Generation = c.gen
	for i := range events {
		events[i].Generation = c.gen
	}
	c.mu.Lock()
	c.plugins.set(entries)
	c.state = st
	c.mu.Unlock()
	c.publish(events)
	return events, nil
}

// firstEvents are the events of generation 1: what it holds, as changes from
// nothing, whichever way the first reconcile's passes came to it (a claimant loaded
// before the winner's probe had finished, then pushed aside, is only skipped).
func firstEvents(st *state.State, loaded map[string]*LoadedPlugin) []state.Event {
	all := make(map[string]bool, len(loaded))
	for kind := range loaded {
		all[kind] = true
	}
	return diff(nil, st, nil, loaded, all)
}

// stamped sets the time of every event to now, and returns them.
func stamped(events []state.Event, now time.Time) []state.Event {
	for i := range events {
		events[i].At = state.Time{Time: now}
	}
	return events
}

// entriesOf returns the document entries of the kinds that changed or whose loaded
// plugin was edited in place: each kind's plugin in next, nil for none.
func entriesOf(next map[string]*LoadedPlugin, kinds, edited map[string]bool) map[string]*state.Plugin {
	out := make(map[string]*state.Plugin, len(kinds)+len(edited))
	for _, set := range []map[string]bool{kinds, edited} {
		for k := range set {
			if p := next[k]; p != nil {
				info := p.Info()
				out[k] = &info
			} else {
				out[k] = nil
			}
		}
	}
	return out
}

// notify tells the host and the log of the pass's events, then unloads what left.
// old holds the plugins of the kinds that changed, before.
func (c *Controller) notify(old, next map[string]*LoadedPlugin, changed map[string]bool, events []state.Event) {
	for _, e := range events {
		if e.Type == state.Reloaded {
			// Two builds of one version differ by their files: say which.
			o, n := old[e.Kind], next[e.Kind]
			c.log.Info("reloaded", "kind", e.Kind, "version", e.Version, "old_version", e.OldVersion, "source", e.Source,
				"modified", time.Unix(0, n.identity.Mtime).UTC().Format(state.TimeFormat),
				"old_modified", time.Unix(0, o.identity.Mtime).UTC().Format(state.TimeFormat), "path", e.Library)
			continue
		}
		logEvent(c.log, e)
	}
	if c.host != nil {
		for _, e := range events {
			switch e.Type {
			case state.Loaded:
				c.host.Loaded(next[e.Kind])
			case state.Reloaded:
				c.host.Reloaded(old[e.Kind], next[e.Kind])
			case state.Unloaded:
				c.host.Unloaded(old[e.Kind])
			}
		}
	}
	for p := range c.unloading {
		select {
		case <-p.Done():
			delete(c.unloading, p)
		default:
		}
	}
	for kind := range changed {
		if o := old[kind]; o != nil {
			o.unload() // a plugin has one kind: it left
			c.unloading[o] = true
		}
	}
}

// Close unloads every plugin (telling the host), and waits until each library is
// closed and its private copy removed, or ctx ends: those it unloads, and those the
// passes unloaded that are still being closed or still held (Acquire).
func (c *Controller) Close(ctx context.Context) error {
	c.scan.Close()
	old := c.loaded
	c.loaded, c.byOrigin, c.dirs = map[string]*LoadedPlugin{}, map[string][]*LoadedPlugin{}, map[string]int{}
	for _, p := range old {
		if c.host != nil {
			c.host.Unloaded(p)
		}
		c.log.Info("unloaded", "kind", p.info.Kind, "version", p.info.Version, "source", p.info.Source, "path", p.info.Library)
		p.unload()
	}
	for _, p := range slices.Concat(slices.Collect(maps.Values(old)), slices.Collect(maps.Keys(c.unloading))) {
		select {
		case <-p.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.unloading = map[*LoadedPlugin]bool{}
	c.closeSubscribers()
	c.journal.close()
	return nil
}

// WatchDirs returns the folders the loaded set depends on, beyond the usual layout:
// the --trust folders, those libraries resolve into through symlinks (a build output
// symlinked into the root, so that a rebuild there is reloaded; also while the
// linker has deleted it), and those of entrypoints below a bundle folder (a
// bundle's lib/).
func (c *Controller) WatchDirs() []string {
	if c.watchDirs != nil && c.watchGen == c.gen {
		return c.watchDirs // nothing changed since: every change is a new generation
	}
	c.watchGen = c.gen
	c.watchDirs = c.watchDirsNow()
	return c.watchDirs
}

func (c *Controller) watchDirsNow() []string {
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, d := range c.scan.trust {
		add(d)
	}
	for _, d := range c.watch {
		add(d)
	}
	for d := range c.dirs {
		add(d)
	}
	c.mu.Lock()
	st := c.state // its problems; State would make its plugin list too
	c.mu.Unlock()
	if st != nil {
		for _, pr := range st.Problems {
			if d := filepath.Dir(pr.Path); !layout.LayoutFolder(c.scan.root, d) {
				add(d)
			}
		}
	}
	return dirs // unsorted: the watcher sorts what it is given
}

// pluginDirs returns the folders p's library, origin and resolved library lie in,
// but those of the layout, which the watcher watches on its own (most of them: a
// plugin of native/<id>/ needs none). They never change, so they are made once.
func (c *Controller) pluginDirs(p *LoadedPlugin) []string {
	if p.dirs == nil {
		p.dirs = []string{} // made, even when empty
		for _, d := range []string{filepath.Dir(p.info.Library), filepath.Dir(p.origin), filepath.Dir(p.resolved)} {
			if !layout.LayoutFolder(c.scan.root, d) && !slices.Contains(p.dirs, d) {
				p.dirs = append(p.dirs, d)
			}
		}
	}
	return p.dirs
}

// keepsStale reports whether a failure of a plugin's new version keeps the old one
// loaded (docs/state.md stale).
func keepsStale(code state.Code) bool {
	switch code {
	case state.Incomplete, state.LoadFailed, state.Crashed, state.ABIVersion, state.InvalidKind, state.BadRecord, state.BadManifest, state.SmokeFailed:
		return true
	}
	return false
}

// sameJudged reports whether two state documents list the same skipped claimants
// and problems.
func sameJudged(a, b *state.State) bool {
	return reflect.DeepEqual(a.Skipped, b.Skipped) && reflect.DeepEqual(a.Problems, b.Problems)
}
