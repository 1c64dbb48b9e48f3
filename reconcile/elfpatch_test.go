package reconcile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// ld merges a needed name into the tail of a longer one ("libhelper.so" inside
// "libxlibhelper.so"): a rename of either would change the other, so neither is
// renamed, and every name the library needs is still one whose file exists.
func TestPatchELFLeavesSharedStrings(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	build := func(out, src string, args ...string) {
		t.Helper()
		c := filepath.Join(dir, filepath.Base(out)+".c")
		require.NoError(t, os.WriteFile(c, []byte(src), 0o644))
		msg, err := exec.Command(cc, append([]string{"-shared", "-fPIC", "-o", out, c}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", msg)
	}
	build(filepath.Join(dir, "libhelper.so"), "int a(void) { return 1; }\n")
	build(filepath.Join(dir, "libxlibhelper.so"), "int b(void) { return 2; }\n")
	lib := filepath.Join(dir, "libx.so")
	build(lib, "int a(void); int b(void); int c(void) { return a() + b(); }\n",
		"-L"+dir, "-lhelper", "-lxlibhelper", "-Wl,-rpath,$ORIGIN")
	renames := map[string]string{
		"libhelper.so":     uniqueName("libhelper.so", 1),
		"libxlibhelper.so": uniqueName("libxlibhelper.so", 2),
	}
	require.NoError(t, patchELF(lib, renames, folderNames(dir)))
	valid := map[string]bool{}
	for name, to := range renames {
		valid[name], valid[to] = true, true
	}
	var found []string
	for _, n := range readDeps(lib).needed {
		if strings.Contains(n, "helper") || strings.Contains(n, "~") {
			assert.True(t, valid[n], "needs %q, a name no file has", n)
			found = append(found, n)
		}
	}
	assert.Len(t, found, 2, "%v", found)
}
