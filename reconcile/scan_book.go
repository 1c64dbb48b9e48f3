package reconcile

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
)

// rebook makes the book again from everything a full pass found.
func (s *Scanner) rebook(r *diskReader) *Desired {
	prev := s.book
	s.book = newBook(s.display, prev)
	s.unsettled, s.waiting = map[string]bool{}, map[string]bool{}
	s.holds, s.holders = make(map[string][]Identity, len(s.holds)), make(map[Identity][]string, len(s.holders))
	kinds := map[string]bool{}
	if prev != nil {
		kinds = make(map[string]bool, len(prev.kinds))
	}
	for _, c := range r.records {
		s.book.put(c, kinds)
	}
	for _, e := range s.entries {
		if e.u != nil {
			s.book.putUnit(e.u)
			for _, c := range e.u.claims {
				s.book.put(c, kinds)
			}
			s.track(e.u)
		}
	}
	for k := range kinds {
		s.book.decide(k)
	}
	s.recordPaths = r.recordPaths
	return s.book.desired(r.problems, r.pending, nil, nil)
}

// update changes the book by what a pass asked for by events read again or looked
// up again, and decides again the kinds that changed. records are the last pass's.
func (s *Scanner) update(r *diskReader, records []*claim) *Desired {
	changed, touched := map[string]bool{}, map[string]bool{}
	for _, list := range [][]*claim{records, r.dropped} {
		for _, c := range list {
			s.book.remove(c, changed)
			touched[c.Origin] = true
		}
	}
	for _, u := range r.gone {
		s.book.removeUnit(u)
	}
	for name := range r.reread {
		s.untrack(name)
		touched[filepath.Join(s.root, "native", name)] = true
	}
	for _, c := range r.active {
		s.book.put(c, changed)
		touched[c.Origin] = true
	}
	// A record that does not parse, or is too young to judge, has no claim: its
	// plugin is looked at all the same, this pass and the one after it went.
	for _, list := range [][]string{s.recordPaths, r.recordPaths} {
		for _, path := range list {
			touched[path] = true
		}
	}
	for _, u := range r.units {
		s.book.putUnit(u)
	}
	for _, u := range r.looked {
		s.track(u)
	}
	for k := range changed {
		s.book.decide(k)
	}
	s.recordPaths = r.recordPaths
	return s.book.desired(r.problems, r.pending, changed, touched)
}

// track notes whether every hint pass must read the unit again (it is not
// settled), whether it waits for a probe (looked up again after a timer's wake),
// and which library identities it holds: it is looked up again when one of their
// verdicts is published (see waitingNow).
func (s *Scanner) track(u *unit) {
	s.untrack(u.name)
	setTo(s.unsettled, u.name, !u.settled())
	setTo(s.waiting, u.name, u.waiting)
	var ids []Identity
	for _, c := range u.claims {
		if c.Identity != (Identity{}) && !slices.Contains(ids, c.Identity) {
			ids = append(ids, c.Identity)
		}
	}
	if len(ids) > 0 {
		s.holds[u.name] = ids
	}
	for _, id := range ids {
		s.holders[id] = append(s.holders[id], u.name)
	}
}

// untrack forgets the unit of native/ name.
func (s *Scanner) untrack(name string) {
	delete(s.unsettled, name)
	delete(s.waiting, name)
	for _, id := range s.holds[name] {
		if list := slices.DeleteFunc(s.holders[id], func(n string) bool { return n == name }); len(list) > 0 {
			s.holders[id] = list
		} else {
			delete(s.holders, id)
		}
	}
	delete(s.holds, name)
}

// waitingNow returns the names of native/ whose units a hint pass looks up again:
// those holding an identity whose verdict the stage published since the last pass
// (a probe or open finished, or failed), and every waiting one when the stage
// cannot say which (a timer asked for the pass: a suspect's turn, a retry).
func (s *Scanner) waitingNow() []string {
	ids, all := s.stage.changes()
	var names []string
	if all {
		names = slices.Collect(maps.Keys(s.waiting))
	}
	for id := range ids {
		names = append(names, s.holders[id]...)
	}
	return names
}

// lookUp looks the pass's claims up in the probe stage: every claim on a full pass,
// else only those the pass read or that still wait (r.active), forgetting the
// verdicts of the claims it dropped that no claim holds any more. Then it marks the
// units whose claims still wait, to be looked up again by the next pass.
func (s *Scanner) lookUp(r *diskReader, full bool) {
	looked := r.looked
	if full {
		all := slices.Clone(r.records)
		s.refs = map[Identity]int{}
		looked = nil
		for _, e := range s.entries {
			if e.u != nil {
				all = append(all, e.u.claims...)
				s.count(e.u.claims, 1)
				looked = append(looked, e.u)
			}
		}
		s.stage.lookup(all, nil, true)
	} else {
		s.count(r.fresh, 1)
		s.count(r.dropped, -1)
		dropped := append(r.dropped, s.records...)
		s.stage.lookup(r.active, func(yield func(Identity) bool) {
			for _, c := range dropped {
				if s.refs[c.Identity] == 0 && !yield(c.Identity) {
					return
				}
			}
		}, false)
	}
	s.records = r.records
	for _, u := range looked {
		u.waiting = slices.ContainsFunc(u.claims, func(c *claim) bool { return errors.Is(c.ProbeErr, errNotJudged) })
	}
}

// count adds n to the references of the claims' library identities.
func (s *Scanner) count(claims []*claim, n int) {
	for _, c := range claims {
		if c.Identity == (Identity{}) {
			continue
		}
		if s.refs[c.Identity] += n; s.refs[c.Identity] <= 0 {
			delete(s.refs, c.Identity)
		}
	}
}

func setTo(m map[string]bool, key string, v bool) {
	if v {
		m[key] = true
	} else {
		delete(m, key)
	}
}
