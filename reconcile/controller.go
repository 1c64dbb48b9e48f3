package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/native"
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
}

// Controller keeps the set of plugins loaded in this process equal to the desired
// state of the disk. It is level-triggered: Reconcile takes no description of what
// changed; it reads the disk again and drives the loaded set towards what it finds.
//
// Reconcile and Close must be called from one goroutine at a time; State, Ready and
// Subscribe may be called from any goroutine.
type Controller struct {
	scan   *Scanner
	copies *copier
	probes *copyProber
	abi    native.Range
	log    *slog.Logger
	host   Host

	loaded map[string]*LoadedPlugin // by kind
	gen    uint64
	retry  time.Time

	mu    sync.Mutex
	state *State
	subs  map[chan Event]struct{}
}

// NewController returns a Controller for opts, and removes the private copies that
// plugwatch processes no longer running left below the root.
func NewController(opts ControllerOptions) (*Controller, error) {
	if opts.ABI == (native.Range{}) {
		opts.ABI = native.DefaultRange()
	}
	cp := &copier{pid: os.Getpid()}
	inner := opts.Prober
	if inner == nil {
		inner = InProcess(opts.ABI)
	}
	probes := &copyProber{cp: cp, inner: inner, kept: map[Identity]private{}}
	opts.Prober = probes
	s, err := NewScanner(opts.Options)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if n := removeLeftovers(s.root) + removeMirrors(); n > 0 {
		log.Info("removed private copies left by earlier runs", "count", n, "path", s.root)
	}
	return &Controller{
		scan: s, copies: cp, probes: probes, abi: opts.ABI, log: log, host: opts.Host,
		loaded: map[string]*LoadedPlugin{}, subs: map[chan Event]struct{}{},
	}, nil
}

// Root returns the absolute plugins root.
func (c *Controller) Root() string { return c.scan.root }

// State returns the current state document, or nil before the first Reconcile.
// The caller may keep it: it is never changed afterwards.
func (c *Controller) State() *State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// RetryAt is when the files the last pass did not judge yet (SPEC 4, modified
// within the quiet period) should be looked at again; zero when there are none.
func (c *Controller) RetryAt() time.Time { return c.retry }

// Subscribe returns a channel that receives every event from now on, and a
// function that ends the subscription. Sending never blocks the controller: a
// subscriber more than 256 events behind has its channel closed.
func (c *Controller) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	c.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if _, ok := c.subs[ch]; ok {
				delete(c.subs, ch)
				close(ch)
			}
		})
	}
}

func (c *Controller) publish(events []Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs {
		for _, e := range events {
			select {
			case ch <- e:
			default:
				delete(c.subs, ch)
				close(ch)
			}
			if _, ok := c.subs[ch]; !ok {
				break
			}
		}
	}
}

// Reconcile reads the disk, computes the desired state and loads, reloads and
// unloads plugins until the loaded set equals it. rescan marks a requested full
// rescan (SIGHUP), which counts as a new generation even when nothing changed.
//
// It returns the pass's events. Problems with files are never errors: they are in
// the state. The error is ctx's when ctx ended; the pass then changed nothing. A
// root that has gone is an empty root: everything is unloaded.
func (c *Controller) Reconcile(ctx context.Context, rescan bool) ([]Event, error) {
	return c.reconcile(ctx, rescan, c.scan.Desired)
}

// ReconcileHint is Reconcile for a pass asked for by events at paths: only the
// bundle folders the paths lie in are read again (see Scanner.DesiredHint), so a
// bundle moved into a large root is loaded in a few milliseconds.
func (c *Controller) ReconcileHint(ctx context.Context, paths []string) ([]Event, error) {
	return c.reconcile(ctx, false, func(ctx context.Context) (*Desired, error) {
		return c.scan.DesiredHint(ctx, paths)
	})
}

func (c *Controller) reconcile(ctx context.Context, rescan bool, desired func(context.Context) (*Desired, error)) ([]Event, error) {
	defer c.probes.sweep() // the copies probed for claimants that were not opened
	d, err := desired(ctx)
	var re *RootError
	if errors.As(err, &re) {
		c.log.Warn("plugins root is gone; unloading everything until it is back", "path", re.Path, "err", re.Err)
		d, err = &Desired{}, nil
	}
	if err != nil {
		return nil, err
	}
	c.retry = d.Retry
	if d.Unjudged != nil {
		c.log.Error("cannot probe libraries; trying again", "err", d.Unjudged, "path", c.scan.root)
	}
	now := time.Now()
	prev := c.State()
	next, extra := c.apply(d, prev, now)

	st := &State{Root: c.scan.root, Generation: c.gen, ReconciledAt: Time{now}}
	for _, p := range next {
		st.Plugins = append(st.Plugins, p.info)
	}
	st.Skipped = append(append(st.Skipped, d.Skipped...), extra.skipped...)
	st.Problems = append(append(st.Problems, d.Problems...), extra.problems...)
	st.Problems = append(st.Problems, carried(prev, d.Pending)...)
	st.Sort()

	events := diff(prev, st, c.loaded, next)
	old := c.loaded
	c.loaded = next
	if len(events) > 0 || rescan || prev == nil || !sameDocument(prev, st) {
		c.gen++
	}
	st.Generation = c.gen
	for i := range events {
		events[i].Generation, events[i].At = c.gen, Time{now}
	}
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
	c.notify(old, next, events)
	c.publish(events)
	return events, nil
}

// extras are what a pass adds to the desired state: claimants demoted because a
// stale or pending plugin keeps its kind, and libraries that failed to open.
type extras struct {
	skipped  []Skipped
	problems []Problem
}

// apply drives the loaded set towards d and returns the new set by kind.
func (c *Controller) apply(d *Desired, prev *State, now time.Time) (map[string]*LoadedPlugin, extras) {
	var ex extras
	next := map[string]*LoadedPlugin{}
	wanted := map[string]bool{} // origins d wants loaded
	for _, w := range d.Plugins {
		wanted[w.origin()] = true
	}
	// A loaded plugin whose files are not judged yet, or whose new version failed in
	// a way that keeps the old one (SPEC 7.2 stale), keeps its kind.
	for kind, p := range c.loaded {
		switch {
		case pendingFor(d.Pending, p):
			next[kind] = p
		case !wanted[p.origin] && staleFor(d, p):
			p.update(func(info *Plugin) { info.Stale = true })
			next[kind] = p
		}
	}
	for _, w := range d.Plugins {
		if kept := next[w.Kind]; kept != nil && kept.origin != w.origin() {
			skip := demote(w, kept)
			ex.skipped = append(ex.skipped, skip)
			if skip.Reason == Shadowed && kept.info.Version != w.Version {
				ex.problems = append(ex.problems, c.diverged(kept.info, w.Plugin))
			}
			continue
		}
		cur := c.loaded[w.Kind]
		if cur != nil && cur.origin == w.origin() && cur.identity == w.Identity && cur.info.Library == w.Library {
			cur.update(func(info *Plugin) {
				info.ID, info.Version, info.Manifest, info.Stale = w.ID, w.Version, w.Manifest, false
			})
			next[w.Kind] = cur
			continue
		}
		p, err := c.open(w, now)
		switch {
		case err == nil:
			next[w.Kind] = p
		case errors.Is(err, errChanged):
			if cur != nil {
				next[w.Kind] = cur // make-before-break: look again once the file is quiet
			}
			if c.retry.IsZero() || now.Add(c.scan.quiet).Before(c.retry) {
				c.retry = now.Add(max(c.scan.quiet, 10*time.Millisecond))
			}
		default:
			prob := ProbeProblem(w.Library, err)
			ex.problems = append(ex.problems, prob)
			if cur != nil && cur.origin == w.origin() && keepsStale(prob.Code) {
				cur.update(func(info *Plugin) { info.Stale = true })
				next[w.Kind] = cur
			}
		}
	}
	return next, ex
}

// open opens a private copy of w's library (make-before-break: the plugin it
// replaces is still open).
func (c *Controller) open(w Want, now time.Time) (*LoadedPlugin, error) {
	cp, ok := c.probes.take(w.Identity) // the copy this pass probed (SPEC 8.2)
	if !ok {
		var err error
		if cp, err = c.copies.copy(w.Library, w.Identity); err != nil {
			return nil, err
		}
	}
	lib, err := native.Open(cp.path, c.abi)
	if err != nil {
		cp.remove()
		return nil, err
	}
	info := w.Plugin
	info.LoadedAt = Time{now}
	return &LoadedPlugin{
		info: info, meta: lib.Metadata(), lib: lib, copy: cp, identity: w.Identity, resolved: w.Resolved,
		origin: w.origin(), closed: make(chan struct{}),
	}, nil
}

// notify tells the host and the log of the pass's events, then unloads what left.
func (c *Controller) notify(old, next map[string]*LoadedPlugin, events []Event) {
	for _, e := range events {
		logEvent(c.log, e)
	}
	if c.host != nil {
		for _, e := range events {
			switch e.Type {
			case Loaded:
				c.host.Loaded(next[e.Kind])
			case Reloaded:
				c.host.Reloaded(old[e.Kind], next[e.Kind])
			case Unloaded:
				c.host.Unloaded(old[e.Kind])
			}
		}
	}
	live := map[*LoadedPlugin]bool{}
	for _, p := range next {
		live[p] = true
	}
	for _, p := range old {
		if !live[p] {
			p.unload()
		}
	}
}

// Close unloads every plugin (telling the host), and waits until each library is
// closed and its private copy removed, or ctx ends.
func (c *Controller) Close(ctx context.Context) error {
	c.probes.sweep()
	old := c.loaded
	c.loaded = map[string]*LoadedPlugin{}
	for _, p := range old {
		if c.host != nil {
			c.host.Unloaded(p)
		}
		c.log.Info("unloaded", "kind", p.info.Kind, "version", p.info.Version, "source", p.info.Source, "path", p.info.Library)
		p.unload()
	}
	for _, p := range old {
		select {
		case <-p.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	for ch := range c.subs {
		delete(c.subs, ch)
		close(ch)
	}
	c.mu.Unlock()
	return nil
}

// WatchDirs returns the folders the loaded set depends on, beyond the usual layout:
// those resolved libraries lie in (a build output symlinked into the root and
// allowed by --trust, so that a rebuild there is reloaded) and those of entrypoints
// below a bundle folder (a bundle's lib/).
func (c *Controller) WatchDirs() []string {
	seen := map[string]bool{}
	var dirs []string
	for _, p := range c.loaded {
		for _, d := range []string{filepath.Dir(p.info.Library), filepath.Dir(p.origin), filepath.Dir(p.resolved)} {
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	st := c.State()
	if st != nil {
		for _, pr := range st.Problems {
			if d := filepath.Dir(pr.Path); !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	sort.Strings(dirs)
	return dirs
}

// origin identifies where a plugin comes from across passes (claim.Origin): its
// record or its bundle folder. A changed library from the same origin is a reload.
func (w Want) origin() string { return w.from }

// keepsStale reports whether a failure of a plugin's new version keeps the old one
// loaded (SPEC 7.2 stale).
func keepsStale(code Code) bool {
	switch code {
	case Incomplete, LoadFailed, Crashed, ABIVersion, InvalidKind, BadRecord, BadManifest:
		return true
	}
	return false
}

// staleFor reports whether d's problems hold a failure of p's files that keeps p.
func staleFor(d *Desired, p *LoadedPlugin) bool {
	if d.Failed[p.origin] {
		return true // its record or manifest now names a library that failed so
	}
	for _, pr := range d.Problems {
		if !keepsStale(pr.Code) {
			continue
		}
		switch {
		case pr.Path == p.info.Library, pr.Path == p.origin:
		case pr.Code == BadManifest && p.info.Source == SourceDirectory && filepath.Dir(pr.Path) == p.origin:
		default:
			continue
		}
		return true
	}
	return false
}

// pendingFor reports whether p's record, bundle folder or library is not judged yet.
func pendingFor(pending map[string]bool, p *LoadedPlugin) bool {
	return pending[p.origin] || pending[p.info.Library]
}

// diverged is the version_diverged warning for a local bundle shadowed by a kept
// marketplace plugin, as decide words it.
func (c *Controller) diverged(market, local Plugin) Problem {
	return decider{display: c.scan.display}.divergedProblem(market, local)
}

// demote skips a claimant whose kind a stale or pending plugin keeps.
func demote(w Want, kept *LoadedPlugin) Skipped {
	reason := Conflict
	if kept.info.Source == SourceActive && w.Source == SourceDirectory {
		reason = Shadowed
	}
	return Skipped{Kind: w.Kind, ID: w.ID, Version: w.Version, Source: w.Source, Library: w.Library, Reason: reason, Winner: kept.info.Library}
}

// carried returns the previous problems of the files not judged yet.
func carried(prev *State, pending map[string]bool) []Problem {
	if prev == nil || len(pending) == 0 {
		return nil
	}
	var out []Problem
	for _, p := range prev.Problems {
		if pending[p.Path] || pending[filepath.Dir(p.Path)] {
			out = append(out, p)
		}
	}
	return out
}

// dedupe drops sorted problems with the key of the one before.
func dedupe(ps []Problem) []Problem {
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p.Key() != ps[i-1].Key() {
			out = append(out, p)
		}
	}
	return out
}

// sameDocument reports whether two state documents say the same but for their
// generation and reconcile time.
func sameDocument(a, b *State) bool {
	return reflect.DeepEqual(a.Plugins, b.Plugins) && reflect.DeepEqual(a.Skipped, b.Skipped) && reflect.DeepEqual(a.Problems, b.Problems)
}
