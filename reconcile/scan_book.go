package reconcile

import (
	"errors"
	"iter"
	"maps"
	"path/filepath"
	"slices"
)

// makeBook makes the book from everything the first pass found (the first after the
// root came back, too); every later pass changes it (update).
func (s *Scanner) makeBook(r *diskReader) *Desired {
	s.book = newBook(s.display)
	s.unsettled, s.waiting = map[string]bool{}, map[string]bool{}
	s.holds, s.holders = map[string][]Identity{}, map[Identity][]string{}
	kinds := map[string]bool{}
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

// update changes the book by what a pass read again (the folders events came from,
// or those a full pass found changed) or looked up again, and decides again the
// kinds that changed. records are the last pass's.
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

// lookUp looks the pass's claims up in the probe stage: every claim on the first
// pass, else only those the pass read or that still wait (r.active), forgetting the
// verdicts no claim holds any more (of the claims it dropped; of every identity on
// a full pass). Then it marks the units whose claims still wait, to be looked up
// again by the next pass.
func (s *Scanner) lookUp(r *diskReader, first bool) {
	looked := r.looked
	held := func(id Identity) bool { return s.refs[id] > 0 }
	if first {
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
		s.stage.lookup(all, nil, held)
	} else {
		s.count(r.fresh, 1)
		s.count(r.dropped, -1)
		var dropped iter.Seq[Identity] // nil: every identity the stage has
		if r.hint {
			dropped = func(yield func(Identity) bool) {
				for _, list := range [][]*claim{r.dropped, s.records} {
					for _, c := range list {
						if !yield(c.Identity) {
							return
						}
					}
				}
			}
		}
		s.stage.lookup(r.active, dropped, held)
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
