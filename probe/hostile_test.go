//go:build linux && (amd64 || arm64)

package probe_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
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

// freePort returns a TCP port of 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A constructor that binds a port finds it free in every helper, and when
// ProbeBatch returns the caller can bind it: the helpers that opened it are gone.
func TestPortFreeAfterBatch(t *testing.T) {
	port := freePort(t)
	lib := plugintest.Hostile(t, "bind_port")
	data, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	copyLib := filepath.Join(t.TempDir(), "libcopy.so") // a second library, not the same mapping
	if err := os.WriteFile(copyLib, data, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &helpers{env: []string{"HOSTILE_PORT=" + strconv.Itoa(port)}}
	p := newProber(t, probe.Options{Workers: 1, Command: h.command})
	ctx := ctxFor(t)
	for range 2 {
		if _, err := p.Probe(ctx, lib); err != nil {
			t.Fatal(err) // the constructor aborts when the port is taken
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("after the probe: %v", err)
		}
		l.Close()
	}
	// Two libraries that bind the same port: the second aborts in the helper that
	// holds the first, and passes alone in a fresh one.
	for i, r := range p.ProbeBatch(ctx, []string{lib, copyLib}) {
		if r.Err != nil {
			t.Errorf("library %d: %v", i, r.Err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("after the batch: %v", err)
	}
	l.Close()
}

// A constructor that takes a lock finds it free, and when ProbeBatch returns the
// caller can take it.
func TestLockFreeAfterBatch(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "lock")
	lib := plugintest.Hostile(t, "flock")
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	h := &helpers{env: []string{"HOSTILE_LOCK=" + lock}}
	p := newProber(t, probe.Options{Workers: 2, Command: h.command})
	for range 2 {
		for i, r := range p.ProbeBatch(ctxFor(t), []string{good, lib, good}) {
			if r.Err != nil {
				t.Fatalf("library %d: %v", i, r.Err)
			}
		}
		f, err := os.OpenFile(lock, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatalf("after the batch: flock: %v", err)
		}
		f.Close()
	}
}

// A library whose constructor starts a process is refused with ErrStartsProcess,
// and nothing it started is left, even a daemon that left the helper's process
// group; the libraries around it in the batch pass.
func TestStartsProcess(t *testing.T) {
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	for _, variant := range []string{"fork", "daemon"} {
		t.Run(variant, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "pids")
			h := &helpers{env: []string{"HOSTILE_PIDFILE=" + pidfile}}
			p := newProber(t, probe.Options{Workers: 1, Command: h.command})
			lib := plugintest.Hostile(t, variant)
			rs := p.ProbeBatch(ctxFor(t), []string{good, lib, good})
			if rs[0].Err != nil || rs[2].Err != nil {
				t.Errorf("good libraries: %v, %v", rs[0].Err, rs[2].Err)
			}
			err := rs[1].Err
			if !errors.Is(err, native.ErrStartsProcess) || errors.Is(err, native.ErrCrashed) {
				t.Fatalf("got %v, want ErrStartsProcess", err)
			}
			if ne, ok := errors.AsType[*native.Error](err); !ok || ne.Path != lib || !strings.Contains(err.Error(), "starts a process when loaded") {
				t.Errorf("got %#v, want the path and \"starts a process when loaded\"", err)
			}

			// Every process the library started is gone (the helper killed and
			// reaped them)...
			data, _ := os.ReadFile(pidfile)
			for _, f := range bytes.Fields(data) {
				pid, _ := strconv.Atoi(string(f))
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("process %d the library started: kill 0: %v, want ESRCH", pid, err)
				}
			}
			// ...and no process is left in the process group of a helper that probed.
			p.Close()
			for _, cmd := range h.commands() {
				if pids := group(t, cmd.Process.Pid); len(pids) > 0 {
					t.Errorf("processes %v left in helper %d's process group", pids, cmd.Process.Pid)
				}
			}
		})
	}
}

// group returns the processes of process group pgid.
func group(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid pgrp ..."
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(stat[i+1:])
		if len(fields) > 2 && string(fields[2]) == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A constructor that closes the helper's descriptors is a crash that says so, not a
// signal plugwatch sent; the libraries after it pass.
func TestClosesDescriptors(t *testing.T) {
	lib := plugintest.Hostile(t, "close_fds")
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	p := newProber(t, probe.Options{Workers: 1})
	rs := p.ProbeBatch(ctxFor(t), []string{good, lib, good})
	if rs[0].Err != nil || rs[2].Err != nil {
		t.Errorf("good libraries: %v, %v", rs[0].Err, rs[2].Err)
	}
	err := rs[1].Err
	ne, ok := errors.AsType[*native.Error](err)
	if !errors.Is(err, native.ErrCrashed) || !ok || ne.Detail != probe.LostDetail {
		t.Fatalf("got %v, want ErrCrashed: %s", err, probe.LostDetail)
	}
}

// What a library writes to standard error before it crashes does not hide how it
// crashed, and does not stall the helper.
func TestChatterBeforeACrash(t *testing.T) {
	lib := plugintest.Hostile(t, "chatter")
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	p := newProber(t, probe.Options{Workers: 1})
	rs := p.ProbeBatch(ctxFor(t), []string{good, lib, good})
	if rs[0].Err != nil || rs[2].Err != nil {
		t.Errorf("good libraries: %v, %v", rs[0].Err, rs[2].Err)
	}
	ne, ok := errors.AsType[*native.Error](rs[1].Err)
	if !errors.Is(rs[1].Err, native.ErrCrashed) || !ok || ne.Detail != "aborted (SIGABRT)" {
		t.Fatalf("got %v, want ErrCrashed: aborted (SIGABRT)", rs[1].Err)
	}
}

// Metadata over 4 MiB in total is ErrMetadata through the helper too.
func TestMetadataTotal(t *testing.T) {
	p := newProber(t, probe.Options{})
	for _, variant := range []string{"big_types", "big_strings"} {
		_, err := p.Probe(ctxFor(t), plugintest.Hostile(t, variant))
		if !errors.Is(err, native.ErrMetadata) || !strings.Contains(err.Error(), "over 4 MiB") {
			t.Errorf("%s: got %v, want ErrMetadata over 4 MiB", variant, err)
		}
	}
}

// Every error that is a verdict about the library wraps one of native's verdict
// sentinels; every error that says nothing about it (prober closed, helper
// unavailable, context ended, file not there) wraps none.
func TestVerdicts(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "libtext.so")
	if err := os.WriteFile(text, []byte("not a library\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]struct {
		lib  string
		want error
	}{
		"incomplete":     {plugintest.Truncated(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libtrunc.so"), 100), native.ErrIncomplete},
		"not loadable":   {text, native.ErrNotLoadable},
		"loader":         {plugintest.Build(t, plugintest.Spec{Kind: "gain", Bad: "unresolved_symbol"}), native.ErrLoader},
		"no entry":       {plugintest.Build(t, plugintest.Spec{NoSymbol: true}), native.ErrNoEntry},
		"abi version":    {plugintest.Build(t, plugintest.Spec{Kind: "future", ABI: 12}), native.ErrABIVersion},
		"metadata":       {plugintest.Build(t, plugintest.Spec{Kind: "gain", Bad: "null_pin_name"}), native.ErrMetadata},
		"invalid kind":   {plugintest.Build(t, plugintest.Spec{NullKind: true}), native.ErrInvalidKind},
		"crashed":        {plugintest.Build(t, plugintest.Spec{Kind: "bad", Crash: "entry_segv"}), native.ErrCrashed},
		"closes fds":     {plugintest.Hostile(t, "close_fds"), native.ErrCrashed},
		"starts process": {plugintest.Hostile(t, "fork"), native.ErrStartsProcess},
	}
	p := newProber(t, probe.Options{Timeout: 2 * time.Second})
	for name, c := range verdicts {
		_, err := p.Probe(ctxFor(t), c.lib)
		if !errors.Is(err, c.want) || !native.IsVerdict(err) {
			t.Errorf("%s: got %v, want a verdict wrapping %v", name, err, c.want)
		}
	}

	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	var none []error
	_, err := p.Probe(ctxFor(t), filepath.Join(dir, "libmissing.so"))
	none = append(none, err)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = p.Probe(cancelled, good)
	none = append(none, err)
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Probe(short, plugintest.Build(t, plugintest.Spec{Kind: "hang", Crash: "ctor_hang"}))
	none = append(none, err)
	broken := newProber(t, probe.Options{Command: func() *exec.Cmd { return exec.Command("true") }})
	_, err = broken.Probe(ctxFor(t), good)
	none = append(none, err)
	p.Close()
	_, err = p.Probe(ctxFor(t), good)
	none = append(none, err)
	for _, err := range none {
		if err == nil || native.IsVerdict(err) {
			t.Errorf("got %v, want an error that is no verdict", err)
		}
	}
}
