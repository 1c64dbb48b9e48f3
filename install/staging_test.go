package install

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStagingName(t *testing.T) {
	assert.Equal(t, ".libgain.so.42-0a1b2c3d.tmp", stagingName("libgain.so", 42, "0a1b2c3d"))
	pid, ok := stagingPID(".libgain.so.42-0a1b2c3d.tmp")
	assert.True(t, ok)
	assert.Equal(t, 42, pid)

	// A 255-byte name is shortened, at a UTF-8 boundary, to fit 255 bytes.
	long := "lib" + strings.Repeat("é", 124) + ".so"
	require.Len(t, long, 254)
	n := stagingName(long, 4194304, "ffffffff")
	assert.LessOrEqual(t, len(n), maxName)
	assert.True(t, strings.HasSuffix(n, ".4194304-ffffffff.tmp"), n)
	pid, ok = stagingPID(n)
	assert.True(t, ok)
	assert.Equal(t, 4194304, pid)

	for _, bad := range []string{
		"libgain.so.42-0a1b2c3d.tmp",                    // not hidden
		"..42-0a1b2c3d.tmp",                             // no name
		".libgain.so.42-0a1b2c3.tmp",                    // 7 hex digits
		".libgain.so.42-0a1b2c3d0.tmp",                  // 9
		".libgain.so.42-0A1B2C3D.tmp",                   // upper case
		".libgain.so.42-0a1b2c3g.tmp",                   // not hex
		".libgain.so.042-0a1b2c3d.tmp",                  // a leading zero
		".libgain.so.0-0a1b2c3d.tmp",                    // pid 0
		".libgain.so.-1-0a1b2c3d.tmp",                   // negative
		".libgain.so.x42-0a1b2c3d.tmp",                  // not a number
		".libgain.so.42_0a1b2c3d.tmp",                   // no dash
		".libgain.so.0a1b2c3d.tmp",                      // no pid (an older shape)
		".libgain.so.42-0a1b2c3d.tmp~",                  // a backup
		".libgain.so.42-0a1b2c3d.tmp.gz",                // another file
		".libgain.so.42-0a1b2c3d",                       // no .tmp
		".libgain.so.plugwatch-42-1",                    // a private copy
		".libgain.so.99999999999999999999-0a1b2c3d.tmp", // overflows
	} {
		_, ok := stagingPID(bad)
		assert.False(t, ok, bad)
	}
}

// deadPID returns the id of a process that has exited and been waited for.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exit 0")
	require.NoError(t, cmd.Run())
	pid := cmd.Process.Pid
	require.False(t, processAlive(pid), "pid %d was reused at once", pid)
	return pid
}

func TestRemoveDeadStaging(t *testing.T) {
	root := newRoot(t)
	dead, live := deadPID(t), os.Getpid()
	staging := func(name string, pid int) string { return stagingName(name, pid, "0a1b2c3d") }

	// What goes: a dead process's staging files in native/*/ and wasm/.
	gone := []string{
		write(t, root, "native/gain/"+staging("libgain.so", dead), "half an upload"),
		write(t, root, "native/gain/"+staging("plugin.yml", dead), "a manifest"),
		write(t, root, "native/lib.so/"+staging("lib.so", dead), "x"),
		write(t, root, "wasm/"+staging("filter.wasm", dead), "\x00asm"),
	}
	// What stays: a live process's, other shapes, other places, other kinds of file.
	write(t, root, "native/gain/"+staging("libgain2.so", live), "a running install's")
	write(t, root, "native/gain/libgain.so", "the plugin")
	write(t, root, "native/gain/.libgain.so.0a1b2c3d.tmp", "an older shape")
	write(t, root, "native/gain/"+strings.Replace(staging("libgain.so", dead), "0a1b2c3d", "0a1b2c3", 1), "7 digits")
	write(t, root, "native/gain/"+staging("libgain.so", dead)+"~", "a backup")
	write(t, root, fmt.Sprintf("native/gain/.libgain.so.plugwatch-%d-1", dead), "a private copy")
	write(t, root, "native/"+staging("libstray.so", dead), "native/ itself: a user's file may sit there")
	write(t, root, "native/gain/sub/"+staging("libgain.so", dead), "one deeper")
	write(t, root, "bundles/gain/1.0/"+staging("libgain.so", dead), "the marketplace's")
	write(t, root, "active/"+staging("gain.json", dead), "x")
	write(t, root, staging("x.so", dead), "the root itself")
	require.NoError(t, os.Mkdir(filepath.Join(root, "native", "gain", staging("dir", dead)), 0o755))
	require.NoError(t, os.Symlink("libgain.so", filepath.Join(root, "native", "gain", staging("link", dead))))
	outside := t.TempDir()
	write(t, outside, staging("libdev.so", dead), "a developer's folder, symlinked in")
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "native", "dev")))
	outsideBefore := snapshot(t, outside)

	before := snapshot(t, root)
	assert.Equal(t, len(gone), RemoveDeadStaging(root))
	for _, p := range gone {
		assert.NoFileExists(t, p)
		rel, _ := filepath.Rel(root, p)
		delete(before, rel)
	}
	unchanged(t, root, before)
	unchanged(t, outside, outsideBefore)

	assert.Zero(t, RemoveDeadStaging(root), "nothing left to remove")
	assert.Zero(t, RemoveDeadStaging(filepath.Join(root, "missing")))
}
