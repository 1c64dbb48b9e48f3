package reconcile

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

func TestUniqueNameKeepsTheLength(t *testing.T) {
	assert.Equal(t, "libskhelpe~z", uniqueName("libskhelpe.s", 35))
	assert.Len(t, uniqueName("libonnxruntime.so.1", 1<<40), len("libonnxruntime.so.1"))
	assert.Equal(t, "", uniqueName("a", 1), "too short to rename")
}

// A plugin copy patched to need its helper under a new name, with an absolute run
// path naming its folder rewritten to $ORIGIN.
func TestPatchELFRenamesHelpers(t *testing.T) {
	dir := t.TempDir()
	plugintest.HelperLibrary(t, 1, filepath.Join(dir, "libskhelper.so"))
	lib := filepath.Join(dir, "libx.so")
	plugintest.UsesHelperAt(t, "x", "", lib, dir)
	d := readDeps(lib)
	require.Contains(t, d.needed, "libskhelper.so")
	require.True(t, d.searches(folderNames(dir)))

	renamed := uniqueName("libskhelper.so", 7)
	require.NoError(t, patchELF(lib, map[string]string{"libskhelper.so": renamed}, folderNames(dir)))
	d = readDeps(lib)
	assert.Contains(t, d.needed, renamed)
	assert.NotContains(t, d.needed, "libskhelper.so")
	require.Len(t, d.runpath, 1)
	assert.Regexp(t, `^\$ORIGIN/*$`, d.runpath[0])
	assert.Len(t, d.runpath[0], len(dir), "rewritten in place")
}
