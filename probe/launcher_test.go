//go:build linux

package probe_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// The default command's helpers are started by the launcher (in a process holding
// many descriptors; the test makes it always), a process of this program that
// holds none of this process's descriptors: each helper is the launcher's child,
// never this process's. Probes through it work, their CPU time is
// counted, and a launcher that was killed is replaced without a library being
// blamed. Once the Prober is closed, neither is left.
func TestDefaultCommandStartsHelpersThroughTheLauncher(t *testing.T) {
	probe.UseLauncherAlways(t)
	p, lib := newProber(t, probe.Options{Workers: 1}), plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: 6})
	ctx := ctxFor(t)
	launchers := []int{probedLauncher(t, p, lib)}
	if got := childrenWith(t, launchers[0], "PLUGWATCH_PROBE_HELPER="); len(got) != 1 {
		t.Errorf("the launcher's helpers = %v, want the spare", got)
	}
	if got := childrenWith(t, os.Getpid(), "PLUGWATCH_PROBE_HELPER="); len(got) != 0 {
		t.Errorf("helpers started by this process: %v, want none", got)
	}
	if p.CPU() <= 0 {
		t.Errorf("CPU() = %v after a probe, want more than 0", p.CPU())
	}

	// Killed: the spare it started dies with it, and the next probe starts a new one.
	syscall.Kill(launchers[0], syscall.SIGKILL)
	for range 3 {
		if _, err := p.Probe(ctx, lib); err != nil {
			t.Fatalf("after the launcher was killed: %v", err)
		}
	}
	again := childrenWith(t, os.Getpid(), "PLUGWATCH_PROBE_LAUNCHER=")
	if len(again) != 1 || again[0] == launchers[0] {
		t.Errorf("launchers after the kill = %v, want a new one (the old one was %d)", again, launchers[0])
	}

	p.Close()
	if got := childrenWith(t, os.Getpid(), "PLUGWATCH_PROBE_"); len(got) != 0 {
		t.Errorf("left after Close: %v", got)
	}
}

// probedLauncher probes lib through p, waits for p's spare and returns the pid of
// p's launcher, the only one.
func probedLauncher(t *testing.T, p *probe.Prober, lib string) int {
	t.Helper()
	if _, err := p.Probe(ctxFor(t), lib); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a spare helper", func() bool { return probe.SpareReady(p) })
	launchers := childrenWith(t, os.Getpid(), "PLUGWATCH_PROBE_LAUNCHER=")
	if len(launchers) != 1 {
		t.Fatalf("launchers = %v, want one", launchers)
	}
	return launchers[0]
}

// childrenWith returns the children of pid whose environment holds an entry
// beginning with prefix.
func childrenWith(t *testing.T, pid int, prefix string) []int {
	t.Helper()
	lists, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, list := range lists {
		b, err := os.ReadFile(list)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			child, _ := strconv.Atoi(f)
			env, err := os.ReadFile("/proc/" + f + "/environ")
			if err != nil {
				continue // gone meanwhile
			}
			for _, e := range bytes.Split(env, []byte{0}) {
				if bytes.HasPrefix(e, []byte(prefix)) {
					out = append(out, child)
					break
				}
			}
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// An environment too large for one message to the launcher does not stop probing:
// such helpers are started directly.
func TestHugeEnvironmentStillProbes(t *testing.T) {
	probe.UseLauncherAlways(t)
	for i := range 3 { // each within the system's limit on one variable (128 KiB)
		t.Setenv("PLUGWATCH_TEST_HUGE"+strconv.Itoa(i), strings.Repeat("x", 100<<10))
	}
	p := newProber(t, probe.Options{Workers: 1})
	lib := plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: 6})
	if _, err := p.Probe(ctxFor(t), lib); err != nil {
		t.Fatal(err)
	}
}

// A launcher that stops answering (SIGSTOP) is killed, and a new one takes over:
// probes go on, no library is blamed, and Close returns.
func TestStoppedLauncherIsReplaced(t *testing.T) {
	probe.UseLauncherAlways(t)
	p, lib := newProber(t, probe.Options{Workers: 1}), plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: 6})
	ctx := ctxFor(t)
	launchers := []int{probedLauncher(t, p, lib)}
	syscall.Kill(launchers[0], syscall.SIGSTOP)
	defer syscall.Kill(launchers[0], syscall.SIGCONT)
	for i := range 3 {
		_, err := p.Probe(ctx, lib)
		if errors.Is(err, native.ErrCrashed) {
			t.Fatalf("probe %d after the launcher stopped blamed the library: %v", i, err)
		}
	}
	if _, err := p.Probe(ctx, lib); err != nil {
		t.Fatalf("a probe once a new launcher runs: %v", err)
	}
	p.Close()
}
