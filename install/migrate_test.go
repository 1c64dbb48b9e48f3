package install

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMigrate(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/libstray.so", "stray")
	write(t, root, "native/lib.so", "lib")
	write(t, root, "native/libgain.so", "bare gain")
	write(t, root, "native/gain/libgain.so", "bundled gain") // occupied
	write(t, root, "native/libecho.so", "first echo")
	write(t, root, "native/echo.so", "second echo") // same folder as a library before it
	write(t, root, "native/libvad.so", "vad")
	write(t, root, "native/vad/plugin.yml", "manifest") // occupied by a manifest
	write(t, root, "native/libtool.so", "tool")
	write(t, root, "native/tool/README", "a folder without a plugin: the library goes in")
	write(t, root, "native/libx.so.1", "a versioned name: not a library")
	write(t, root, "native/.libhidden.so", "ignored")
	write(t, root, "native/libfile.so", "file")
	write(t, root, "native/file", "a file where the folder would be")
	write(t, root, "elsewhere/librel.so", "target")
	require.NoError(t, os.Symlink("../elsewhere/librel.so", filepath.Join(root, "native/librel.so")))
	require.NoError(t, os.Symlink(filepath.Join(root, "elsewhere/libabs.so"), filepath.Join(root, "native/libabs.so")))
	write(t, root, "elsewhere/libabs.so", "target")

	in := func(rel string) string { return filepath.Join(root, "native", rel) }
	want := []Move{
		{From: in("echo.so"), To: in("echo/echo.so"), Moved: true},
		{From: in("lib.so"), To: in("lib.so/lib.so"), Moved: true},
		{From: in("libabs.so"), To: in("abs/libabs.so"), Moved: true},
		{From: in("libecho.so"), To: in("echo/libecho.so")},
		{From: in("libfile.so"), To: in("file/libfile.so")},
		{From: in("libgain.so"), To: in("gain/libgain.so")},
		{From: in("librel.so"), To: in("rel/librel.so")},
		{From: in("libstray.so"), To: in("stray/libstray.so"), Moved: true},
		{From: in("libtool.so"), To: in("tool/libtool.so"), Moved: true},
		{From: in("libvad.so"), To: in("vad/libvad.so")},
	}
	check := func(t *testing.T, got []Move) {
		t.Helper()
		require.Len(t, got, len(want))
		for i := range want {
			assert.Equal(t, want[i].From, got[i].From)
			assert.Equal(t, want[i].To, got[i].To)
			assert.Equal(t, want[i].Moved, got[i].Moved, "%s", got[i])
			assert.Equal(t, got[i].Moved, got[i].Reason == "", "%s", got[i])
		}
	}

	before := snapshot(t, root)
	dry, err := Migrate(root, true)
	require.NoError(t, err)
	check(t, dry)
	unchanged(t, root, before)
	assert.Contains(t, dry[3].Reason, "another library of this migrate goes to native/echo/")
	assert.Contains(t, dry[4].Reason, "native/file exists and is not a plain folder")
	assert.Contains(t, dry[5].Reason, "native/gain/ already holds libgain.so")
	assert.Contains(t, dry[6].Reason, "symlink to the relative path")
	assert.Contains(t, dry[9].Reason, "native/vad/ already holds plugin.yml")
	assert.Equal(t, "moved "+in("libstray.so")+" -> "+in("stray/libstray.so"), dry[7].String())
	assert.Equal(t, "left "+in("libgain.so")+": "+dry[5].Reason, dry[5].String())

	moved, err := Migrate(root, false)
	require.NoError(t, err)
	check(t, moved)
	for i := range dry {
		assert.Equal(t, dry[i].String(), moved[i].String(), "a dry run prints the same lines")
	}
	after := snapshot(t, root)
	for _, m := range moved {
		from, _ := filepath.Rel(root, m.From)
		to, _ := filepath.Rel(root, m.To)
		if m.Moved {
			if e, ok := after[from]; ok {
				assert.True(t, e.Mode.IsDir(), "%s is still there", from) // lib.so is now a folder
			}
			assert.Equal(t, before[from], after[to], "%s moved whole", from)
		} else {
			assert.Equal(t, before[from], after[from], "%s left alone", from)
		}
	}
	assert.Equal(t, before["native/gain/libgain.so"], after["native/gain/libgain.so"])

	// Nothing left to move but what must be left.
	again, err := Migrate(root, false)
	require.NoError(t, err)
	for _, m := range again {
		assert.False(t, m.Moved, "%s", m)
	}
}

func TestMigrateNothing(t *testing.T) {
	root := newRoot(t)
	moves, err := Migrate(root, false)
	require.NoError(t, err)
	assert.Empty(t, moves)

	_, err = Migrate(filepath.Join(root, "missing"), false)
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestMigrateLeavesUnnamableFolders: a library whose folder remove could not be
// given, or that holds a bidirectional control, stays where it is.
func TestMigrateLeavesUnnamableFolders(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/lib sp2.so", "x")
	write(t, root, "native/libsp2 .so", "x")
	write(t, root, "native/lib\u202egain.so", "x")
	before := snapshot(t, root)
	moves, err := Migrate(root, false)
	require.NoError(t, err)
	require.Len(t, moves, 3)
	for _, m := range moves {
		assert.False(t, m.Moved, "%s", m)
		assert.Contains(t, m.Reason, "its folder")
		assert.Contains(t, m.Reason, "move it by hand")
	}
	assert.Contains(t, moves[0].Reason, `" sp2" is not one safe path component`)
	unchanged(t, root, before)
}
