package reconcile

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// rank is a claim's place in claim order (docs/desired-state.md): the records of
// active/ by file name, then the entries of native/ by name, then a folder's claims
// in the order they were read.
type rank struct {
	bundle bool
	name   string
	idx    int
}

func (a rank) compare(b rank) int {
	if a.bundle != b.bundle {
		if a.bundle {
			return 1
		}
		return -1
	}
	return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.idx, b.idx))
}

func byRank(a, b *claim) int { return a.rank.compare(b.rank) }

// book is the desired state kept from pass to pass, so that a pass costs what it
// read rather than the size of the root: each claim's ruling (kept on the claim),
// the candidates of each kind in claim order, and each kind's winner. A pass rules
// again on the claims it read or looked up, and decides again only their kinds.
type book struct {
	display  func(string) string
	kinds    map[string][]*claim // candidates by registered kind, in claim order
	wants    map[string]*Want    // the winner of each kind
	contests map[string]contest  // the kinds with more than one candidate
	origins  map[string][]*claim // candidates by origin
	noted    []*claim            // the claims whose ruling is noted, in claim order
	units    []*unit             // the units with problems of their own, by name
}

// contest is what a kind with several candidates adds: its losers, skipped, and the
// version_diverged warnings among them.
type contest struct {
	skipped  []Skipped
	problems []Problem
}

func newBook(display func(string) string) *book {
	return &book{display: display, kinds: map[string][]*claim{}, origins: map[string][]*claim{}, wants: map[string]*Want{}, contests: map[string]contest{}}
}

// put rules on c and books it, replacing its previous ruling; the kinds whose
// candidates changed go to changed.
func (b *book) put(c *claim, changed map[string]bool) {
	b.remove(c, changed)
	c.rule, c.booked = b.rule(c), b
	if c.rule.noted() {
		i, _ := slices.BinarySearchFunc(b.noted, c, byRank)
		b.noted = slices.Insert(b.noted, i, c)
	}
	if k := c.rule.kind; k != "" {
		list := b.kinds[k]
		i, _ := slices.BinarySearchFunc(list, c, byRank)
		b.kinds[k] = slices.Insert(list, i, c)
		b.origins[c.Origin] = append(b.origins[c.Origin], c)
		changed[k] = true
	}
}

// kindsOf returns the kinds the candidates of origin provide.
func (b *book) kindsOf(origin string) []string {
	var kinds []string
	for _, c := range b.origins[origin] {
		kinds = append(kinds, c.rule.kind)
	}
	return kinds
}

// remove takes c out of the book.
func (b *book) remove(c *claim, changed map[string]bool) {
	if c.booked != b {
		return // in no book, or in one a full pass left
	}
	if c.rule.noted() {
		b.noted = deleteFrom(b.noted, c, byRank)
	}
	if k := c.rule.kind; k != "" {
		if list := deleteFrom(b.kinds[k], c, byRank); len(list) > 0 {
			b.kinds[k] = list
		} else {
			delete(b.kinds, k)
		}
		if list := slices.DeleteFunc(b.origins[c.Origin], func(x *claim) bool { return x == c }); len(list) > 0 {
			b.origins[c.Origin] = list
		} else {
			delete(b.origins, c.Origin)
		}
		changed[k] = true
	}
	c.rule, c.booked = ruling{}, nil
}

// deleteFrom deletes x from list, sorted by cmp.
func deleteFrom[T comparable](list []T, x T, cmp func(a, b T) int) []T {
	i, _ := slices.BinarySearchFunc(list, x, cmp)
	for j := i; j < len(list) && cmp(list[j], x) == 0; j++ {
		if list[j] == x {
			return slices.Delete(list, j, j+1)
		}
	}
	return slices.DeleteFunc(list, func(y T) bool { return y == x }) // not where it sorts: never
}

func byName(a, b *unit) int { return strings.Compare(a.name, b.name) }

// putUnit books the problems of a unit's own (not of its claims).
func (b *book) putUnit(u *unit) {
	if len(u.problems) > 0 {
		i, _ := slices.BinarySearchFunc(b.units, u, byName)
		b.units = slices.Insert(b.units, i, u)
	}
}

func (b *book) removeUnit(u *unit) {
	if len(u.problems) > 0 {
		b.units = deleteFrom(b.units, u, byName)
	}
}

// desired renders the book, with the pass's own problems (of records and of the
// layout's folders) and the kinds it changed, as a Desired. Its cost is that of the
// claims noted, the units with problems and the contested kinds, never of the
// candidates.
func (b *book) desired(problems []Problem, changed, touched map[string]bool) *Desired {
	d := &Desired{wants: b.wants, changed: changed, touched: touched}
	addProblem := func(p Problem) {
		d.Problems = append(d.Problems, p)
		if keepsStale(p.Code) && p.origin != "" {
			d.fail(p.origin) // a record or manifest that stopped parsing
		}
	}
	for _, p := range problems {
		addProblem(p)
	}
	for _, u := range b.units {
		for _, p := range u.problems {
			addProblem(p)
		}
	}
	for _, c := range b.noted {
		r := &c.rule
		d.Problems = append(d.Problems, r.problems...)
		if r.skipped != nil {
			d.Skipped = append(d.Skipped, *r.skipped)
		}
		if r.failed {
			d.fail(c.Origin)
		}
		if r.pending {
			d.pend(c.Origin)
		}
		if r.probing {
			d.Probing++
		}
		if r.watch != "" {
			d.Watch = append(d.Watch, r.watch)
		}
	}
	contested := slices.SortedFunc(maps.Keys(b.contests), func(k, l string) int { return byRank(b.kinds[k][0], b.kinds[l][0]) })
	for _, k := range contested {
		ct := b.contests[k]
		d.Skipped = append(d.Skipped, ct.skipped...)
		d.Problems = append(d.Problems, ct.problems...)
	}
	return d
}

// complete fills in d.Plugins, in claim order, for those who read the whole of it,
// and lets go of the book.
func (d *Desired) complete() *Desired {
	d.Plugins = make([]Want, 0, len(d.wants))
	for _, w := range d.wants {
		d.Plugins = append(d.Plugins, *w)
	}
	slices.SortFunc(d.Plugins, func(a, b Want) int { return byRank(a.claim, b.claim) })
	d.wants, d.changed, d.touched = nil, nil, nil
	return d
}
