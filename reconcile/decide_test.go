package reconcile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/native"
)

// These tests drive the pure part of a pass: claims with their probe results in,
// the desired state out. No file is touched.

func probed(source Source, id, version, lib, nodeKind, kind string) *claim {
	return &claim{Source: source, ID: id, Version: version, Library: lib, Manifest: lib + ".yml",
		NodeKind: nodeKind, Meta: &native.Metadata{Kind: kind, APIVersion: 6}}
}

func decideAll(claims ...*claim) *Desired {
	b := newBook(func(s string) string { return s })
	kinds := map[string]bool{}
	for i, c := range claims {
		c.rank = rank{bundle: c.Source == SourceDirectory, idx: i}
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

func codes(d *Desired) map[Key]Level {
	out := map[Key]Level{}
	for _, p := range d.Problems {
		out[p.Key()] = p.Level
	}
	return out
}

func TestDecideRecordShadowsDirectory(t *testing.T) {
	d := decideAll(
		probed(SourceActive, "gain", "1.2.0", "/b/libgain.so", "gain", "gain"),
		probed(SourceDirectory, "gain", "1.1.0", "/n/gain/libgain.so", "gain", "plugin::native::gain"),
	)
	assert.Equal(t, []string{"plugin::native::gain@/b/libgain.so"}, kinds(d))
	require.Len(t, d.Skipped, 1)
	assert.Equal(t, Skipped{Kind: "plugin::native::gain", ID: "gain", Version: "1.1.0", Source: SourceDirectory,
		Library: "/n/gain/libgain.so", Reason: Shadowed, Winner: "/b/libgain.so"}, d.Skipped[0])
	require.Len(t, d.Problems, 1)
	p := d.Problems[0]
	assert.Equal(t, Key{"/n/gain/libgain.so", VersionDiverged}, p.Key())
	assert.Equal(t, Warn, p.Level)
	assert.Equal(t, "marketplace gain 1.2.0 (/b/libgain.so) shadows local gain 1.1.0 (/n/gain/libgain.so); "+
		"to run the local build, remove the marketplace one (plugwatch remove gain --marketplace), "+
		"or remove the local one (plugwatch remove gain --local)", p.Message)
}

func TestDecideSameVersionShadowsQuietly(t *testing.T) {
	d := decideAll(
		probed(SourceActive, "gain", "1.2.0", "/b/libgain.so", "", "gain"),
		probed(SourceDirectory, "gain", "1.2.0", "/n/gain/libgain.so", "", "gain"),
	)
	assert.Len(t, d.Skipped, 1)
	assert.Empty(t, d.Problems)
}

func TestDecideConflictFirstWins(t *testing.T) {
	d := decideAll(
		probed(SourceActive, "a", "1", "/b/a.so", "", "k"),
		probed(SourceActive, "b", "1", "/b/b.so", "", "k"),
		probed(SourceDirectory, "c", "1", "/n/c.so", "", "j"),
		probed(SourceDirectory, "d", "1", "/n/d.so", "", "j"),
	)
	assert.Equal(t, []string{"plugin::native::k@/b/a.so", "plugin::native::j@/n/c.so"}, kinds(d))
	require.Len(t, d.Skipped, 2)
	for _, s := range d.Skipped {
		assert.Equal(t, Conflict, s.Reason)
	}
	// In document order: by kind.
	assert.Equal(t, "/n/c.so", d.Skipped[0].Winner)
	assert.Equal(t, "/b/a.so", d.Skipped[1].Winner)
}

func TestDecideFailedClaimantLetsTheNextWin(t *testing.T) {
	bad := probed(SourceActive, "gain", "2", "/b/libgain.so", "gain", "reverb") // record kind_mismatch
	d := decideAll(bad, probed(SourceDirectory, "gain", "1", "/n/libgain.so", "gain", "gain"))
	assert.Equal(t, []string{"plugin::native::gain@/n/libgain.so"}, kinds(d))
	assert.Equal(t, map[Key]Level{{"/b/libgain.so.yml", KindMismatch}: Error}, codes(d))
}

func TestDecideDirectoryKindMismatchLoadsUnderReportedKind(t *testing.T) {
	d := decideAll(probed(SourceDirectory, "named", "1", "/n/libecho.so", "named", "echo"))
	assert.Equal(t, []string{"plugin::native::echo@/n/libecho.so"}, kinds(d))
	assert.Equal(t, map[Key]Level{{"/n/libecho.so", KindMismatch}: Warn}, codes(d))
}

func TestDecideProbeErrors(t *testing.T) {
	for _, tc := range []struct {
		err   error
		code  Code
		level Level
	}{
		{native.ErrIncomplete, Incomplete, Warn},
		{native.ErrNotLoadable, LoadFailed, Error},
		{native.ErrLoader, LoadFailed, Error},
		{native.ErrNoEntry, LoadFailed, Error},
		{native.ErrMetadata, LoadFailed, Error},
		{native.ErrABIVersion, ABIVersion, Error},
		{native.ErrInvalidKind, InvalidKind, Error},
	} {
		c := &claim{Source: SourceDirectory, ID: "x", Library: "/n/x/libx.so", ProbeErr: &native.Error{Op: "open", Path: "/n/x/libx.so", Err: tc.err}}
		d := decideAll(c)
		assert.Empty(t, d.Plugins, tc.err)
		assert.Equal(t, map[Key]Level{{"/n/x/libx.so", tc.code}: tc.level}, codes(d), tc.err)
	}
}

func TestDecideInvalidReportedKind(t *testing.T) {
	for _, kind := range []string{"", "core:gain", "a b", "plugin::native::", "x::y"} {
		d := decideAll(probed(SourceDirectory, "x", "", "/n/x.so", "", kind))
		assert.Empty(t, d.Plugins, kind)
		assert.Equal(t, map[Key]Level{{"/n/x.so", InvalidKind}: Error}, codes(d), kind)
	}
}

func TestDecideWasmIsUnsupported(t *testing.T) {
	d := decideAll(&claim{Source: SourceActive, ID: "w", Version: "1", Library: "/w.wasm", Wasm: true})
	assert.Equal(t, []Skipped{{ID: "w", Version: "1", Source: SourceActive, Library: "/w.wasm", Reason: Unsupported}}, d.Skipped)
}

func TestComparePaths(t *testing.T) {
	assert.Equal(t, -1, ComparePaths("/r/a/x", "/r/a-b/x"))
	assert.Equal(t, 1, ComparePaths("/r/a-b/x", "/r/a/x"))
	assert.Equal(t, 0, ComparePaths("/r/a", "/r/a"))
	assert.Equal(t, -1, ComparePaths("/r/a", "/r/a/b"))
}
