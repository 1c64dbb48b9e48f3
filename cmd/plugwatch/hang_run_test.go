package main

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/state"
)

// Libraries that crash or hang once plugwatch itself opens them (their probes pass):
// the daemon blames them, gives them up, and goes on (hostileBundle is in
// hostile_run_test.go).

// A library whose thread kills plugwatch 5 s after it was opened: the daemon dies;
// the libraries opened just before are opened again one at a time, alone, so the next
// death names the culprit alone. From then on it is crashed, naming the death, and
// everything else loads: no crash loop.
func TestRunCrashAfterOpenIsBlamedAtNextStart(t *testing.T) {
	root := newRoot(t)
	// Long enough for each start to be seen before the death, on a loaded machine.
	t.Setenv("HOSTILE_LATE_MS", "5000")
	// Only in plugwatch itself, never in a probe helper (which a loaded machine may
	// keep alive past the 5 s): this is the crash a probe cannot see.
	t.Setenv("HOSTILE_LATE_UNLESS", "PLUGWATCH_PROBE_HELPER")
	lib := hostileBundle(t, root, "late_crash")
	goodBundle(t, root, "echo")
	settled := func(st *state.State) bool {
		return plugin(st, "plugin::native::echo") != nil && problemOf(st, lib, state.Crashed) != nil
	}
	deaths := 0
	for start := 1; ; start++ {
		require.LessOrEqual(t, start, 4, "still not settled after %d deaths", deaths)
		d := startDaemon(t, root)
		died := false
		for end := time.Now().Add(40 * time.Second); time.Now().Before(end) && !died; {
			select {
			case <-d.done:
				died = true
				deaths++
				continue
			case <-time.After(50 * time.Millisecond): // polling interval
			}
			if st := d.tryState(); st != nil && settled(st) {
				p := problemOf(st, lib, state.Crashed)
				assert.Contains(t, p.Message, "plugwatch died")
				assert.Contains(t, p.Message, "s after opening it")
				assert.Nil(t, plugin(st, "plugin::native::late_crash"))
				assert.GreaterOrEqual(t, deaths, 1)
				// The daemon lives past the time the library would have killed it.
				time.Sleep(6 * time.Second) // the library's own delay, not synchronisation
				_, err := net.Dial("tcp", d.addr)
				require.NoError(t, err, "the daemon is alive")
				return
			}
		}
		require.True(t, died, "neither settled nor died\n%s", d.log)
	}
}

// A library whose constructor hangs only when plugwatch itself opens it (its probe
// passed): past --probe-timeout it is crashed, naming the hang. The constructor goes
// on holding the dynamic loader's lock, so a library dropped later is not opened
// (load_failed, saying to restart plugwatch); what was loaded before stays loaded, the
// daemon goes on serving, and SIGTERM still ends it within 10 s. The next plugwatch
// does not open the hanging library again, and loads the others.
func TestRunOpenThatHangsInPlugwatch(t *testing.T) {
	root := newRoot(t)
	t.Setenv("HOSTILE_HANG_UNLESS", "PLUGWATCH_PROBE_HELPER")
	goodBundle(t, root, "echo")
	d := startDaemon(t, root, "--probe-timeout", "1s")
	d.waitFor("echo loaded", loadedWith("plugin::native::echo", ""))

	lib := hostileBundle(t, root, "host_hang")
	st := d.waitFor("the hang judged", func(st *state.State) bool { return problemOf(st, lib, state.Crashed) != nil })
	assert.Equal(t, "library crashed or hung when opened: hung for more than 1s when opened in plugwatch; it is not opened again until the file changes",
		problemOf(st, lib, state.Crashed).Message)

	goodBundle(t, root, "gain")
	gain := filepath.Join(root, "native", "gain", "libgain.so")
	st = d.waitFor("gain refused", func(st *state.State) bool { return problemOf(st, gain, state.LoadFailed) != nil })
	assert.Equal(t, "not opened: the dynamic loader is held by "+lib+", which hung when opened in plugwatch; restart plugwatch to load it",
		problemOf(st, gain, state.LoadFailed).Message)
	assert.NotNil(t, plugin(st, "plugin::native::echo"), "what was loaded stays loaded")
	resp, _ := d.get("/healthz")
	assert.Equal(t, 200, resp.StatusCode)
	if raceBuild {
		// The race detector's runtime ends the process through the C library's
		// exit, whose handlers wait for the loader's lock; a plain build ends it
		// with exit_group, at once.
		d.cmd.Process.Kill()
		<-d.done
	} else {
		d.stopWithin(10 * time.Second)
		d.noCopyLeft()
	}

	d = startDaemon(t, root, "--probe-timeout", "1s")
	st = d.waitFor("the others loaded", func(st *state.State) bool {
		return plugin(st, "plugin::native::echo") != nil && plugin(st, "plugin::native::gain") != nil
	})
	p := problemOf(st, lib, state.Crashed)
	require.NotNil(t, p, "the hanging library is not opened again\n%s", d.log)
	assert.Contains(t, p.Message, "hung for more than 1s when opened in plugwatch")
	assert.Len(t, st.Plugins, 2)
	d.stopWithin(10 * time.Second)
}

// A constructor that hangs in plugwatch and then returns (once a file exists): the
// hanging library stays crashed; a library dropped while it hung is refused; once
// the open returned, the log says so and a rescan (SIGHUP) loads the refused one.
func TestRunOpenThatHangsThenReturns(t *testing.T) {
	root := newRoot(t)
	release := filepath.Join(t.TempDir(), "release")
	t.Setenv("HOSTILE_HANG_UNLESS", "PLUGWATCH_PROBE_HELPER")
	t.Setenv("HOSTILE_HANG_UNTIL", release)
	lib := hostileBundle(t, root, "host_hang")
	d := startDaemon(t, root, "--probe-timeout", "1s")
	d.waitFor("the hang judged", func(st *state.State) bool { return problemOf(st, lib, state.Crashed) != nil })

	goodBundle(t, root, "gain")
	gain := filepath.Join(root, "native", "gain", "libgain.so")
	d.waitFor("gain refused", func(st *state.State) bool { return problemOf(st, gain, state.LoadFailed) != nil })
	writeFile(t, release, "")
	d.waitLog(`"msg":"a library that hung when opened returned after all; the dynamic loader is free again","path":"` + lib + `"`)

	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	st := d.waitFor("gain loaded", func(st *state.State) bool { return plugin(st, "plugin::native::gain") != nil })
	assert.Nil(t, problemOf(st, gain, state.LoadFailed))
	assert.NotNil(t, problemOf(st, lib, state.Crashed), "the hanging library stays crashed")
	assert.Nil(t, plugin(st, "plugin::native::host_hang"))
	d.stopWithin(10 * time.Second)
}

// A plugin removed while another library's open hangs in plugwatch: the removal is
// applied at once (closing a library waits for the dynamic loader's lock, which the
// hanging constructor holds, but the pass does not wait for the close); once the
// constructor returns, the library loads, the removed plugin's library is closed and
// its private copy removed.
func TestRunUnloadWhileAnOpenHangs(t *testing.T) {
	root := newRoot(t)
	release, mark := filepath.Join(t.TempDir(), "release"), filepath.Join(t.TempDir(), "hanging")
	t.Setenv("HOSTILE_HANG_UNLESS", "PLUGWATCH_PROBE_HELPER")
	t.Setenv("HOSTILE_HANG_UNTIL", release)
	t.Setenv("HOSTILE_HANG_MARK", mark)
	goodBundle(t, root, "echo")
	d := startDaemon(t, root, "--probe-timeout", "60s")
	d.waitFor("echo loaded", loadedWith("plugin::native::echo", ""))
	ev := d.subscribe()

	// Made aside and moved in, so that the only events are the ones asserted.
	lib := hostileBundle(t, filepath.Join(t.TempDir(), ".plugins"), "host_hang")
	require.NoError(t, os.Rename(filepath.Dir(lib), filepath.Join(root, "native", "host_hang")))
	lib = filepath.Join(root, "native", "host_hang", filepath.Base(lib))
	require.Eventually(t, func() bool { _, err := os.Stat(mark); return err == nil }, deadline, time.Millisecond,
		"the constructor hangs in plugwatch")
	echo := filepath.Join(root, "native", "echo")
	away := filepath.Join(t.TempDir(), "echo")
	require.NoError(t, os.Rename(echo, away))
	st := d.waitFor("echo unloaded while the open hangs", gone("plugin::native::echo"))
	assert.Nil(t, plugin(st, "plugin::native::host_hang"), "still being opened")
	assert.Nil(t, problemOf(st, lib, state.Crashed))
	require.Eventually(t, func() bool { return len(ev.types()) >= 1 }, deadline, time.Millisecond)
	assert.Equal(t, []string{"unloaded plugin::native::echo"}, ev.types())

	writeFile(t, release, "")
	d.waitFor("host_hang loaded", loadedWith("plugin::native::host_hang", ""))
	require.Eventually(t, func() bool {
		entries, _ := os.ReadDir(away)
		return len(entries) == 2 // libecho.so and plugin.yml only
	}, deadline, time.Millisecond, "echo's private copy is removed once its library is closed")
	require.Eventually(t, func() bool { return len(ev.types()) >= 2 }, deadline, time.Millisecond)
	assert.Equal(t, []string{"unloaded plugin::native::echo", "loaded plugin::native::host_hang"}, ev.types())
	d.stopWithin(10 * time.Second)
	d.noCopyLeft()
}

// Plugins removed while an open hangs for good: the first one's close waits for the
// loader the hanging constructor holds, and that close holds up no other: once the
// open is judged hung, a plugin removed after it is unloaded and its private copy
// removed (its library is left mapped: the loader is held). SIGTERM still ends the
// daemon within 10 s.
func TestRunUnloadsWhileTheLoaderIsHeld(t *testing.T) {
	root := newRoot(t)
	mark := filepath.Join(t.TempDir(), "hanging")
	t.Setenv("HOSTILE_HANG_UNLESS", "PLUGWATCH_PROBE_HELPER")
	t.Setenv("HOSTILE_HANG_MARK", mark)
	goodBundle(t, root, "echo")
	goodBundle(t, root, "gain")
	d := startDaemon(t, root, "--probe-timeout", "3s")
	d.waitFor("echo and gain loaded", func(st *state.State) bool {
		return plugin(st, "plugin::native::echo") != nil && plugin(st, "plugin::native::gain") != nil
	})

	lib := hostileBundle(t, filepath.Join(t.TempDir(), ".plugins"), "host_hang")
	require.NoError(t, os.Rename(filepath.Dir(lib), filepath.Join(root, "native", "host_hang")))
	lib = filepath.Join(root, "native", "host_hang", filepath.Base(lib))
	require.Eventually(t, func() bool { _, err := os.Stat(mark); return err == nil }, deadline, time.Millisecond,
		"the constructor hangs in plugwatch")
	require.NoError(t, os.Rename(filepath.Join(root, "native", "echo"), filepath.Join(t.TempDir(), "echo")))
	d.waitFor("echo unloaded", gone("plugin::native::echo"))
	d.waitFor("the hang judged", func(st *state.State) bool { return problemOf(st, lib, state.Crashed) != nil })

	d.moveAway(root, "gain", "plugin::native::gain", "gain's private copy is removed, though echo's close waits for the loader")
	if raceBuild {
		d.cmd.Process.Kill() // see TestRunOpenThatHangsInPlugwatch
		<-d.done
	} else {
		d.stopWithin(10 * time.Second)
	}
}
