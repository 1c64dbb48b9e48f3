package reconcile

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/state"
)

func TestMain(m *testing.M) {
	probe.Main() // some tests probe in helper processes: this binary is the helper
	os.Exit(plugintest.Main(m))
}

// counting counts the libraries a Prober opens.
type counting struct {
	n atomic.Int64
	p Prober
}

func (c *counting) Probe(ctx context.Context, path string) (native.Metadata, error) {
	c.n.Add(1)
	return c.p.Probe(ctx, path)
}

func newRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), ".plugins")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
	return root
}

func write(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func desired(t *testing.T, opts Options) *Desired {
	t.Helper()
	s, err := NewScanner(opts)
	require.NoError(t, err)
	d, err := s.Desired(t.Context())
	require.NoError(t, err)
	return d
}

func TestUnchangedDiskOpensNoLibrary(t *testing.T) {
	root := newRoot(t)
	for _, k := range []string{"a", "b", "c"} {
		plugintest.Install(t, plugintest.Spec{Kind: k}, filepath.Join(root, "native", k, "lib"+k+".so"))
	}
	probes := &counting{p: InProcess(native.DefaultRange())}
	s, err := NewScanner(Options{Root: root, Prober: probes})
	require.NoError(t, err)

	first, err := s.Desired(t.Context())
	require.NoError(t, err)
	assert.Len(t, first.Plugins, 3)
	assert.EqualValues(t, 3, probes.n.Load())

	second, err := s.Desired(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 3, probes.n.Load(), "an unchanged disk is probed again")
	assert.Equal(t, public(first), public(second))

	// A library copied over in place has a new identity and is probed again, alone.
	plugintest.Install(t, plugintest.Spec{Kind: "b", Description: "rebuilt"}, filepath.Join(root, "native", "b", "libb.so"))
	third, err := s.Desired(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 4, probes.n.Load())
	assert.Equal(t, "rebuilt", third.Plugins[1].Description)
}

// public is what Desired says, but for the claims its wants point back to.
func public(d *Desired) Desired {
	out := *d
	out.Plugins = slices.Clone(d.Plugins)
	for i := range out.Plugins {
		out.Plugins[i].claim = nil
	}
	return out
}

func TestUnreadableFolderIsAProblem(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "native", "gain", "libgain.so"))
	plugintest.Install(t, plugintest.Spec{Kind: "echo"}, filepath.Join(root, "native", "locked", "libecho.so"))
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	locked := filepath.Join(root, "native", "locked")
	// Tests may run as root, for whom permission bits do not deny reading: the seam
	// answers as the kernel would for another user.
	s.readDir = func(dir string) ([]fs.DirEntry, error) {
		if dir == locked {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.EACCES}
		}
		return os.ReadDir(dir)
	}
	d, err := s.Desired(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"plugin::native::gain@" + filepath.Join(root, "native", "gain", "libgain.so")}, kinds(d))
	assert.Equal(t, state.Error, codes(d)[state.Key{Path: locked, Code: state.Unreadable}])
	assert.Contains(t, d.Problems[1].Message, "permission denied")
}

func TestRootErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Scan(t.Context(), Options{Root: filepath.Join(dir, "nope")})
	var re *RootError
	require.ErrorAs(t, err, &re)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "does not exist")

	write(t, filepath.Join(dir, "file"), "x")
	_, err = Scan(t.Context(), Options{Root: filepath.Join(dir, "file")})
	require.ErrorAs(t, err, &re)
	assert.Contains(t, err.Error(), "is not a folder")
}

func TestContainment(t *testing.T) {
	root := newRoot(t)
	outside := filepath.Join(filepath.Dir(root), "src", "target")
	lib := plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(outside, "libgain.so"))
	link := filepath.Join(root, "native", "gain", "libgain.so")
	require.NoError(t, os.MkdirAll(filepath.Dir(link), 0o755))
	require.NoError(t, os.Symlink(lib, link))

	d := desired(t, Options{Root: root})
	assert.Empty(t, d.Plugins)
	p := d.Problems[len(d.Problems)-1]
	assert.Equal(t, state.Key{Path: link, Code: state.OutsideRoot}, p.Key())
	assert.Contains(t, p.Message, "--trust "+outside)

	d = desired(t, Options{Root: root, Trust: []string{outside}})
	require.Len(t, d.Plugins, 1)
	assert.Equal(t, link, d.Plugins[0].Library, "the library is the user's path, not the target")
	assert.Equal(t, lib, d.Plugins[0].Resolved)

	// A symlink that leaves its bundle folder but stays inside the root is followed.
	shared := plugintest.Install(t, plugintest.Spec{Kind: "echo"}, filepath.Join(root, "shared", "libecho.so"))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native", "echo"), 0o755))
	require.NoError(t, os.Symlink(shared, filepath.Join(root, "native", "echo", "libecho.so")))
	d = desired(t, Options{Root: root, Trust: []string{outside}})
	assert.Len(t, d.Plugins, 2)
}

func TestSymlinkLoopIsMissingLibrary(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "loop")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Symlink("libb.so", filepath.Join(dir, "liba.so")))
	require.NoError(t, os.Symlink("liba.so", filepath.Join(dir, "libb.so")))
	d := desired(t, Options{Root: root})
	assert.Empty(t, d.Plugins)
	c := codes(d)
	assert.Equal(t, state.Error, c[state.Key{Path: filepath.Join(dir, "liba.so"), Code: state.MissingLibrary}])
	assert.Equal(t, state.Error, c[state.Key{Path: filepath.Join(dir, "libb.so"), Code: state.MissingLibrary}])
}

func TestWorkdirResolvesRecordEntrypoints(t *testing.T) {
	root := newRoot(t)
	work := filepath.Join(filepath.Dir(root), "streamkit")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "bundles", "gain", "1.0.0", "libgain.so"))
	// The record was written by a StreamKit whose plugin directory is ../.plugins.
	write(t, filepath.Join(root, "active", "gain.json"),
		`{"plugin_id":"gain","version":"1.0.0","node_kind":"gain","kind":"native","entrypoint":"../.plugins/bundles/gain/1.0.0/libgain.so","installed_at_ms":1}`)
	d := desired(t, Options{Root: root, Workdir: work})
	require.Len(t, d.Plugins, 1)
	assert.Equal(t, state.SourceActive, d.Plugins[0].Source)
	d = desired(t, Options{Root: root})
	assert.Empty(t, d.Plugins)
	assert.Equal(t, state.MissingLibrary, d.Problems[0].Code)
}

func TestWorldWritableIsNeverOpened(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chmod func(root string) string // makes something world-writable, returns it
	}{
		{"library", func(root string) string { return filepath.Join(root, "native", "gain", "libgain.so") }},
		{"bundle folder", func(root string) string { return filepath.Join(root, "native", "gain") }},
		{"native folder", func(root string) string { return filepath.Join(root, "native") }},
		{"root", func(root string) string { return root }},
		{"manifest", func(root string) string { return filepath.Join(root, "native", "gain", "plugin.yml") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "native", "gain", "libgain.so"))
			write(t, filepath.Join(root, "native", "gain", "plugin.yml"), "id: gain\nversion: 1.0.0\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n")
			bad := tc.chmod(root)
			fi, err := os.Stat(bad)
			require.NoError(t, err)
			mode := fi.Mode().Perm() | 0o002
			if fi.IsDir() {
				mode |= os.ModeSticky // the sticky bit does not make it safe
			}
			require.NoError(t, os.Chmod(bad, mode))
			probes := &counting{p: InProcess(native.DefaultRange())}
			d := desired(t, Options{Root: root, Prober: probes})
			assert.Empty(t, d.Plugins)
			assert.Equal(t, map[state.Key]state.Level{{Path: bad, Code: state.UnsafePermissions}: state.Error}, codes(d))
			assert.Contains(t, d.Problems[0].Message, "chmod o-w "+bad)
			assert.Zero(t, probes.n.Load(), "the library was opened")
		})
	}
}

func TestDesiredHintReadsOnlyWhereEventsCameFrom(t *testing.T) {
	root := newRoot(t)
	for _, k := range []string{"a", "b", "c"} {
		plugintest.Install(t, plugintest.Spec{Kind: k, Description: "v1"}, filepath.Join(root, "native", k, "lib"+k+".so"))
	}
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	var reads []string
	s.readDir = func(dir string) ([]fs.DirEntry, error) {
		reads = append(reads, dir)
		return os.ReadDir(dir)
	}
	_, err = s.Desired(t.Context())
	require.NoError(t, err)

	// b is rebuilt in place (its folder is unchanged); an event came from c only:
	// b's folder is not read again.
	b := filepath.Join(root, "native", "b")
	v2, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "b", Description: "v2"}))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(b, "libb.so"), v2, 0o755))
	reads = nil
	d, err := s.DesiredHint(t.Context(), []string{filepath.Join(root, "native", "c", "libc.so")})
	require.NoError(t, err)
	// native/ itself is not listed again: the event names the entry it came from.
	assert.Equal(t, []string{root, filepath.Join(root, "active"), filepath.Join(root, "native", "c")}, reads)
	assert.Equal(t, "v1", d.Plugins[1].Description)

	// The event from b: read again, the new version found.
	d, err = s.DesiredHint(t.Context(), []string{filepath.Join(b, "libb.so")})
	require.NoError(t, err)
	assert.Equal(t, "v2", d.Plugins[1].Description)

	// A new folder is read; a removed one is gone (each sent its event).
	plugintest.Install(t, plugintest.Spec{Kind: "d"}, filepath.Join(root, "native", "d", "libd.so"))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "native", "a")))
	d, err = s.DesiredHint(t.Context(), []string{filepath.Join(root, "native", "d"), filepath.Join(root, "native", "a")})
	require.NoError(t, err)
	assert.Equal(t, []string{"plugin::native::b", "plugin::native::c", "plugin::native::d"},
		[]string{d.Plugins[0].Kind, d.Plugins[1].Kind, d.Plugins[2].Kind})

	// A folder renamed over another: the events of both names read both again.
	require.NoError(t, os.Rename(filepath.Join(root, "native", "c"), filepath.Join(root, "native", "a")))
	reads = nil
	d, err = s.DesiredHint(t.Context(), []string{filepath.Join(root, "native", "c"), filepath.Join(root, "native", "a")})
	require.NoError(t, err)
	assert.Contains(t, reads, filepath.Join(root, "native", "a"))
	assert.Equal(t, filepath.Join(root, "native", "a", "libc.so"), d.Plugins[0].Library)
	require.NoError(t, os.Rename(filepath.Join(root, "native", "a"), filepath.Join(root, "native", "c")))

	// An event from inside a folder that is gone (renamed away) reads everything.
	reads = nil
	_, err = s.DesiredHint(t.Context(), []string{filepath.Join(root, "native", "gone", "libx.so")})
	require.NoError(t, err)
	assert.Len(t, reads, 6)

	// A path elsewhere (a marketplace bundle, the root itself) reads everything.
	for _, p := range []string{filepath.Join(root, "bundles", "x"), root, filepath.Join(root, "native")} {
		reads = nil
		_, err = s.DesiredHint(t.Context(), []string{p})
		require.NoError(t, err)
		assert.Len(t, reads, 6, p) // root, active, native and the three bundles
	}
}

func TestCrashedIsRememberedByIdentity(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "abort", Crash: "ctor_abort"}, filepath.Join(root, "native", "abort", "libabort.so"))
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "native", "gain", "libgain.so"))
	helpers := probe.New(probe.Options{Timeout: time.Second})
	defer helpers.Close()
	probes := &counting{p: helpers}
	c, err := NewController(ControllerOptions{Options: Options{Root: root, Prober: probes}})
	require.NoError(t, err)
	defer c.Close(context.Background())
	for range 3 {
		_, err := c.Reconcile(t.Context(), false)
		require.NoError(t, err)
		_, err = c.ReconcileHint(t.Context(), []string{filepath.Join(root, "native", "gain")})
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, probes.n.Load())
	assert.Equal(t, state.Error, codes(c.scan.mustDesired(t))[state.Key{Path: filepath.Join(root, "native", "abort", "libabort.so"), Code: state.Crashed}])
}

func (s *Scanner) mustDesired(t *testing.T) *Desired {
	t.Helper()
	d, err := s.Desired(t.Context())
	require.NoError(t, err)
	return d
}

// A full pass takes a bundle folder as the last pass read it when the folder and
// every file it was read from are unchanged (a stat each, no listing, no read), and
// reads it again when any of them changed: a manifest rewritten in place, the
// folder's entries, a library.
func TestFullPassReadsAgainOnlyWhatChanged(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "gain")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libgain.so"))
	write(t, filepath.Join(dir, "plugin.yml"), "id: gain\nversion: 1.0.0\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n")
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	// Every file is older than the coarse clock's doubt (racy) at the passes' time.
	s.now = func() time.Time { return time.Now().Add(2 * racy) }
	listed := 0
	s.readDir = func(d string) ([]fs.DirEntry, error) {
		if d == dir {
			listed++
		}
		return os.ReadDir(d)
	}
	version := func() string {
		t.Helper()
		d, err := s.Desired(t.Context())
		require.NoError(t, err)
		require.Len(t, d.Plugins, 1, "%v", d.Problems)
		return d.Plugins[0].Version
	}
	// The first passes list it (and see the private copy of its probe come and go).
	assert.Equal(t, "1.0.0", version())
	assert.Equal(t, "1.0.0", version())
	n := listed
	assert.Equal(t, "1.0.0", version())
	assert.Equal(t, n, listed, "an unchanged folder is listed again")

	// The manifest rewritten in place, same size: the folder is unchanged, the file not.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.yml"),
		[]byte("id: gain\nversion: 2.0.0\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n"), 0o644))
	assert.Equal(t, "2.0.0", version())
	assert.Equal(t, n+1, listed)

	// An entry added to the folder.
	write(t, filepath.Join(dir, "README"), "x")
	assert.Equal(t, "2.0.0", version())
	assert.Equal(t, n+2, listed)
	assert.Equal(t, "2.0.0", version())
	assert.Equal(t, n+2, listed)

	// A timestamp too close to the read proves nothing: read again.
	s.now = time.Now
	write(t, filepath.Join(dir, "NOTES"), "x")
	version()
	n = listed
	version()
	assert.Equal(t, n+1, listed, "a folder read within a second of its change is trusted")
}

// An event from a bundle folder whose files did not change (a README edited) reads
// it again and settles at once; the library is not probed again.
func TestHintPassOverAnUnchangedFolder(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "gain")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libgain.so"))
	probes := &counting{p: InProcess(native.DefaultRange())}
	s, err := NewScanner(Options{Root: root, Prober: probes})
	require.NoError(t, err)
	s.now = func() time.Time { return time.Now().Add(2 * racy) }
	for range 2 {
		_, err := s.Desired(t.Context())
		require.NoError(t, err)
	}
	write(t, filepath.Join(dir, "README"), "notes")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := s.DesiredHint(ctx, []string{filepath.Join(dir, "README")})
	require.NoError(t, err)
	assert.Len(t, d.Plugins, 1)
	assert.EqualValues(t, 1, probes.n.Load())
}

// A full pass that takes unchanged folders as they were still sees native/ made
// writable by everyone.
func TestFullPassSeesPermissionsOfNative(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "native", "gain", "libgain.so"))
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	s.now = func() time.Time { return time.Now().Add(2 * racy) }
	for range 2 {
		d, err := s.Desired(t.Context())
		require.NoError(t, err)
		require.Len(t, d.Plugins, 1)
	}
	native := filepath.Join(root, "native")
	require.NoError(t, os.Chmod(native, 0o777))
	t.Cleanup(func() { os.Chmod(native, 0o755) })
	d, err := s.Desired(t.Context())
	require.NoError(t, err)
	assert.Empty(t, d.Plugins)
	assert.Equal(t, state.Error, codes(d)[state.Key{Path: native, Code: state.UnsafePermissions}], "%v", d.Problems)
}
