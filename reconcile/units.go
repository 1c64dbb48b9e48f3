package reconcile

import (
	"os"
	"path/filepath"
)

// unit is what a pass found in one bundle folder: its claims (resolved), problems,
// pending origins and the manifests it read. A later pass reuses it as it is when
// no event came from the folder (see Scanner.DesiredHint).
type unit struct {
	claims   []*claim
	problems []Problem
	pending  []string
	files    []string
	young    bool     // something in it was modified within the quiet period
	external bool     // a library in it resolves to another folder: its events come from there
	folder   Identity // of the folder when it was read
}

func (r *diskReader) reuse(dir string, u *unit) {
	r.claims = append(r.claims, u.claims...)
	r.problems = append(r.problems, u.problems...)
	r.units[dir] = u
}

// readUnit reads a bundle folder and resolves its claims, and keeps the result as
// the folder's unit.
func (r *diskReader) readUnit(dir string) {
	c0, p0 := len(r.claims), len(r.problems)
	r.tried = nil
	var folder Identity
	if fi, err := os.Lstat(dir); err == nil {
		folder = identityOf(fi) // before reading it: a change meanwhile reads it again
	}
	r.readBundle(dir)
	u := &unit{
		claims:   append([]*claim(nil), r.claims[c0:]...),
		problems: append([]Problem(nil), r.problems[p0:]...),
		files:    r.tried,
		folder:   folder,
	}
	rel, _ := filepath.Rel(r.l.Root, dir)
	realDir := filepath.Join(r.l.RealRoot, rel)
	for _, c := range u.claims {
		r.resolve(c)
		u.young = u.young || c.Young || c.LibYoung
		u.external = u.external || c.linkDir != "" || c.Resolved != "" && filepath.Dir(c.Resolved) != realDir
	}
	for origin := range r.pending {
		if origin == dir || within(origin, dir) {
			u.pending = append(u.pending, origin)
		}
	}
	u.young = u.young || len(u.pending) > 0
	r.units[dir] = u
}
