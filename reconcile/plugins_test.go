package reconcile

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/plugwatch/plugwatch/state"
)

// The document's plugin list, kept by changes, always equals the sorted entries of
// a plain map given the same changes, and a list handed out is never changed by
// later passes.
func TestDocumentPluginsFollowTheirChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var d documentPlugins
	model := map[string]state.Plugin{}
	type handed struct {
		list []state.Plugin
		want []state.Plugin
	}
	var out []handed
	for pass := range 2000 {
		next := map[string]*state.Plugin{}
		for range rng.IntN(6) {
			kind := fmt.Sprintf("plugin::native::k%03d", rng.IntN(200))
			if rng.IntN(3) == 0 {
				next[kind] = nil
				continue
			}
			p := state.Plugin{Kind: kind, ID: kind[16:], Version: fmt.Sprint(pass), Library: "/r/native/" + kind[16:] + "/lib.so"}
			next[kind] = &p
		}
		want := false
		for k, p := range next {
			was, ok := model[k]
			if ok != (p != nil) || p != nil && was != *p {
				want = true
			}
		}
		if got := d.differs(next); got != want {
			t.Fatalf("pass %d: differs = %v, want %v", pass, got, want)
		}
		d.set(next)
		for k, p := range next {
			if p == nil {
				delete(model, k)
			} else {
				model[k] = *p
			}
		}
		if rng.IntN(10) == 0 {
			wantList := slices.SortedFunc(maps.Values(model), state.ComparePlugins)
			got := d.sorted()
			if got == nil || !slices.Equal(got, wantList) {
				t.Fatalf("pass %d: sorted = %v, want %v", pass, got, wantList)
			}
			out = append(out, handed{got, slices.Clone(wantList)})
		}
	}
	for i, h := range out {
		if !slices.Equal(h.list, h.want) {
			t.Fatalf("list %d handed out was changed afterwards", i)
		}
	}
	var empty documentPlugins
	if got := empty.sorted(); got == nil || len(got) != 0 {
		t.Fatalf("empty list = %#v, want an empty, non-nil slice", got)
	}
}
