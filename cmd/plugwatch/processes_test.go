//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// plugwatch run killed with SIGKILL (no chance to stop anything) leaves no probe
// helper running, nor the launcher that starts them once it holds many descriptors.
func TestRunKilledLeavesNoProcess(t *testing.T) {
	root := newRoot(t)
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(root, "native", "gain", "libgain.so"))
	writeFile(t, filepath.Join(root, "native", "gain", "plugin.yml"), manifestFor("gain", "1.0.0", "gain"))
	d := startDaemon(t, root)
	d.waitFor("gain loaded", loadedWith("plugin::native::gain", ""))

	var ours []int // the daemon's probe processes and theirs
	require.Eventually(t, func() bool {
		ours = ours[:0]
		for _, pid := range childPIDs(d.cmd.Process.Pid) {
			if environHas(pid, "PLUGWATCH_PROBE_") {
				ours = append(ours, pid)
				ours = append(ours, filterPIDs(childPIDs(pid), "PLUGWATCH_PROBE_")...)
			}
		}
		return len(ours) > 0 // the spare helper, started ahead
	}, deadline, time.Millisecond, "a spare helper\n%s", d.log)

	require.NoError(t, d.cmd.Process.Kill())
	<-d.done
	for _, pid := range ours {
		assert.Eventually(t, func() bool { return !running(pid) }, deadline, time.Millisecond, "process %d left running", pid)
	}
}

// childPIDs returns the children of pid.
func childPIDs(pid int) []int {
	lists, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, list := range lists {
		b, _ := os.ReadFile(list)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func filterPIDs(pids []int, env string) []int {
	var out []int
	for _, pid := range pids {
		if environHas(pid, env) {
			out = append(out, pid)
		}
	}
	return out
}

// environHas reports whether process pid's environment has an entry beginning with
// prefix.
func environHas(pid int, prefix string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, e := range strings.Split(string(b), "\x00") {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

// running reports whether pid is a process that has not ended (a zombie has).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
