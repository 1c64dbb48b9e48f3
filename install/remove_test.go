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
	removed, err := Remove(t.Context(), root, "gain")
	require.NoError(t, err)
	assert.Len(t, removed, 4)
	assert.Equal(t, filepath.Join(root, "native", "gain"), removed[3])
	assert.NoDirExists(t, filepath.Join(root, "native", "gain"))
}

// TestRemoveAmbiguous: a folder and a record of one id remove nothing until the
// caller chooses.
func TestRemoveAmbiguous(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/gain/libgain.so", "lib")
	write(t, root, "native/gain/plugin.yml", "manifest")
	write(t, root, "active/gain.json", record("gain", "1.0.0"))
	write(t, root, "bundles/gain/1.0.0/libgain.so", "the marketplace's")
	before := snapshot(t, root)

	removed, err := Remove(t.Context(), root, "gain")
	assert.Empty(t, removed)
	var amb *AmbiguousError
	require.ErrorAs(t, err, &amb)
	assert.Equal(t, &AmbiguousError{ID: "gain", Folder: "native/gain/", Records: []string{"active/gain.json"}}, amb)
	assertError(t, err, amb, "gain")
	assert.Contains(t, err.Error(), "native/gain/")
	assert.Contains(t, err.Error(), "active/gain.json")
	unchanged(t, root, before)

	// --local: the folder only.
	removed, err = RemoveFrom(t.Context(), root, "gain", FromLocal)
	require.NoError(t, err)
	in := func(rel string) string { return filepath.Join(root, rel) }
	assert.Equal(t, []string{in("native/gain/libgain.so"), in("native/gain/plugin.yml"), in("native/gain")}, removed)
	assert.FileExists(t, in("active/gain.json"))
	_, err = RemoveFrom(t.Context(), root, "gain", FromLocal)
	assertError(t, err, ErrNothingToRemove, "no bundle folder native/gain/")

	// --marketplace: the record and its bundle only.
	write(t, root, "native/gain/libgain.so", "lib")
	removed, err = RemoveFrom(t.Context(), root, "gain", FromMarketplace)
	require.NoError(t, err)
	assert.Equal(t, []string{in("active/gain.json"), in("bundles/gain/1.0.0"), in("bundles/gain")}, removed)
	assert.FileExists(t, in("native/gain/libgain.so"))
	_, err = RemoveFrom(t.Context(), root, "gain", FromMarketplace)
	assertError(t, err, ErrNothingToRemove, "no record in active/ with plugin_id gain")
}

// TestRemoveAmbiguousNamesEveryRecord: the records are found by plugin_id,
// whatever their file names; a folder that is no bundle is no ambiguity.
func TestRemoveAmbiguousNamesEveryRecord(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/gain/gain.so", "lib")
	write(t, root, "active/gain.json", record("gain", "1.0.0"))
	write(t, root, "active/gain-old.json", record("gain", "0.9.0"))
	_, err := Remove(t.Context(), root, "gain")
	var amb *AmbiguousError
	require.ErrorAs(t, err, &amb)
	assert.Equal(t, []string{"active/gain-old.json", "active/gain.json"}, amb.Records)

	require.NoError(t, os.Remove(filepath.Join(root, "native/gain/gain.so")))
	write(t, root, "native/gain/README", "not a bundle")
	removed, err := Remove(t.Context(), root, "gain")
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(root, "active/gain-old.json"), filepath.Join(root, "active/gain.json")}, removed)
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

// TestRemoveNeverThroughASymlink: a bundles/<id> or bundles/<id>/<version> that
// is a symlink is removed as a link; what it points to stays, byte for byte.
func TestRemoveNeverThroughASymlink(t *testing.T) {
	for name, link := range map[string]string{
		"bundles/good":     "builds",
		"bundles/good/1.0": "builds/1.0",
	} {
		t.Run(name, func(t *testing.T) {
			root := newRoot(t)
			outside := t.TempDir()
			write(t, outside, "builds/1.0/libgood.so", "the developer's build")
			write(t, outside, "builds/1.0/plugin.yml", "its manifest")
			write(t, outside, "builds/1.0/assets/a.slint", "an asset")
			write(t, outside, "builds/0.9/libgood.so", "an older build")
			outsideBefore := snapshot(t, outside)
			write(t, root, "active/good.json", record("good", "1.0"))
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
			require.NoError(t, os.Symlink(filepath.Join(outside, link), filepath.Join(root, name)))

			removed, err := Remove(t.Context(), root, "good")
			require.NoError(t, err)
			unchanged(t, outside, outsideBefore)
			assert.Equal(t, filepath.Join(root, "active/good.json"), removed[0])
			assert.Equal(t, filepath.Join(root, name), removed[1])
			assert.NoFileExists(t, filepath.Join(root, "active/good.json"))
			_, err = os.Lstat(filepath.Join(root, name))
			assert.ErrorIs(t, err, os.ErrNotExist, "the link is removed")
			assert.NoDirExists(t, filepath.Join(root, "bundles/good"))
		})
	}
}
