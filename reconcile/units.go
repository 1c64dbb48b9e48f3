package reconcile

import (
	"os"
	"path/filepath"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

// unit is what a pass found in one bundle folder: its claims (resolved), problems
// and pending origins. A later pass reuses it as it is when no event came from the
// folder (see Scanner.DesiredHint), or, for a full pass, when nothing it was read
// from changed (unchanged).
type unit struct {
	name     string // of its entry of native/
	claims   []*claim
	problems []state.Problem
	pending  []string
	young    bool     // something in it was modified within the quiet period
	external bool     // a library in it resolves to another folder: its events come from there
	waiting  bool     // a library of it was not judged yet at the last lookup (see Scanner.waitingNow)
	folder   Identity // of the folder when it was read
	readAt   time.Time

	// A full pass takes the unit as it is when the folder and every file it was
	// read from (deps, with the identities read) are unchanged, as git trusts its
	// index: checked, when plain, with a stat each (unchanged). observed are the
	// observations (files.go) it used, kept for the next sweep.
	plain    bool
	deps     []dep
	observed []*observed
}

// dep is a file a unit was read from and the identity of what was read (a zero
// identity: it did not exist).
type dep struct {
	path  string
	id    Identity
	entry *parsed // its entry in the file cache when it was read, or nil
}

// racy is how close to the read a change must be for its timestamps to prove
// nothing: file times come from a coarse clock, so a change in the same tick as the
// read leaves them equal. A unit whose folder or files changed this close to its
// read is read again by the next full pass.
const racy = 2 * time.Second // FAT's times are 2 s apart

// unchanged reports whether a full pass may take the last pass's unit of entry e as
// it is: it was read from a plain folder and plain files only, nothing in it was
// young, failed to resolve or needed helpers, no timestamp is racy, and the folder
// and every file still have the identities read (statted through at).
func (r *diskReader) unchanged(at *below, e nativeEntry) bool {
	u := e.u
	if !r.reusable || !u.plain || u.young || !settled(u.folder, u.readAt) {
		return false
	}
	if id, dir, err := at.identity(e.path); err != nil || !dir || id != u.folder {
		return false
	}
	for _, d := range u.deps {
		if !settled(d.id, u.readAt) {
			return false
		}
		if id, _, _ := at.identity(d.path); id != d.id { // zero when it is gone
			return false
		}
	}
	return true
}

// settled reports whether id's times lie further than racy before at.
func settled(id Identity, at time.Time) bool {
	limit := at.Add(-racy).UnixNano()
	return id.Mtime < limit && id.Ctime < limit
}

// mark tells the file caches that this pass used u's files, as reading it would.
func (u *unit) mark(r *diskReader) {
	for _, d := range u.deps {
		if d.entry != nil {
			d.entry.gen = r.files.gen
		}
	}
	for _, o := range u.observed {
		o.gen = r.seen.gen
	}
}

// nativeEntry is one entry of native/ as a pass found it: a bundle folder or a bare
// library (with its unit), or anything else (none).
type nativeEntry struct {
	name, path string
	u          *unit
}

// settled reports whether a pass asked for by events may take the unit as it is
// when no event came from its folder: nothing in it is young, and no library of it
// resolves to another folder (whose events are not its folder's).
func (u *unit) settled() bool { return !u.young && !u.external }

// readUnit reads a bundle folder and resolves its claims, and returns it as the
// folder's unit.
func (r *diskReader) readUnit(dir string) *unit {
	c0, p0 := len(r.claims), len(r.problems)
	var folder Identity
	if w := r.ahead(dir); w != nil {
		if w.folder != nil {
			folder = identityOf(w.folder) // taken before w's listing
		}
	} else if fi, err := os.Lstat(dir); err == nil {
		folder = identityOf(fi) // before reading it: a change meanwhile reads it again
	}
	var deps []dep
	var looked []*observed
	r.files.trace = func(path string, id Identity, p *parsed) { deps = append(deps, dep{path, id, p}) }
	r.seen.trace = func(o *observed) { looked = append(looked, o) }
	defer func() { r.files.trace, r.seen.trace = nil, nil }()
	r.readBundle(dir)
	u := &unit{
		name:     filepath.Base(dir),
		claims:   append([]*claim(nil), r.claims[c0:]...),
		problems: append([]state.Problem(nil), r.problems[p0:]...),
		folder:   folder,
		readAt:   r.now,
		plain:    folder != (Identity{}),
	}
	r.claims, r.problems = r.claims[:c0], r.problems[:p0]
	rel, _ := filepath.Rel(r.l.Root, dir)
	realDir := filepath.Join(r.l.RealRoot, rel)
	for i, c := range u.claims {
		c.rank = rank{bundle: true, name: u.name, idx: i}
		r.resolve(c)
		u.young = u.young || c.Young || c.LibYoung
		u.external = u.external || c.linkDir != "" || c.Resolved != "" && filepath.Dir(c.Resolved) != realDir
		u.plain = u.plain && c.plain && c.Fail == nil && c.Identity.Helpers == 0
	}
	u.deps, u.observed = deps, looked
	for origin := range r.pending {
		if origin == dir || within(origin, dir) {
			u.pending = append(u.pending, origin)
		}
	}
	u.young = u.young || len(u.pending) > 0
	r.active = append(r.active, u.claims...)
	r.fresh = append(r.fresh, u.claims...)
	r.looked = append(r.looked, u)
	r.units = append(r.units, u)
	return u
}
