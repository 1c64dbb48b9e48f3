package reconcile

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/plugwatch/plugwatch/state"
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
// the candidates of each kind in claim order, each kind's winner, and what the
// rulings add up to. A pass rules again on the claims it read or looked up, and
// decides again only their kinds.
type book struct {
	display  func(string) string
	kinds    map[string][]*claim // candidates by registered kind, in claim order
	wants    map[string]*Want    // the winner of each kind
	contests map[string]contest  // the kinds with more than one candidate
	origins  map[string][]*claim // candidates by origin
	flawed   map[*claim]bool     // the claims whose ruling has problems or a skip
	units    map[*unit]bool      // the units with problems of their own
	pending  counts              // origins not judged yet, by the claims that say so
	failed   counts              // origins whose new version failed (stale), likewise
	watch    counts              // folders to watch, by the claims that need them
	probing  int                 // claims whose library is being probed
}

// counts counts, for each key, how many say so.
type counts map[string]int

func (c counts) add(key string, n int) {
	if c[key] += n; c[key] <= 0 {
		delete(c, key)
	}
}

// contest is what a kind with several candidates adds: its losers, skipped, and the
// version_diverged warnings among them.
type contest struct {
	skipped  []state.Skipped
	problems []state.Problem
}

// newBook returns an empty book.
func newBook(display func(string) string) *book {
	return &book{
		display: display, kinds: map[string][]*claim{}, origins: map[string][]*claim{},
		wants: map[string]*Want{}, contests: map[string]contest{}, flawed: map[*claim]bool{}, units: map[*unit]bool{},
		pending: counts{}, failed: counts{}, watch: counts{},
	}
}

// put rules on c and books it, replacing its previous ruling; the kinds whose
// candidates changed go to changed.
func (b *book) put(c *claim, changed map[string]bool) {
	b.remove(c, changed)
	c.rule, c.booked = b.rule(c), b
	b.count(c, 1)
	if k := c.rule.kind; k != "" {
		list := b.kinds[k]
		i, _ := slices.BinarySearchFunc(list, c, byRank)
		b.kinds[k] = slices.Insert(list, i, c)
		b.origins[c.Origin] = append(b.origins[c.Origin], c)
		changed[k] = true
	}
}

// count adds (n = 1) or takes away (n = -1) what c's ruling adds up to.
func (b *book) count(c *claim, n int) {
	r := &c.rule
	if len(r.problems) > 0 || r.skipped != nil {
		if n > 0 {
			b.flawed[c] = true
		} else {
			delete(b.flawed, c)
		}
	}
	if r.pending {
		b.pending.add(c.Origin, n)
	}
	if r.failed {
		b.failed.add(c.Origin, n)
	}
	if r.watch != "" {
		b.watch.add(r.watch, n)
	}
	if r.probing {
		b.probing += n
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
	b.count(c, -1)
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

// putUnit books the problems of a unit's own (not of its claims).
func (b *book) putUnit(u *unit) { b.countUnit(u, 1) }

func (b *book) removeUnit(u *unit) { b.countUnit(u, -1) }

func (b *book) countUnit(u *unit, n int) {
	if len(u.problems) == 0 {
		return
	}
	if n > 0 {
		b.units[u] = true
	} else {
		delete(b.units, u)
	}
	for _, p := range u.problems {
		if keepsStale(p.Code) && p.Origin != "" {
			b.failed.add(p.Origin, n) // a manifest that stopped parsing
		}
	}
}

// desired renders the book, with the pass's own problems (of records and of the
// layout's folders), the origins it found too young to judge, and the kinds it
// changed, as a Desired. Its cost is that of the problems and skipped claims, never
// of the candidates.
func (b *book) desired(problems []state.Problem, young map[string]bool, changed, touched map[string]bool) *Desired {
	d := &Desired{
		Probing: b.probing, wants: b.wants, changed: changed, touched: touched,
		pending: b.pending, young: young, failed: b.failed,
	}
	for _, p := range problems {
		d.Problems = append(d.Problems, p)
		if keepsStale(p.Code) && p.Origin != "" {
			if d.broken == nil {
				d.broken = map[string]bool{}
			}
			d.broken[p.Origin] = true // a record that stopped parsing
		}
	}
	for u := range b.units {
		d.Problems = append(d.Problems, u.problems...)
	}
	for c := range b.flawed {
		d.Problems = append(d.Problems, c.rule.problems...)
		if c.rule.skipped != nil {
			d.Skipped = append(d.Skipped, *c.rule.skipped)
		}
	}
	for _, ct := range b.contests {
		d.Skipped = append(d.Skipped, ct.skipped...)
		d.Problems = append(d.Problems, ct.problems...)
	}
	for dir := range b.watch {
		d.Watch = append(d.Watch, dir)
	}
	return d
}

// complete fills in d.Plugins, in claim order, and puts the skipped claims and
// problems in document order, for those who read the whole of it; and lets go of
// the book.
func (d *Desired) complete() *Desired {
	d.Plugins = make([]Want, 0, len(d.wants))
	for _, w := range d.wants {
		d.Plugins = append(d.Plugins, *w)
	}
	slices.SortFunc(d.Plugins, func(a, b Want) int { return byRank(a.claim, b.claim) })
	st := state.State{Skipped: d.Skipped, Problems: d.Problems}
	st.SortJudged()
	d.Skipped, d.Problems = st.Skipped, st.Problems
	d.pending, d.failed = maps.Clone(d.pending), maps.Clone(d.failed)
	d.wants, d.changed, d.touched = nil, nil, nil
	return d
}
