package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// Hostile libraries and files under a running daemon: nothing deletes, crashes or
// hangs it.

// hostileBundle makes native/<name>/ holding the hostile variant's library and a
// manifest naming it.
func hostileBundle(t *testing.T, root, variant string) string {
	t.Helper()
	lib := filepath.Join(root, "native", variant, "lib"+variant+".so")
	require.NoError(t, os.MkdirAll(filepath.Dir(lib), 0o755))
	data, err := os.ReadFile(plugintest.Hostile(t, variant))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	writeFile(t, filepath.Join(root, "native", variant, "plugin.yml"), manifestFor(variant, "1.0.0", variant))
	return lib
}

// goodBundle moves a well-formed bundle of kind into the root.
func goodBundle(t *testing.T, root, kind string) {
	t.Helper()
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: kind}, "1.0.0"), filepath.Join(root, "native", kind)))
}

func problemOf(st *state.State, path string, code state.Code) *state.Problem {
	for i, p := range st.Problems {
		if p.Path == path && p.Code == code {
			return &st.Problems[i]
		}
	}
	return nil
}

// tryState is state for a daemon that may die: nil when it does not answer.
func (d *daemon) tryState() *state.State {
	resp, err := http.Get("http://" + d.addr + "/v1/state")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st state.State
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	return &st
}

// stopWithin sends SIGTERM and fails unless the daemon exits 0 within limit.
func (d *daemon) stopWithin(limit time.Duration) {
	d.t.Helper()
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		assert.NoError(d.t, err, "exit status\n%s", d.log)
		assert.Less(d.t, time.Since(start), limit, "SIGTERM took too long")
		d.done <- err // for the cleanup's stop
	case <-time.After(limit):
		d.t.Fatalf("plugwatch run did not stop within %v of SIGTERM\n%s", limit, d.log)
	}
}

// A FIFO named as the entrypoint, or as the library of a folder without a manifest,
// is never opened for reading: missing_library, the neighbour loads, and SIGTERM is
// answered at once.
func TestRunFIFOEntrypoint(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "x")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "libx.so"), 0o644))
	writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor("x", "1.0.0", "x"))
	bare := filepath.Join(root, "native", "y")
	require.NoError(t, os.MkdirAll(bare, 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(bare, "liby.so"), 0o644))
	goodBundle(t, root, "echo")
	d := startDaemon(t, root)
	st := d.waitFor("echo loaded", loadedWith("plugin::native::echo", ""))
	p := problemOf(st, filepath.Join(dir, "plugin.yml"), state.MissingLibrary)
	require.NotNil(t, p, "the FIFO is missing_library\n%s", d.log)
	assert.Contains(t, p.Message, "not a regular file")
	p = problemOf(st, filepath.Join(bare, "liby.so"), state.MissingLibrary)
	require.NotNil(t, p, "the FIFO of a folder without a manifest is missing_library\n%v", st.Problems)
	assert.Contains(t, p.Message, "not a regular file")
	assert.NotNil(t, problemOf(st, bare, state.NoManifest))
	resp, _ := d.get("/healthz")
	assert.Equal(t, 200, resp.StatusCode)
	d.stopWithin(10 * time.Second)
}

// A constructor that binds a port, or takes a lock, and aborts when it cannot: the
// probe helper has let go of it before plugwatch opens the library, which loads.
func TestRunPortAndLockConstructorsLoad(t *testing.T) {
	root := newRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Setenv("HOSTILE_PORT", strings.TrimPrefix(l.Addr().String(), "127.0.0.1:"))
	t.Setenv("HOSTILE_LOCK", filepath.Join(t.TempDir(), "lock"))
	_ = port
	hostileBundle(t, root, "bind_port")
	hostileBundle(t, root, "flock")
	d := startDaemon(t, root)
	d.waitFor("both loaded", func(st *state.State) bool {
		return plugin(st, "plugin::native::bind_port") != nil && plugin(st, "plugin::native::flock") != nil
	})
	d.stopWithin(10 * time.Second)
}

// A constructor that forks is refused (load_failed, "starts a process when
// loaded"); nothing it started is left running.
func TestRunForkingConstructorIsRefused(t *testing.T) {
	root := newRoot(t)
	pids := filepath.Join(t.TempDir(), "pids")
	t.Setenv("HOSTILE_PIDFILE", pids)
	lib := hostileBundle(t, root, "fork")
	goodBundle(t, root, "echo")
	d := startDaemon(t, root)
	st := d.waitFor("fork refused", func(st *state.State) bool { return problemOf(st, lib, state.LoadFailed) != nil })
	assert.Contains(t, problemOf(st, lib, state.LoadFailed).Message, "starts a process when loaded")
	assert.NotNil(t, plugin(st, "plugin::native::echo"))
	d.stopWithin(10 * time.Second)
	data, _ := os.ReadFile(pids)
	for _, line := range strings.Fields(string(data)) {
		out, _ := exec.Command("sh", "-c", "kill -0 "+line+" 2>/dev/null && echo alive").Output()
		assert.Empty(t, strings.TrimSpace(string(out)), "process %s the library started is still running", line)
	}
}

// A bad manifest with a modification time a day ahead is judged once it has been
// quiet, not held back until its mtime.
func TestRunFutureMtimeIsJudged(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	src := filepath.Join(t.TempDir(), "bad")
	writeFile(t, filepath.Join(src, "plugin.yml"), "id: [not yaml")
	future := time.Now().Add(24 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(src, "plugin.yml"), future, future))
	require.NoError(t, os.Rename(src, filepath.Join(root, "native", "bad")))
	d.waitFor("bad_manifest", func(st *state.State) bool {
		return hasProblem(st, filepath.Join(root, "native", "bad", "plugin.yml"), state.BadManifest)
	})
}

// A library whose path is near the file system's limit loads under run too: its
// private copy's name is shortened to fit.
func TestRunLongPathLoads(t *testing.T) {
	root := newRoot(t)
	dir := longDir(root, 4000)
	lib := filepath.Join(dir, "lib"+strings.Repeat("x", 4080-len(dir)-7)+".so")
	require.GreaterOrEqual(t, len(lib), 4080)
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "long"}))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	longManifest(t, root, lib)
	d := startDaemon(t, root)
	d.waitFor("long loaded", loadedWith("plugin::native::long", ""))
}

// longDir returns a folder below native/long/ of the root whose path is n bytes long.
func longDir(root string, n int) string {
	dir := filepath.Join(root, "native", "long")
	for len(dir) < n {
		dir = filepath.Join(dir, strings.Repeat("d", min(200, n-len(dir))))
	}
	return dir
}

// longManifest writes native/long/plugin.yml of the root, naming lib (below the
// folder) as the entrypoint of kind long.
func longManifest(t *testing.T, root, lib string) {
	t.Helper()
	rel, err := filepath.Rel(filepath.Join(root, "native", "long"), lib)
	require.NoError(t, err)
	writeFile(t, filepath.Join(root, "native", "long", "plugin.yml"),
		"id: long\nversion: 1.0.0\nnode_kind: long\nkind: native\nentrypoint: "+rel+"\n")
}

// A plugin with a helper library, its name near 255 bytes and its path near 4,095,
// loads: the private folder its copies go in is named to fit as well.
func TestRunLongPathWithHelperLoads(t *testing.T) {
	root := newRoot(t)
	dir := longDir(root, 3700)
	base := "lib" + strings.Repeat("x", 246) + ".so"
	require.Len(t, base, 252)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	plugintest.HelperLibrary(t, 1, filepath.Join(dir, "libskhelper.so"))
	lib := filepath.Join(dir, base)
	plugintest.UsesHelper(t, "long", "with a helper", lib)
	longManifest(t, root, lib)
	d := startDaemon(t, root)
	d.waitFor("long loaded", loadedWith("plugin::native::long", "with a helper"))
	assert.NotContains(t, d.log.String(), "cannot make a private copy")
	d.stopWithin(10 * time.Second)
}

// A process limit never crashes plugwatch: with few open files allowed, or a low
// vm.max_map_count (a seam: PLUGWATCH_MAX_MAP_COUNT), the libraries that would pass
// the limit are load_failed naming the setting to raise, the daemon lives, and the
// others load.
func TestRunProcessLimits(t *testing.T) {
	for _, tc := range []struct {
		name, setting string
		start         func(t *testing.T, root string) *daemon
	}{
		{"open files", "ulimit -n", func(t *testing.T, root string) *daemon {
			// The shell lowers the limit (soft and hard), then becomes plugwatch.
			script := filepath.Join(t.TempDir(), "lowfiles.sh")
			writeFile(t, script, "ulimit -n 72 && exec \"$@\"\n")
			return startCommand(t, root, []string{"sh", script})
		}},
		{"memory mappings", "sysctl vm.max_map_count", func(t *testing.T, root string) *daemon {
			maps, err := os.ReadFile("/proc/self/maps")
			require.NoError(t, err)
			// Room for the daemon itself and a few plugins, not for all of them.
			t.Setenv("PLUGWATCH_MAX_MAP_COUNT", strconv.Itoa(strings.Count(string(maps), "\n")+700))
			return startDaemon(t, root)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "k0000"}))
			require.NoError(t, err)
			const n = 60
			for i := range n {
				kind := fmt.Sprintf("k%04d", i)
				dir := filepath.Join(root, "native", kind)
				require.NoError(t, os.MkdirAll(dir, 0o755))
				lib := bytes.Replace(data, []byte("k0000\x00"), []byte(kind+"\x00"), 1)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "lib"+kind+".so"), lib, 0o755))
				writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor(kind, "1.0.0", kind))
			}
			d := tc.start(t, root)
			st := d.waitFor("every library judged", func(st *state.State) bool {
				failed := 0
				for _, p := range st.Problems {
					if p.Code == state.LoadFailed {
						failed++
					}
				}
				return failed > 0 && len(st.Plugins)+failed == n
			})
			assert.NotEmpty(t, st.Plugins, "the others load")
			for _, p := range st.Problems {
				if p.Code == state.LoadFailed {
					assert.Contains(t, p.Message, tc.setting)
				}
			}
			resp, _ := d.get("/healthz")
			assert.Equal(t, 200, resp.StatusCode, "the daemon lives")
			d.stopWithin(10 * time.Second)
		})
	}
}

// A plugin that needs a helper library beside it ($ORIGIN): the helper is never
// mapped from the user's file either, so a helper copied over in place, then a new
// plugin build, cannot crash plugwatch; the new build loads.
func TestRunHelperLibraryIsPrivate(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "x")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	plugintest.HelperLibrary(t, 1, filepath.Join(dir, "libskhelper.so"))
	plugintest.UsesHelper(t, "x", "build 1", filepath.Join(dir, "libx.so"))
	writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor("x", "1.0.0", "x"))
	d := startDaemon(t, root)
	d.waitFor("build 1", loadedWith("plugin::native::x", "build 1"))
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", d.cmd.Process.Pid))
	require.NoError(t, err)
	assert.NotContains(t, string(maps), filepath.Join(dir, "libskhelper.so")+"\n", "the user's helper is mapped")
	assert.NotContains(t, string(maps), filepath.Join(dir, "libx.so")+"\n", "the user's plugin is mapped")

	// The helper updated in place, then a new plugin build (linked elsewhere).
	build := t.TempDir()
	plugintest.HelperLibrary(t, 2, filepath.Join(build, "libskhelper.so"))
	plugintest.UsesHelper(t, "x", "build 2", filepath.Join(build, "libx.so"))
	for _, name := range []string{"libskhelper.so", "libx.so"} {
		msg, err := exec.Command("cp", filepath.Join(build, name), filepath.Join(dir, name)).CombinedOutput()
		require.NoError(t, err, "%s", msg)
	}
	d.waitFor("build 2", loadedWith("plugin::native::x", "build 2"))
	resp, _ := d.get("/healthz")
	assert.Equal(t, 200, resp.StatusCode)
	d.stopWithin(10 * time.Second)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"libskhelper.so", "libx.so", "plugin.yml"}, names, "no private folder left")
}

// A helper library changed alone (cp of a new helper build over it, the plugin
// untouched) reloads the plugin that loads it: one reloaded event, and what the
// daemon has mapped is a private copy of the new helper, never the user's file;
// whether the plugin finds it through $ORIGIN or a run path naming the folder.
func TestRunChangedHelperReloadsItsPlugin(t *testing.T) {
	for _, absolute := range []bool{false, true} {
		t.Run(fmt.Sprintf("absolute=%v", absolute), func(t *testing.T) { testChangedHelper(t, absolute) })
	}
}

func testChangedHelper(t *testing.T, absolute bool) {
	root := newRoot(t)
	dir := filepath.Join(root, "native", "x")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	plugintest.HelperLibrary(t, 1, filepath.Join(dir, "libskhelper.so"))
	runpath := "$ORIGIN"
	if absolute {
		runpath = dir
	}
	plugintest.UsesHelperAt(t, "x", "build 1", filepath.Join(dir, "libx.so"), runpath)
	writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor("x", "1.0.0", "x"))
	d := startDaemon(t, root)
	ev := d.subscribe()
	d.waitFor("build 1", loadedWith("plugin::native::x", "build 1"))

	v2 := filepath.Join(t.TempDir(), "libskhelper.so")
	plugintest.HelperLibrary(t, 2, v2)
	want, err := os.ReadFile(v2)
	require.NoError(t, err)
	msg, err := exec.Command("cp", v2, filepath.Join(dir, "libskhelper.so")).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	assert.Equal(t, []string{"reloaded plugin::native::x"}, ev.waitEvents(t, 1), "%s", d.log)

	// The helper the daemon maps now holds the new build's bytes, from a private copy.
	var userMapped atomic.Bool
	require.Eventually(t, func() bool {
		maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", d.cmd.Process.Pid))
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(maps), "\n") {
			f := strings.Fields(line)
			if len(f) < 6 {
				continue
			}
			path := f[len(f)-1]
			if path == filepath.Join(dir, "libskhelper.so") {
				userMapped.Store(true)
			}
			if filepath.Dir(filepath.Dir(path)) != dir { // a private folder's file
				continue
			}
			if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, want) {
				return true
			}
		}
		return false
	}, deadline, 10*time.Millisecond, "no private copy of the new helper mapped\n%s", func() string { m, _ := os.ReadFile(fmt.Sprintf("/proc/%d/maps", d.cmd.Process.Pid)); return string(m) }())
	assert.False(t, userMapped.Load(), "the user's helper is mapped")
	assert.Equal(t, []string{"reloaded plugin::native::x"}, ev.types())
	assert.Empty(t, d.errorLines(), "%s", d.log)
	d.stopWithin(10 * time.Second)
}

// A constructor slower than the default time limit loads when --probe-timeout allows
// it: the limit holds for the probe and for the open in plugwatch's process alike.
func TestRunProbeTimeoutHoldsForTheOpen(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "slow", SlowMs: 6000}, filepath.Join(root, "native", "slow", "libslow.so"))
	writeFile(t, filepath.Join(root, "native", "slow", "plugin.yml"), manifestFor("slow", "1.0.0", "slow"))
	d := startDaemon(t, root, "--probe-timeout", "30s")
	st := d.waitFor("slow loaded", func(st *state.State) bool {
		return slices.ContainsFunc(st.Plugins, func(p state.Plugin) bool { return p.Kind == "plugin::native::slow" }) ||
			len(st.Problems) > 0
	})
	assert.Empty(t, st.Problems)
	assert.Len(t, st.Plugins, 1)
}

// A root on a full file system: a bundle dropped while no private copy can be made
// is not loaded and not judged (one WARN line naming the library and the error,
// nothing in the state), the daemon and its other plugins go on, and once space is
// freed the bundle loads by itself: no signal, no resync, no problem left.
func TestRunFullFileSystem(t *testing.T) {
	inSmallFileSystem(t, "4m", func(mnt string) {
		root := filepath.Join(mnt, ".plugins")
		require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
		gainBundle(t, root, plugintest.Spec{Kind: "gain", Description: "gain"})
		// The bundle to drop, prepared on the same file system (a rename moves no data).
		ready := filepath.Join(mnt, "ready", "late")
		plugintest.Install(t, plugintest.Spec{Kind: "late"}, filepath.Join(ready, "liblate.so"))
		writeFile(t, filepath.Join(ready, "plugin.yml"), manifestFor("late", "1.0.0", "late"))
		d := startDaemon(t, root)
		d.waitFor("gain", loadedWith("plugin::native::gain", "gain"))

		// Fill the file system.
		filler := filepath.Join(mnt, "filler")
		f, err := os.Create(filler)
		require.NoError(t, err)
		chunk := make([]byte, 64<<10)
		for {
			if _, err := f.Write(chunk); err != nil {
				require.ErrorIs(t, err, syscall.ENOSPC)
				break
			}
		}
		for _, n := range []int{4096, 512, 1} { // the last pages too
			for {
				if _, err := f.Write(chunk[:n]); err != nil {
					break
				}
			}
		}
		f.Close()

		require.NoError(t, os.Rename(ready, filepath.Join(root, "native", "late")))
		d.waitLog("cannot make a private copy of a library")
		assert.Contains(t, d.log.String(), filepath.Join(root, "native", "late", "liblate.so"))
		assert.Contains(t, d.log.String(), "no space left on device")
		// Two more tries, a second apart, while the disk is still full.
		require.Eventually(t, func() bool {
			return strings.Count(d.log.String(), "a private copy still cannot be made") >= 2
		}, deadline, 10*time.Millisecond, "the copy is tried again while the disk is full")
		assert.Equal(t, 1, strings.Count(d.log.String(), "cannot make a private copy of a library"), "one line, not one a try")
		st := d.state()
		assert.Empty(t, st.Problems, "a copy that could not be made is no verdict")
		resp, _ := d.get("/healthz")
		assert.Equal(t, 200, resp.StatusCode)

		require.NoError(t, os.Remove(filler))
		st = d.waitFor("late loaded once space is freed", func(st *state.State) bool {
			return slices.ContainsFunc(st.Plugins, func(p state.Plugin) bool { return p.Kind == "plugin::native::late" })
		})
		assert.Empty(t, st.Problems)
		assert.Equal(t, 1, strings.Count(d.log.String(), "cannot make a private copy of a library"), "one line, not one a second")
		d.stopWithin(10 * time.Second)
	})
}

// The private copies of a killed daemon are removed at the next start wherever they
// were: below a root given as a symlink, beside an entrypoint five folders deep, in a
// --trust folder.
func TestRunKilledDaemonsCopiesAreRemoved(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real", ".plugins")
	require.NoError(t, os.MkdirAll(filepath.Join(real, "native"), 0o755))
	root := filepath.Join(base, "link", ".plugins")
	require.NoError(t, os.MkdirAll(filepath.Dir(root), 0o755))
	require.NoError(t, os.Symlink(real, root))
	// An entrypoint five folders deep.
	deep := filepath.Join(root, "native", "deep", "a", "b", "c", "d", "e", "libdeep.so")
	plugintest.Install(t, plugintest.Spec{Kind: "deep"}, deep)
	writeFile(t, filepath.Join(root, "native", "deep", "plugin.yml"),
		"id: deep\nversion: 1.0.0\nnode_kind: deep\nkind: native\nentrypoint: a/b/c/d/e/libdeep.so\n")
	// A marketplace record whose entrypoint lies in a --trust folder.
	trust := filepath.Join(base, "trusted")
	lib := plugintest.Install(t, plugintest.Spec{Kind: "market"}, filepath.Join(trust, "libmarket.so"))
	writeFile(t, filepath.Join(root, "active", "market.json"), fmt.Sprintf(
		`{"plugin_id":"market","version":"1.0.0","node_kind":"market","kind":"native","entrypoint":%q,"installed_at_ms":1}`, lib))
	copies := func() []string {
		var out []string
		for _, dir := range []string{real, trust} {
			filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
				if err == nil && strings.Contains(e.Name(), ".plugwatch-") {
					out = append(out, path)
				}
				return nil
			})
		}
		return out
	}

	first := startDaemon(t, root, "--trust", trust)
	first.waitFor("both loaded", func(st *state.State) bool {
		return plugin(st, "plugin::native::deep") != nil && plugin(st, "plugin::native::market") != nil
	})
	require.Len(t, copies(), 2, "a private copy of each")
	require.NoError(t, first.cmd.Process.Kill())
	<-first.done
	require.Len(t, copies(), 2, "the killed daemon left its copies")

	second := startDaemon(t, root, "--trust", trust)
	second.waitLog("removed private copies left by earlier runs")
	second.waitFor("both loaded", func(st *state.State) bool {
		return plugin(st, "plugin::native::deep") != nil && plugin(st, "plugin::native::market") != nil
	})
	assert.Len(t, copies(), 2, "only the new daemon's own copies are left")
	for _, c := range copies() {
		assert.Contains(t, c, fmt.Sprintf(".plugwatch-%d-", second.cmd.Process.Pid))
	}
}
