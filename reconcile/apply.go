package reconcile

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

// extras are what a pass adds to the desired state: claimants demoted because a
// stale or pending plugin keeps its kind, and the origins that keep their previous
// state (not judged yet, gone within the quiet period, or waiting for an open).
type extras struct {
	d        *Desired
	skipped  []state.Skipped
	problems []state.Problem
	pending  map[string]bool // beyond d's
	edited   map[string]bool // kinds whose loaded plugin's entry changed in place
}

// kept reports whether the origin keeps its previous state: d says it is not
// judged yet, or the pass found it so.
func (ex *extras) kept(origin string) bool { return ex.pending[origin] || ex.d.Pending(origin) }

func (ex *extras) edit(kind string, changed bool) {
	if !changed {
		return
	}
	if ex.edited == nil {
		ex.edited = map[string]bool{}
	}
	ex.edited[kind] = true
}

// judged returns the pass's skipped entries and problems: those of d and the
// extras, except that an origin that keeps its previous state keeps its previous
// entries too.
func (ex extras) judged(d *Desired, prev *state.State) ([]state.Skipped, []state.Problem) {
	fresh := func(origin string) bool { return origin == "" || !ex.kept(origin) }
	var skipped []state.Skipped
	var problems []state.Problem
	for _, list := range [][]state.Skipped{d.Skipped, ex.skipped} {
		for _, s := range list {
			if fresh(s.Origin) {
				skipped = append(skipped, s)
			}
		}
	}
	for _, list := range [][]state.Problem{d.Problems, ex.problems} {
		for _, p := range list {
			if fresh(p.Origin) {
				problems = append(problems, p)
			}
		}
	}
	if prev != nil {
		for _, s := range prev.Skipped {
			if !fresh(s.Origin) {
				skipped = append(skipped, s)
			}
		}
		for _, p := range prev.Problems {
			if !fresh(p.Origin) {
				problems = append(problems, p)
			}
		}
	}
	return skipped, problems
}

// apply drives the loaded set towards d and returns the new set by kind, the
// extras, the kinds whose plugin it changed, and what those kinds had before. It
// costs what changed: it looks only at the kinds visit returns; every other loaded
// plugin is wanted exactly as it was, or kept as it was (stale).
func (c *Controller) apply(d *Desired, now time.Time) (map[string]*LoadedPlugin, extras, map[string]bool, map[string]*LoadedPlugin) {
	ex := extras{d: d, pending: map[string]bool{}}
	set := &edits{next: c.loaded, before: map[string]*LoadedPlugin{}}
	kinds := c.visit(d)
	for _, k := range kinds {
		delete(c.opening, k)
		delete(c.held, k)
	}
	unmarked := c.mark(d, kinds)
	c.keep(d, kinds, unmarked, &ex, set.put, now)
	for _, w := range unmarked {
		c.adopt(w, &ex, set, now)
	}
	c.probing = len(c.opening) + d.Probing
	for origin := range c.gone {
		if !ex.kept(origin) {
			delete(c.gone, origin)
		}
	}
	return set.next, ex, set.changed(), set.before
}

// edits changes the loaded set next in place; before holds what the kinds it set
// had.
type edits struct {
	next, before map[string]*LoadedPlugin
}

func (e *edits) put(kind string, p *LoadedPlugin) {
	if _, ok := e.before[kind]; !ok {
		e.before[kind] = e.next[kind]
	}
	if p == nil {
		delete(e.next, kind)
		return
	}
	e.next[kind] = p
}

// was returns what kind had before the pass.
func (e *edits) was(kind string) *LoadedPlugin {
	if p, ok := e.before[kind]; ok {
		return p
	}
	return e.next[kind]
}

// changed returns the kinds whose plugin changed.
func (e *edits) changed() map[string]bool {
	changed := map[string]bool{}
	for kind, p := range e.before {
		if e.next[kind] != p {
			changed[kind] = true
		}
	}
	return changed
}

// mark marks the loaded plugins of kinds the pass wants exactly as they are, and
// returns the wants no loaded plugin matches so.
func (c *Controller) mark(d *Desired, kinds []string) []*Want {
	var unmarked []*Want
	for _, k := range kinds {
		p, w := c.loaded[k], d.want(k)
		if p != nil {
			p.wanted = false
		}
		switch {
		case w == nil:
		case p != nil && p.identity == w.Identity && !p.info.Stale && (p.claim == w.claim ||
			p.origin == w.from && p.info.Library == w.Library && p.info.Manifest == w.Manifest &&
				p.info.ID == w.ID && p.info.Version == w.Version):
			p.wanted, p.claim = true, w.claim // the same claim next time: no strings compared
		default:
			unmarked = append(unmarked, w)
		}
	}
	return unmarked
}

// adopt drives w's kind towards w: it is demoted when another origin's plugin keeps
// the kind, the loaded plugin of its origin and library is edited in place, or the
// library the probe stage opened is adopted; while that is still being opened, the
// kind keeps its previous state (make-before-break).
func (c *Controller) adopt(w *Want, ex *extras, set *edits, now time.Time) {
	cur := set.was(w.Kind)
	if ex.kept(w.origin()) {
		return // kept when it was loaded
	}
	if kept := set.next[w.Kind]; kept != nil && kept.origin != w.origin() {
		skip := demote(*w, kept)
		ex.skipped = append(ex.skipped, skip)
		if skip.Reason == state.Shadowed && kept.info.Version != w.Version {
			p := c.diverged(kept.info, w.Plugin)
			p.Origin = w.origin()
			ex.problems = append(ex.problems, p)
		}
		return
	}
	if cur != nil && cur.origin == w.origin() && cur.identity == w.Identity && cur.info.Library == w.Library {
		ex.edit(w.Kind, cur.update(func(info *state.Plugin) {
			info.ID, info.Version, info.Manifest, info.Stale = w.ID, w.Version, w.Manifest, false
		}))
		cur.claim = w.claim
		set.put(w.Kind, cur)
		return
	}
	if p, ok := c.open(*w, now); ok {
		set.put(w.Kind, p)
		return
	}
	// Its kind is looked at again by every pass until it is open.
	c.opening[w.Kind] = true
	ex.pending[w.origin()] = true
	if cur != nil {
		ex.pending[cur.origin] = true
		set.put(w.Kind, cur)
	}
}

// keep decides, for the loaded plugins of kinds, which keep their kind: one the pass
// wants as it is, one whose files are not judged yet or went within the quiet
// period, or whose new version failed in a way that keeps the old one (stale). The
// others leave (set to nil), unless the wants (unmarked) keep them.
func (c *Controller) keep(d *Desired, kinds []string, unmarked []*Want, ex *extras, set func(string, *LoadedPlugin), now time.Time) {
	w := &passWants{c: c, d: d, unmarked: unmarked}
	for _, kind := range kinds {
		p := c.loaded[kind]
		if p == nil {
			continue
		}
		switch {
		case p.wanted: // (its origin's files went no more, unless another plugin of it says so)
		case ex.kept(p.origin):
			c.held[kind] = true
		case c.disappeared(p, now, w.sawGone(p)):
			ex.pending[p.origin] = true
			c.held[kind] = true
		case d.Failed(p.origin):
			if _, ok := w.want(p.origin); !ok {
				ex.edit(kind, p.update(func(info *state.Plugin) { info.Stale = true }))
				c.held[kind] = true
				break
			}
			set(kind, nil)
		default:
			set(kind, nil)
		}
	}
}

// passWants tells keep what the pass wants of an origin; its maps are made when
// first needed.
type passWants struct {
	c        *Controller
	d        *Desired
	unmarked []*Want
	wanted   map[string]string // origins of unmarked wants (their manifest)
	missing  map[string]bool   // origins whose library the pass found missing
	read     map[string]bool   // origins the pass found anything of (originsRead)
}

// want reports whether the pass wants a plugin of origin, and its manifest. A
// plugin of origin the pass did not look at is still wanted as it was: visit looks
// at every kind of an origin or at none.
func (w *passWants) want(origin string) (string, bool) {
	for _, q := range w.c.byOrigin[origin] {
		if q.wanted {
			return q.info.Manifest, true
		}
	}
	if w.wanted == nil {
		w.wanted = make(map[string]string, len(w.unmarked))
		for _, u := range w.unmarked {
			w.wanted[u.from] = u.Manifest
		}
		w.missing, w.read = map[string]bool{}, originsRead(w.d)
		for _, pr := range w.d.Problems {
			if pr.Code == state.MissingLibrary {
				w.missing[pr.Origin] = true
			}
		}
	}
	m, ok := w.wanted[origin]
	return m, ok
}

// sawGone reports whether the pass itself found one of p's files gone: its library
// missing, its manifest gone, or its record or folder gone. (The files may be back
// already by the time the pass gets here: a linker is quick.)
func (w *passWants) sawGone(p *LoadedPlugin) bool {
	m, ok := w.want(p.origin)
	if !ok {
		return w.missing[p.origin] || !w.read[p.origin]
	}
	return p.info.Manifest != "" && m == ""
}

// visit returns, sorted, the kinds a pass looks at: every kind after a full read;
// else the kinds whose want changed, those being opened and those whose plugin is
// kept without being wanted (stale, not judged yet, gone within the quiet period:
// it may push another claimant aside, every pass), with every kind of the
// origins the pass read or looked up and of those whose files went within the quiet
// period, closed over "of the same origin": a kind is looked at with every other
// kind of its plugin's and its want's origins. (A plugin of an origin not judged
// yet is kept as it is, looked at or not; the pass that judges it reads it.)
func (c *Controller) visit(d *Desired) []string {
	kinds := map[string]bool{}
	if d.changed == nil {
		for k := range c.loaded {
			kinds[k] = true
		}
		for k := range d.wants {
			kinds[k] = true
		}
		return slices.Sorted(maps.Keys(kinds))
	}
	seen := map[string]bool{}
	var todo []string
	origin := func(o string) {
		if !seen[o] {
			seen[o] = true
			todo = append(todo, o)
		}
	}
	kind := func(k string) {
		if kinds[k] {
			return
		}
		kinds[k] = true
		if p := c.loaded[k]; p != nil {
			origin(p.origin)
		}
		if w := d.want(k); w != nil {
			origin(w.from)
		}
	}
	for _, set := range []map[string]bool{d.changed, c.opening, c.held} {
		for k := range set {
			kind(k)
		}
	}
	for o := range d.touched {
		origin(o)
	}
	for o := range c.gone {
		origin(o)
	}
	for len(todo) > 0 {
		o := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, p := range c.byOrigin[o] {
			kind(p.info.Kind)
		}
		for _, k := range c.scan.book.kindsOf(o) {
			kind(k)
		}
	}
	return slices.Sorted(maps.Keys(kinds))
}

// index keeps byOrigin, and the count of loaded plugins in each of dirs, equal to
// the loaded set next, given the kinds that changed from old.
func (c *Controller) index(old, next map[string]*LoadedPlugin, changed map[string]bool) {
	for kind := range changed {
		if o := old[kind]; o != nil {
			list := slices.DeleteFunc(c.byOrigin[o.origin], func(p *LoadedPlugin) bool { return p == o })
			if len(list) == 0 {
				delete(c.byOrigin, o.origin)
			} else {
				c.byOrigin[o.origin] = list
			}
			for _, d := range c.pluginDirs(o) {
				if c.dirs[d]--; c.dirs[d] <= 0 {
					delete(c.dirs, d)
				}
			}
		}
		if n := next[kind]; n != nil {
			c.byOrigin[n.origin] = append(c.byOrigin[n.origin], n)
			for _, d := range c.pluginDirs(n) {
				c.dirs[d]++
			}
		}
	}
}

// disappeared reports whether one of p's files (its library, manifest, record or
// folder) is gone (the pass saw it so, or it is so now) and went less than the
// quiet period ago: a linker deletes its
// output before it writes the new one, and rm -r removes files one by one, so the
// plugin stays loaded (not stale) until the quiet period has passed.
func (c *Controller) disappeared(p *LoadedPlugin, now time.Time, sawGone bool) bool {
	if c.scan.quiet <= 0 {
		return false
	}
	missing := func(path string) bool {
		_, err := os.Stat(path)
		return errors.Is(err, fs.ErrNotExist)
	}
	if !sawGone && !missing(p.info.Library) && (p.info.Manifest == "" || !missing(p.info.Manifest)) && !missing(p.origin) {
		delete(c.gone, p.origin)
		return false
	}
	since, ok := c.gone[p.origin]
	if !ok {
		since = now
		c.gone[p.origin] = now
	}
	until := since.Add(c.scan.quiet)
	if !now.Before(until) {
		return false
	}
	if c.retry.IsZero() || until.Before(c.retry) {
		c.retry = until
	}
	return true
}

// originsRead returns the origins the pass found anything of: a claim that failed,
// a skipped claimant, or a problem filed under it.
func originsRead(d *Desired) map[string]bool {
	read := make(map[string]bool, len(d.Problems)+len(d.Skipped))
	for _, pr := range d.Problems {
		read[pr.Origin] = true
	}
	for _, sk := range d.Skipped {
		read[sk.Origin] = true
	}
	return read
}

// open adopts the library the probe stage opened for w's identity; false while the
// stage is still at work on it.
func (c *Controller) open(w Want, now time.Time) (*LoadedPlugin, bool) {
	lib, cp, ok := c.scan.stage.take(w.Identity, w.Library)
	if !ok {
		return nil, false
	}
	info := w.Plugin
	info.LoadedAt = state.Time{Time: now}
	return &LoadedPlugin{
		info: info, meta: lib.Metadata(), lib: lib, copy: cp, identity: w.Identity, resolved: w.Resolved,
		origin: w.origin(), claim: w.claim, closed: make(chan struct{}),
	}, true
}

// diverged is the version_diverged warning for a local bundle shadowed by a kept
// marketplace plugin, as decide words it.
func (c *Controller) diverged(market, local state.Plugin) state.Problem {
	return divergedProblem(c.scan.display, market, local)
}

// demote skips a claimant whose kind a stale or pending plugin keeps.
func demote(w Want, kept *LoadedPlugin) state.Skipped {
	reason := state.Conflict
	if kept.info.Source == state.SourceActive && w.Source == state.SourceDirectory {
		reason = state.Shadowed
	}
	return state.Skipped{Kind: w.Kind, ID: w.ID, Version: w.Version, Source: w.Source, Library: w.Library, Reason: reason, Winner: kept.info.Library,
		Origin: w.origin()}
}

// origin identifies where a plugin comes from across passes (claim.Origin): its
// record or its bundle folder. A changed library from the same origin is a reload.
func (w Want) origin() string { return w.from }
