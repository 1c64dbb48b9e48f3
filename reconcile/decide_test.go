package reconcile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// These tests drive the pure part of a pass: claims with their probe results in,
// the desired state out. No file is touched.

func probed(source state.Source, id, version, lib, nodeKind, kind string) *claim {
	return &claim{Source: source, ID: id, Version: version, Library: lib, Manifest: lib + ".yml",
		NodeKind: nodeKind, Meta: &native.Metadata{Kind: kind, APIVersion: 6}}
}

func decideAll(claims ...*claim) *Desired {
	b := newBook(func(s string) string { return s })
	kinds := map[string]bool{}
	for i, c := range claims {
		c.rank = rank{bundle: c.Source == state.SourceDirectory, idx: i}
		b.put(c, kinds)
	}
	for k := range kinds {
		b.decide(k)
	}
	return b.desired(nil, nil, nil, nil).complete()
}

func kinds(d *Desired) []string {
	var out []string
	for _, w := range d.Plugins {
		out = append(out, w.Kind+"@"+w.Library)
	}
	return out
}

func codes(d *Desired) map[state.Key]state.Level {
	out := map[state.Key]state.Level{}
	for _, p := range d.Problems {
		out[p.Key()] = p.Level
	}
	return out
}

func TestDecideRecordShadowsDirectory(t *testing.T) {
	d := decideAll(
		probed(state.SourceActive, "gain", "1.2.0", "/b/libgain.so", "gain", "gain"),
		probed(state.SourceDirectory, "gain", "1.1.0", "/n/gain/libgain.so", "gain", "plugin::native::gain"),
	)
	assert.Equal(t, []string{"plugin::native::gain@/b/libgain.so"}, kinds(d))
	require.Len(t, d.Skipped, 1)
	assert.Equal(t, state.Skipped{Kind: "plugin::native::gain", ID: "gain", Version: "1.1.0", Source: state.SourceDirectory,
		Library: "/n/gain/libgain.so", Reason: state.Shadowed, Winner: "/b/libgain.so"}, d.Skipped[0])
	require.Len(t, d.Problems, 1)
	p := d.Problems[0]
	assert.Equal(t, state.Key{Path: "/n/gain/libgain.so", Code: state.VersionDiverged}, p.Key())
	assert.Equal(t, state.Warn, p.Level)
	assert.Equal(t, "marketplace gain 1.2.0 (/b/libgain.so) shadows local gain 1.1.0 (/n/gain/libgain.so); "+
		"to run the local build, remove the marketplace one (plugwatch remove gain --marketplace), "+
		"or remove the local one (plugwatch remove gain --local)", p.Message)
}

func TestDecideSameVersionShadowsQuietly(t *testing.T) {
	d := decideAll(
		probed(state.SourceActive, "gain", "1.2.0", "/b/libgain.so", "", "gain"),
		probed(state.SourceDirectory, "gain", "1.2.0", "/n/gain/libgain.so", "", "gain"),
	)
	assert.Len(t, d.Skipped, 1)
	assert.Empty(t, d.Problems)
}

func TestDecideConflictFirstWins(t *testing.T) {
	d := decideAll(
		probed(state.SourceActive, "a", "1", "/b/a.so", "", "k"),
		probed(state.SourceActive, "b", "1", "/b/b.so", "", "k"),
		probed(state.SourceDirectory, "c", "1", "/n/c.so", "", "j"),
		probed(state.SourceDirectory, "d", "1", "/n/d.so", "", "j"),
	)
	assert.Equal(t, []string{"plugin::native::k@/b/a.so", "plugin::native::j@/n/c.so"}, kinds(d))
	require.Len(t, d.Skipped, 2)
	for _, s := range d.Skipped {
		assert.Equal(t, state.Conflict, s.Reason)
	}
	// In document order: by kind.
	assert.Equal(t, "/n/c.so", d.Skipped[0].Winner)
	assert.Equal(t, "/b/a.so", d.Skipped[1].Winner)
}

func TestDecideFailedClaimantLetsTheNextWin(t *testing.T) {
	bad := probed(state.SourceActive, "gain", "2", "/b/libgain.so", "gain", "reverb") // record kind_mismatch
	d := decideAll(bad, probed(state.SourceDirectory, "gain", "1", "/n/libgain.so", "gain", "gain"))
	assert.Equal(t, []string{"plugin::native::gain@/n/libgain.so"}, kinds(d))
	assert.Equal(t, map[state.Key]state.Level{{Path: "/b/libgain.so.yml", Code: state.KindMismatch}: state.Error}, codes(d))
}

func TestDecideDirectoryKindMismatchLoadsUnderReportedKind(t *testing.T) {
	d := decideAll(probed(state.SourceDirectory, "named", "1", "/n/libecho.so", "named", "echo"))
	assert.Equal(t, []string{"plugin::native::echo@/n/libecho.so"}, kinds(d))
	assert.Equal(t, map[state.Key]state.Level{{Path: "/n/libecho.so", Code: state.KindMismatch}: state.Warn}, codes(d))
}

func TestDecideProbeErrors(t *testing.T) {
	for _, tc := range []struct {
		err   error
		code  state.Code
		level state.Level
	}{
		{native.ErrIncomplete, state.Incomplete, state.Warn},
		{native.ErrNotLoadable, state.LoadFailed, state.Error},
		{native.ErrLoader, state.LoadFailed, state.Error},
		{native.ErrNoEntry, state.LoadFailed, state.Error},
		{native.ErrMetadata, state.LoadFailed, state.Error},
		{native.ErrABIVersion, state.ABIVersion, state.Error},
		{native.ErrInvalidKind, state.InvalidKind, state.Error},
	} {
		c := &claim{Source: state.SourceDirectory, ID: "x", Library: "/n/x/libx.so", ProbeErr: &native.Error{Op: "open", Path: "/n/x/libx.so", Err: tc.err}}
		d := decideAll(c)
		assert.Empty(t, d.Plugins, tc.err)
		assert.Equal(t, map[state.Key]state.Level{{Path: "/n/x/libx.so", Code: tc.code}: tc.level}, codes(d), tc.err)
	}
}

func TestDecideInvalidReportedKind(t *testing.T) {
	for _, kind := range []string{"", "core:gain", "a b", "plugin::native::", "x::y"} {
		d := decideAll(probed(state.SourceDirectory, "x", "", "/n/x.so", "", kind))
		assert.Empty(t, d.Plugins, kind)
		assert.Equal(t, map[state.Key]state.Level{{Path: "/n/x.so", Code: state.InvalidKind}: state.Error}, codes(d), kind)
	}
}

func TestDecideWasmIsUnsupported(t *testing.T) {
	d := decideAll(&claim{Source: state.SourceActive, ID: "w", Version: "1", Library: "/w.wasm", Wasm: true})
	assert.Equal(t, []state.Skipped{{ID: "w", Version: "1", Source: state.SourceActive, Library: "/w.wasm", Reason: state.Unsupported}}, d.Skipped)
}
