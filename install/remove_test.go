package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRemoveBundleKeepsOtherFiles(t *testing.T) {
	root := newRoot(t)
	for _, f := range []string{
		"native/gain/libgain.so", "native/gain/libhelper.so", "native/gain/plugin.yml",
		"native/gain/gain.plugin.yaml", "native/gain/.libgain.so.plugwatch-1-1",
		"native/gain/libgain.so.1", "native/gain/README", "native/gain/notes.plugin.yml",
		"native/gain/lib/libdep.so", "native/echo/libecho.so",
	} {
		write(t, root, f, f)
	}
	before := snapshot(t, root)
	removed, err := Remove(t.Context(), root, "gain")
	require.NoError(t, err)
	in := func(rel string) string { return filepath.Join(root, rel) }
	assert.Equal(t, []string{
		in("native/gain/libgain.so"), in("native/gain/libhelper.so"),
		in("native/gain/gain.plugin.yaml"), in("native/gain/plugin.yml"),
		in("native/gain/.libgain.so.plugwatch-1-1"),
	}, removed)
	for _, r := range removed {
		rel, _ := filepath.Rel(root, r)
		delete(before, rel)
	}
	unchanged(t, root, before) // the versioned name, README, notes.plugin.yml, lib/ and echo stay
}

func TestRemoveBundleAndFolder(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/gain/libgain.so", "lib")
	write(t, root, "native/gain/plugin.yml", "manifest")
	write(t, root, "native/gain/.libgain.so.plugwatch-7-2", "copy")
	write(t, root, "active/gain.json", record("gain", "1.0.0")) // a folder wins over a record
	removed, err := Remove(t.Context(), root, "gain")
	require.NoError(t, err)
	assert.Len(t, removed, 4)
	assert.Equal(t, filepath.Join(root, "native", "gain"), removed[3])
	assert.NoDirExists(t, filepath.Join(root, "native", "gain"))
	assert.FileExists(t, filepath.Join(root, "active", "gain.json"))
}

func TestRemoveSymlinkedBundle(t *testing.T) {
	root := newRoot(t)
	src := filepath.Join(t.TempDir(), "build")
	write(t, src, "libgain.so", "the developer's build")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
	link := filepath.Join(root, "native", "gain")
	require.NoError(t, os.Symlink(src, link))
	removed, err := Remove(t.Context(), root, "gain")
	require.NoError(t, err)
	assert.Equal(t, []string{link}, removed)
	assert.FileExists(t, filepath.Join(src, "libgain.so"))
}

func record(id, version string) string {
	return `{"plugin_id":"` + id + `","version":"` + version + `","node_kind":"` + id + `","kind":"native",` +
		`"entrypoint":".plugins/bundles/` + id + `/` + version + `/lib` + id + `.so","installed_at_ms":1}`
}

func TestRemoveRecordAndBundle(t *testing.T) {
	root := newRoot(t)
	write(t, root, "active/slint.json", record("slint", "0.5.0"))
	write(t, root, "active/other.json", record("other", "1.0.0"))
	write(t, root, "active/broken.json", "{")
	write(t, root, "bundles/slint/0.5.0/libslint.so", "lib")
	write(t, root, "bundles/slint/0.5.0/samples/a.slint", "sample")
	write(t, root, "bundles/slint/0.4.0/libslint.so", "older")
	write(t, root, "native/slint/README", "not a bundle: no library, no manifest")
	before := snapshot(t, root)

	removed, err := Remove(t.Context(), root, "slint")
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(root, "active/slint.json"), filepath.Join(root, "bundles/slint/0.5.0")}, removed)
	for rel := range before {
		if rel == "active/slint.json" || rel == "bundles/slint/0.5.0" || filepath.Dir(filepath.Dir(rel)) == "bundles/slint/0.5.0" || filepath.Dir(rel) == "bundles/slint/0.5.0" {
			delete(before, rel)
		}
	}
	unchanged(t, root, before)

	// The last version: bundles/<id>/ goes too.
	write(t, root, "active/slint.json", record("slint", "0.4.0"))
	removed, err = Remove(t.Context(), root, "slint")
	require.NoError(t, err)
	assert.Equal(t, []string{
		filepath.Join(root, "active/slint.json"), filepath.Join(root, "bundles/slint/0.4.0"), filepath.Join(root, "bundles/slint"),
	}, removed)
	assert.DirExists(t, filepath.Join(root, "bundles"))
}

func TestRemoveNothing(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/gain/README", "not a bundle")
	write(t, root, "active/other.json", record("other", "1.0.0"))
	write(t, root, "bundles/gain/1.0.0/libgain.so", "no record names it")
	before := snapshot(t, root)
	for _, id := range []string{"gain", "missing", ".hidden"} {
		removed, err := Remove(t.Context(), root, id)
		assertError(t, err, ErrNothingToRemove, id)
		assert.Empty(t, removed)
	}
	for _, id := range []string{"", "..", ".", "a/b", " gain", "native/../gain"} {
		_, err := Remove(t.Context(), root, id)
		assertError(t, err, ErrBadName, "")
	}
	unchanged(t, root, before)

	_, err := Remove(t.Context(), filepath.Join(root, "missing"), "gain")
	require.ErrorIs(t, err, os.ErrNotExist)
}
