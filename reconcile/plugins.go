package reconcile

import (
	"maps"
	"slices"
	"strings"

	"github.com/plugwatch/plugwatch/state"
)

// documentPlugins keeps the loaded set's entries for the state document from pass to
// pass at the cost of what changed. A pass records the entries of the kinds it
// changed; the sorted list a document shows is made only when someone reads the
// document (Controller.State), or when the changes outgrow an eighth of the list.
// Making it costs O(loaded plugins), so a pass that changes one plugin among 10,000
// neither copies nor allocates the other 9,999, and a drop that nobody reads the
// document of costs nothing here.
//
// The Controller guards it with its mutex: passes add to it, and State reads it.
type documentPlugins struct {
	list    []state.Plugin           // sorted by state.ComparePlugins; never changed once made (documents share it)
	changes map[string]*state.Plugin // by kind, each changed since list was made: its entry now, nil for none
}

// entry returns the entry of kind now, or nil.
func (d *documentPlugins) entry(kind string) *state.Plugin {
	if p, ok := d.changes[kind]; ok {
		return p
	}
	i, found := slices.BinarySearchFunc(d.list, kind, func(p state.Plugin, kind string) int { return strings.Compare(p.Kind, kind) })
	if !found {
		return nil
	}
	return &d.list[i]
}

// differs reports whether any entry in next (by kind, nil for none) differs from
// the entry of its kind now.
func (d *documentPlugins) differs(next map[string]*state.Plugin) bool {
	for kind, p := range next {
		if was := d.entry(kind); (was == nil) != (p == nil) || p != nil && *was != *p {
			return true
		}
	}
	return false
}

// set records the entries in next, and makes the list anew once the changes are
// more than an eighth of it: each change then costs O(1), amortized.
func (d *documentPlugins) set(next map[string]*state.Plugin) {
	if d.changes == nil {
		d.changes = make(map[string]*state.Plugin, len(next))
	}
	maps.Copy(d.changes, next)
	if len(d.changes) > len(d.list)/8+8 {
		d.sorted()
	}
}

// sorted returns the entries now, sorted by state.ComparePlugins and never nil. The caller must
// not change the slice: documents share it.
func (d *documentPlugins) sorted() []state.Plugin {
	if len(d.changes) == 0 && d.list != nil {
		return d.list
	}
	out := make([]state.Plugin, 0, len(d.list)+len(d.changes))
	for _, p := range d.list {
		if _, changed := d.changes[p.Kind]; !changed {
			out = append(out, p)
		}
	}
	added := len(out)
	for _, p := range d.changes {
		if p != nil {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out[added:], state.ComparePlugins)
	d.list = mergeSorted(out[:added], out[added:])
	d.changes = nil
	return d.list
}

// mergeSorted merges two slices sorted by state.ComparePlugins into a new one.
func mergeSorted(a, b []state.Plugin) []state.Plugin {
	if len(b) == 0 {
		return a
	}
	out := make([]state.Plugin, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if state.ComparePlugins(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
