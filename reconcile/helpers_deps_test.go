package reconcile

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// depsBySections is what readDeps reads, through the section headers with
// debug/elf: the reference it is checked against.
func depsBySections(t *testing.T, path string) elfDeps {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	paths, _ := f.DynString(elf.DT_RUNPATH)
	if len(paths) == 0 {
		paths, _ = f.DynString(elf.DT_RPATH)
	}
	var d elfDeps
	for _, list := range paths {
		d.runpath = append(d.runpath, strings.Split(list, ":")...)
	}
	if len(d.runpath) > 0 {
		d.needed, _ = f.DynString(elf.DT_NEEDED)
	}
	return d
}

// readDeps, through the program headers, finds what debug/elf finds through the
// sections, for a plugin without a run path, with $ORIGIN, with an absolute one;
// and nothing for what is not a whole ELF file.
func TestReadDepsAsTheSectionsSay(t *testing.T) {
	dir := t.TempDir()
	plugintest.HelperLibrary(t, 1, filepath.Join(dir, "libskhelper.so"))
	libs := map[string]func(string){
		"plain":    func(p string) { plugintest.Install(t, plugintest.Spec{Kind: "plain"}, p) },
		"origin":   func(p string) { plugintest.UsesHelper(t, "origin", "", p) },
		"absolute": func(p string) { plugintest.UsesHelperAt(t, "absolute", "", p, dir) },
	}
	for name, build := range libs {
		lib := filepath.Join(dir, "lib"+name+".so")
		build(lib)
		want := depsBySections(t, lib)
		assert.Equal(t, want, readDeps(lib), name)
		if name != "plain" {
			assert.Contains(t, readDeps(lib).needed, "libskhelper.so", name)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "liborigin.so"))
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.so")
	for _, n := range []int{0, 10, 63} {
		require.NoError(t, os.WriteFile(cut, data[:n], 0o644))
		assert.Equal(t, elfDeps{}, readDeps(cut), "a header of %d bytes", n)
	}
	for n := 64; n < len(data); n += 61 {
		require.NoError(t, os.WriteFile(cut, data[:n], 0o644))
		readDeps(cut) // whatever it finds of a cut file, it must not fail
	}
	assert.Equal(t, elfDeps{}, readDeps(filepath.Join(dir, "missing.so")))
}
