package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// The daemon's loop as a user drives it: bundles moved, copied, rebuilt and removed
// under a running plugwatch (see daemon_test.go for the harness).

func TestRunFolderMovedInCopiedInAndRemoved(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	resp, body := d.get("/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", string(body))

	ev := d.subscribe()
	// Moved in whole with mv.
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "gain", Description: "moved"}, "1.0.0"), filepath.Join(root, "native", "gain")))
	d.waitFor("gain loaded", loadedWith("plugin::native::gain", "moved"))
	// Copied in with cp -r.
	src := bundle(t, plugintest.Spec{Kind: "echo", Description: "copied"}, "1.0.0")
	require.NoError(t, exec.Command("cp", "-r", src, filepath.Join(root, "native", "echo")).Run())
	st := d.waitFor("echo loaded", loadedWith("plugin::native::echo", "copied"))
	assert.Empty(t, st.Problems)
	// Moved away: unloaded, and its private copy does not travel with it.
	d.moveAway(root, "gain", "plugin::native::gain", "the private copy is removed from the moved folder")
	// Removed.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "native", "echo")))
	d.waitFor("echo unloaded", gone("plugin::native::echo"))
	require.Eventually(t, func() bool { return len(ev.types()) >= 4 }, deadline, time.Millisecond)
	assert.Equal(t, []string{"loaded plugin::native::gain", "loaded plugin::native::echo", "unloaded plugin::native::gain", "unloaded plugin::native::echo"}, ev.types())
}

func TestRunRebuildInPlaceAndBrokenRebuild(t *testing.T) {
	root := newRoot(t)
	lib := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "v1"}, lib)
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	d := startDaemon(t, root, "--debounce", "20ms")
	d.waitFor("v1", loadedWith("plugin::native::gain", "v1"))

	// cp over the loaded file: the daemon lives and serves the new version.
	require.NoError(t, exec.Command("cp", plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "v2"}), lib).Run())
	d.waitFor("v2", loadedWith("plugin::native::gain", "v2"))

	// A broken rebuild (an API version out of range) keeps v2 loaded, stale.
	require.NoError(t, exec.Command("cp", plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: 12}), lib).Run())
	st := d.waitFor("stale v2", func(st *state.State) bool {
		p := plugin(st, "plugin::native::gain")
		return p != nil && p.Stale && hasProblem(st, lib, state.ABIVersion)
	})
	assert.Equal(t, "v2", plugin(st, "plugin::native::gain").Description)

	// Fixed: v3, not stale, problem resolved.
	require.NoError(t, exec.Command("cp", plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "v3"}), lib).Run())
	st = d.waitFor("v3", loadedWith("plugin::native::gain", "v3"))
	assert.False(t, plugin(st, "plugin::native::gain").Stale)
	assert.Empty(t, st.Problems)
}

func TestRunRecordOverLocalBundle(t *testing.T) {
	root := newRoot(t)
	local := filepath.Join(root, "native", "gain", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "local"}, local)
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.1.0", "gain"))
	d := startDaemon(t, root)
	d.waitFor("local", loadedWith("plugin::native::gain", "local"))

	// The marketplace installer unpacks its bundle, then writes the record.
	market := filepath.Join(root, "bundles", "gain", "1.2.0", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "market"}, market)
	record := filepath.Join(root, "active", "gain.json")
	writeFile(t, record, `{"plugin_id":"gain","version":"1.2.0","node_kind":"gain","kind":"native","entrypoint":".plugins/bundles/gain/1.2.0/libgain.so","installed_at_ms":1764000000000}`)
	st := d.waitFor("market", loadedWith("plugin::native::gain", "market"))
	require.True(t, hasProblem(st, local, state.VersionDiverged), "%+v", st.Problems)
	require.Len(t, st.Skipped, 1)
	assert.Equal(t, state.Shadowed, st.Skipped[0].Reason)
	// The warning names both versions and both paths.
	d.waitLog(`"msg":"problem","code":"version_diverged","path":"` + filepath.Join(root, "native", "gain", "libgain.so") +
		`","message":"marketplace gain 1.2.0 (.plugins/bundles/gain/1.2.0/libgain.so) shadows local gain 1.1.0 (.plugins/native/gain/libgain.so); `)

	require.NoError(t, os.Remove(record))
	st = d.waitFor("local again", loadedWith("plugin::native::gain", "local"))
	assert.Empty(t, st.Problems)
	assert.Empty(t, st.Skipped)
}

// When the plugin that provides a kind goes, the claimant it pushed aside takes the
// kind in one generation: its library is opened before the old one is closed, and
// until then the document stays as it was (no generation without a visible change,
// and never a state with the claimant neither loaded nor skipped). Both ways a
// claimant is pushed aside: a conflict between two folders (the first removed with
// rm -r), and a marketplace record over a local bundle (the record removed).
func TestRunWinnerRemovedInOneGeneration(t *testing.T) {
	t.Run("conflict", func(t *testing.T) {
		root := newRoot(t)
		plugintest.Install(t, plugintest.Spec{Kind: "vad"}, filepath.Join(root, "native", "a", "libvad.so"))
		plugintest.Install(t, plugintest.Spec{Kind: "vad"}, filepath.Join(root, "native", "b", "libvad.so"))
		d := startDaemon(t, root)
		st := d.waitFor("a loaded, b skipped", func(st *state.State) bool { return len(st.Plugins) == 1 && len(st.Skipped) == 1 })
		require.Equal(t, filepath.Join(root, "native", "a", "libvad.so"), st.Plugins[0].Library)
		ev := d.subscribe()
		require.NoError(t, exec.Command("rm", "-r", filepath.Join(root, "native", "a")).Run())
		d.takesOver(ev, st.Generation, filepath.Join(root, "native", "b", "libvad.so"),
			[]string{"unloaded plugin::native::vad", "loaded plugin::native::vad", "resolved no_manifest"})
	})
	t.Run("shadowed", func(t *testing.T) {
		root := newRoot(t)
		local := filepath.Join(root, "native", "gain", "libgain.so")
		plugintest.Install(t, plugintest.Spec{Kind: "gain"}, local)
		writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.1.0", "gain"))
		plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "bundles", "gain", "1.2.0", "libgain.so"))
		record := filepath.Join(root, "active", "gain.json")
		writeFile(t, record, `{"plugin_id":"gain","version":"1.2.0","node_kind":"gain","kind":"native","entrypoint":".plugins/bundles/gain/1.2.0/libgain.so","installed_at_ms":1764000000000}`)
		d := startDaemon(t, root)
		st := d.waitFor("the record's loaded, the local shadowed", func(st *state.State) bool {
			return len(st.Plugins) == 1 && len(st.Skipped) == 1 && hasProblem(st, local, state.VersionDiverged)
		})
		ev := d.subscribe()
		require.NoError(t, os.Remove(record))
		d.takesOver(ev, st.Generation, local,
			[]string{"unloaded plugin::native::gain", "loaded plugin::native::gain", "resolved version_diverged"})
	})
}

// takesOver waits until lib is loaded alone with nothing skipped, and checks that it
// took one generation after gen, with exactly the events want.
func (d *daemon) takesOver(ev *events, gen uint64, lib string, want []string) {
	d.t.Helper()
	st := d.waitFor("the claimant loaded", func(st *state.State) bool {
		return len(st.Plugins) == 1 && st.Plugins[0].Library == lib && len(st.Skipped) == 0
	})
	assert.Equal(d.t, gen+1, st.Generation, "one generation for the change")
	assert.Equal(d.t, want, ev.waitEvents(d.t, len(want)))
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.list {
		assert.Equal(d.t, gen+1, e.Generation, "%s %s", e.Type, e.Kind)
	}
}

func TestRunBareLibraryThenMovedIntoAFolder(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	bare := filepath.Join(root, "native", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, bare)
	d.waitFor("bare_library", func(st *state.State) bool { return hasProblem(st, bare, state.BareLibrary) })
	require.NoError(t, os.Mkdir(filepath.Join(root, "native", "gain"), 0o755))
	require.NoError(t, os.Rename(bare, filepath.Join(root, "native", "gain", "libgain.so")))
	st := d.waitFor("loaded", func(st *state.State) bool { return plugin(st, "plugin::native::gain") != nil })
	assert.False(t, hasProblem(st, bare, state.BareLibrary))
	// The log is read from the daemon's stderr as it comes: wait for the resolution,
	// logged after every warning about the bare library.
	d.waitLog(`"msg":"resolved","code":"bare_library"`)
	reported := 0
	for _, line := range strings.Split(d.log.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"code":"bare_library"`) {
			reported++
		}
	}
	assert.Equal(t, 1, reported, "a bare library is reported once, not on every pass")
}

func TestRunSlowWriteLoadsOnce(t *testing.T) {
	root := newRoot(t)
	// The writer's pace is a twentieth of the quiet period: a busy machine may stall
	// it many times over without a pass judging the library half-written.
	const debounce, pace = time.Second, 50 * time.Millisecond
	dir := filepath.Join(root, "native", "gain")
	require.NoError(t, os.Mkdir(dir, 0o755)) // empty: not a bundle yet
	d := startDaemon(t, root, "--debounce", debounce.String())
	ev := d.subscribe()
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "slow"}))
	require.NoError(t, err)
	piece := len(data) / 8
	// The first piece: the daemon looks at once (the first event after a quiet period)
	// and finds a library half-written.
	passes := d.reconciles()
	f, err := os.Create(filepath.Join(dir, "libgain.so"))
	require.NoError(t, err)
	_, err = f.Write(data[:piece])
	require.NoError(t, err)
	require.Eventually(t, func() bool { return d.reconciles() > passes }, deadline, time.Millisecond,
		"the daemon looks at the half-written library")
	// The rest, written slowly (the pace of the writer under test, not
	// synchronisation).
	for off := piece; off < len(data); off += piece {
		time.Sleep(pace)
		_, err := f.Write(data[off:min(off+piece, len(data))])
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	d.waitFor("loaded", loadedWith("plugin::native::gain", "slow"))
	require.Eventually(t, func() bool { return len(ev.types()) >= 1 }, deadline, time.Millisecond)
	assert.Equal(t, []string{"loaded plugin::native::gain"}, ev.types(), "no problem, reload or unload on the way\n%s", d.log)
}

func TestRunNativeDeletedAndRecreated(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "gain"}, "1.0.0"), filepath.Join(root, "native", "gain")))
	d.waitFor("loaded", func(st *state.State) bool { return plugin(st, "plugin::native::gain") != nil })
	require.NoError(t, os.RemoveAll(filepath.Join(root, "native")))
	d.waitFor("unloaded", gone("plugin::native::gain"))
	require.NoError(t, os.Mkdir(filepath.Join(root, "native"), 0o755))
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "echo"}, "1.0.0"), filepath.Join(root, "native", "echo")))
	d.waitFor("echo loaded", func(st *state.State) bool { return plugin(st, "plugin::native::echo") != nil })
}

func TestRunSIGHUPRescans(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	gen := d.waitFor("first pass", func(*state.State) bool { return true }).Generation
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	d.waitFor("a new generation", func(st *state.State) bool { return st.Generation == gen+1 })
}

func TestRunOnChange(t *testing.T) {
	root := newRoot(t)
	out := filepath.Join(t.TempDir(), "changes.jsonl")
	d := startDaemon(t, root, "--on-change", "cat >> "+out)
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "gain"}, "1.0.0"), filepath.Join(root, "native", "gain")))
	d.waitFor("loaded", func(st *state.State) bool { return plugin(st, "plugin::native::gain") != nil })
	var lines []string
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(out)
		lines = strings.Split(strings.TrimSpace(string(data)), "\n")
		return len(data) > 0
	}, deadline, time.Millisecond)
	var e state.Event
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &e))
	assert.Equal(t, state.Loaded, e.Type)
	assert.Equal(t, "plugin::native::gain", e.Kind)
}

func TestRunLargeCopyIsNeverCaughtHalfWay(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	ev := d.subscribe()
	// A 64 MiB library: the test plugin with padding after its end, which the
	// dynamic loader ignores. cp -r writes it in many pieces.
	src := bundle(t, plugintest.Spec{Kind: "gain", Description: "large"}, "1.0.0")
	f, err := os.OpenFile(filepath.Join(src, "libgain.so"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 64<<20))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, exec.Command("cp", "-r", src, filepath.Join(root, "native", "gain")).Run())
	d.waitFor("loaded", loadedWith("plugin::native::gain", "large"))
	require.Eventually(t, func() bool { return len(ev.types()) >= 1 }, deadline, time.Millisecond)
	assert.Equal(t, []string{"loaded plugin::native::gain"}, ev.types(), "one loaded event, no problem, reload or unload")
}

func TestStatus(t *testing.T) {
	root := newRoot(t)
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "gain"}, "1.0.0"), filepath.Join(root, "native", "gain")))
	d := startDaemon(t, root)
	d.waitFor("loaded", func(st *state.State) bool { return plugin(st, "plugin::native::gain") != nil })

	out, err := exec.Command("plugwatch", "status", "--addr", d.addr).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "plugin::native::gain")

	out, err = exec.Command("plugwatch", "status", "--json", "--addr", d.addr).Output()
	require.NoError(t, err)
	var st state.State
	require.NoError(t, json.Unmarshal(out, &st))
	assert.Equal(t, root, st.Root)
	assert.Len(t, st.Plugins, 1)

	// The same document as a scan of the same disk, but for the times.
	scan, err := exec.Command("plugwatch", "scan", "--json", "--root", root).Output()
	require.NoError(t, err)
	var sc state.State
	require.NoError(t, json.Unmarshal(scan, &sc))
	assert.Equal(t, summary(&sc), summary(&st))

	// Nothing listening: exit 1, one line.
	d.stop()
	cmd := exec.Command("plugwatch", "status", "--addr", d.addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr.String()), "\n")+1, stderr.String())
	assert.Contains(t, stderr.String(), "no plugwatch daemon answers at "+d.addr)
}

func TestRunListenInUse(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	cmd := exec.Command("plugwatch", "run", "--root", root, "--listen", d.addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, stderr.String(), "--listen "+d.addr+": cannot listen")
}

func TestRunHostileLibraries(t *testing.T) {
	root := newRoot(t)
	good := filepath.Join(root, "native", "good", "libgain.so")
	plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "good"}, good)
	d := startDaemon(t, root, "--probe-timeout", "1s", "--debounce", "20ms")
	d.waitFor("good loaded", loadedWith("plugin::native::gain", "good"))

	hostile := map[string]state.Code{}
	drop := func(name string, code state.Code, place func(dst string)) {
		dst := filepath.Join(t.TempDir(), name, "lib"+name+".so")
		place(dst)
		final := filepath.Join(root, "native", name)
		require.NoError(t, os.Rename(filepath.Dir(dst), final))
		hostile[filepath.Join(final, "lib"+name+".so")] = code
	}
	for _, crash := range []string{"entry_segv", "ctor_abort", "ctor_hang"} {
		drop(strings.ReplaceAll(crash, "_", ""), state.Crashed, func(dst string) {
			plugintest.Install(t, plugintest.Spec{Kind: "x" + strings.ReplaceAll(crash, "_", ""), Crash: crash}, dst)
		})
	}
	drop("cut", state.Incomplete, func(dst string) { plugintest.Truncated(t, plugintest.Spec{Kind: "cut"}, dst, 3000) })
	drop("arm", state.LoadFailed, func(dst string) { plugintest.ForeignArch(t, plugintest.Spec{Kind: "arm"}, dst) })
	drop("text", state.LoadFailed, func(dst string) { writeFile(t, dst, "not a library") })

	st := d.waitFor("every hostile library reported", func(st *state.State) bool {
		for path, code := range hostile {
			if !hasProblem(st, path, code) {
				return false
			}
		}
		return true
	})
	require.Len(t, st.Plugins, 1)
	assert.Equal(t, "good", st.Plugins[0].Description, "the good plugin stays loaded")

	// A crashed library is remembered by file identity: a full rescan does not
	// probe it again (no new helper is started for it).
	// (The log lags the state: wait for the lines that follow the ones counted.)
	d.waitLog(`"code":"crashed","path":"` + filepath.Join(root, "native", "ctorhang", "libctorhang.so"))
	helpers := strings.Count(d.log.String(), "probe helper started")
	gen := st.Generation
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	d.waitFor("the rescan", func(st *state.State) bool { return st.Generation > gen })
	d.waitLog(`"rescan":true`)
	assert.Equal(t, helpers, strings.Count(d.log.String(), "probe helper started"), d.log.String())
	resp, _ := d.get("/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the daemon lives")
}

func TestRunInstallAndRemoveOverHTTP(t *testing.T) {
	root := newRoot(t)
	t.Setenv("PLUGWATCH_ADMIN_TOKEN", "s3cret")
	d := startDaemon(t, root, "--max-upload", "1MiB")
	lib, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "uploaded"}))
	require.NoError(t, err)
	send := func(method, path, token string, body []byte) (int, string) {
		req, err := http.NewRequest(method, "http://"+d.addr+path, bytes.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tree := func() string {
		var out []string
		filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err == nil && !strings.Contains(p, ".plugwatch-") {
				info, _ := e.Info()
				out = append(out, fmt.Sprintf("%s %v %d", p, info.Mode(), info.Size()))
			}
			return nil
		})
		return strings.Join(out, "\n")
	}

	code, _ := send("POST", "/v1/plugins?filename=libgain.so", "", lib)
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = send("POST", "/v1/plugins?filename=libgain.so", "wrong", lib)
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = send("POST", "/v1/plugins?filename=../libgain.so", "s3cret", lib)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = send("POST", "/v1/plugins?filename=libbig.so", "s3cret", make([]byte, 2<<20))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	code, _ = send("POST", "/v1/plugins?filename=libtext.so", "s3cret", []byte("not a library"))
	assert.Equal(t, http.StatusUnprocessableEntity, code)

	code, body := send("POST", "/v1/plugins?filename=libgain.so", "s3cret", lib)
	require.Equal(t, http.StatusCreated, code, body)
	var created struct{ Path, Kind string }
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	assert.Equal(t, "plugin::native::gain", created.Kind)
	d.waitFor("the upload loaded", loadedWith("plugin::native::gain", "uploaded"))

	before := tree()
	code, _ = send("POST", "/v1/plugins?filename=libgain.so", "s3cret", lib) // the folder holds it
	assert.Equal(t, http.StatusConflict, code)
	code, _ = send("POST", "/v1/plugins?filename=gain2.so", "s3cret", lib) // the kind is provided
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, before, tree(), "a refused upload changes nothing")

	code, _ = send("DELETE", "/v1/plugins/gain", "", nil)
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = send("DELETE", "/v1/plugins/gain", "s3cret", nil)
	assert.Equal(t, http.StatusNoContent, code)
	d.waitFor("unloaded", gone("plugin::native::gain"))
	code, _ = send("DELETE", "/v1/plugins/gain", "s3cret", nil)
	assert.Equal(t, http.StatusNotFound, code)

	// Uploads of one kind in a row, faster than a pass loads the first: only the
	// first is placed, as scan would provide the kind by then.
	var codes []int
	for _, name := range []string{"libga.so", "libgb.so", "libgc.so"} {
		code, _ := send("POST", "/v1/plugins?filename="+name, "s3cret", lib)
		codes = append(codes, code)
	}
	assert.Equal(t, []int{http.StatusCreated, http.StatusConflict, http.StatusConflict}, codes)
	d.waitFor("the first loaded", loadedWith("plugin::native::gain", "uploaded"))
	for _, id := range []string{"gb", "gc"} {
		_, err := os.Stat(filepath.Join(root, "native", id))
		assert.ErrorIs(t, err, fs.ErrNotExist, id)
	}
}

func TestRunWithoutTokenRefusesWrites(t *testing.T) {
	root := newRoot(t)
	t.Setenv("PLUGWATCH_ADMIN_TOKEN", "")
	d := startDaemon(t, root)
	resp, err := http.Post("http://"+d.addr+"/v1/plugins?filename=libgain.so", "application/octet-stream", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestRunMetrics(t *testing.T) {
	root := newRoot(t)
	d := startDaemon(t, root)
	require.NoError(t, os.Rename(bundle(t, plugintest.Spec{Kind: "gain"}, "1.0.0"), filepath.Join(root, "native", "gain")))
	writeFile(t, filepath.Join(root, "native", "libstray.so"), "x")
	d.waitFor("loaded", func(st *state.State) bool {
		return plugin(st, "plugin::native::gain") != nil && len(st.Problems) == 1
	})
	resp, body := d.get("/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(body)
	assert.Contains(t, text, "plugwatch_loaded_plugins 1\n")
	assert.Contains(t, text, `plugwatch_problems{code="bare_library"} 1`)
	assert.Regexp(t, `plugwatch_reconciles_total [1-9]`, text)
	assert.Regexp(t, `plugwatch_fs_events_total [1-9]`, text)
	assert.Contains(t, text, "plugwatch_reconcile_duration_seconds_bucket")
	assert.Contains(t, text, "plugwatch_load_failures_total")
}

func TestRunTrustedBuildOutputIsWatched(t *testing.T) {
	root := newRoot(t)
	target := filepath.Join(t.TempDir(), "src", "gain", "target")
	lib := plugintest.Install(t, plugintest.Spec{Kind: "gain", Description: "build 1"}, filepath.Join(target, "libgain.so"))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native", "gain"), 0o755))
	require.NoError(t, os.Symlink(lib, filepath.Join(root, "native", "gain", "libgain.so")))
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	d := startDaemon(t, root, "--trust", target, "--debounce", "20ms")
	d.waitFor("build 1", loadedWith("plugin::native::gain", "build 1"))
	// The developer rebuilds: the linker writes the output in place.
	data, err := os.ReadFile(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: "build 2"}))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o755))
	st := d.waitFor("build 2", loadedWith("plugin::native::gain", "build 2"))
	assert.Equal(t, filepath.Join(root, "native", "gain", "libgain.so"), st.Plugins[0].Library)
}
