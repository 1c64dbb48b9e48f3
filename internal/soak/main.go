// Command soak runs a plugwatch daemon for a chosen duration under random
// operations on its plugins root — bundles added, removed, rewritten, renamed,
// marketplace records installed and uninstalled, and corrupt, truncated and crashing
// libraries dropped in — then checks that the daemon's state equals a fresh scan of
// the same disk and that its memory and open files did not grow without bound.
//
//	go run ./internal/soak -duration 10m
//
// It prints its figures and exits 1 when a check fails.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

func main() {
	duration := flag.Duration("duration", time.Minute, "how long to run the operations")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	flag.Parse()
	if err := run(*duration, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type sample struct{ rssKiB, fds int }

// soak is one run: its work folder and root, the plugwatch binary, the libraries the
// operations drop in, and the daemon under test.
type soak struct {
	seed               uint64
	rng                *rand.Rand
	work, root, bin    string
	good, bad, hostile []string
	cmd                *exec.Cmd
	addr               string
	ops                int
	samples            []sample
}

func run(duration time.Duration, seed uint64) error {
	fmt.Printf("soak: %v, seed %d\n", duration, seed)
	work, err := os.MkdirTemp("", "plugwatch-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	k := &soak{seed: seed, rng: rand.New(rand.NewPCG(seed, seed)), work: work, root: filepath.Join(work, ".plugins")}
	if err := k.build(); err != nil {
		return err
	}
	err = k.start()
	if k.cmd != nil && k.cmd.Process != nil {
		defer k.cmd.Process.Kill()
	}
	if err != nil {
		return err
	}
	if err := k.operate(duration); err != nil {
		return err
	}
	k.heal()
	if err := k.converge(); err != nil {
		return err
	}
	if err := k.report(); err != nil {
		return err
	}
	if err := k.stop(); err != nil {
		return err
	}
	if err := k.bounded(); err != nil {
		return err
	}
	fmt.Println("soak: ok")
	return nil
}

// build builds plugwatch and the libraries the operations use: good ones of four
// kinds, bad ones (crashing, hanging, of another ABI, reporting no kind) and
// hostile ones.
func (k *soak) build() error {
	k.bin = filepath.Join(k.work, "plugwatch")
	if out, err := exec.Command("go", "build", "-o", k.bin, "./cmd/plugwatch").CombinedOutput(); err != nil {
		return fmt.Errorf("building plugwatch: %v\n%s", err, out)
	}
	for _, kind := range []string{"k1", "k2", "k3", "k4"} {
		for _, desc := range []string{"x", "y"} {
			lib, err := plugintest.Compile(plugintest.Spec{Kind: kind, Description: kind + desc})
			if err != nil {
				return err
			}
			k.good = append(k.good, lib)
		}
	}
	for _, s := range []plugintest.Spec{{Crash: "entry_segv"}, {Crash: "ctor_abort"}, {Crash: "ctor_hang"}, {Kind: "k1", ABI: 12}, {NullKind: true}} {
		lib, err := plugintest.Compile(s)
		if err != nil {
			return err
		}
		k.bad = append(k.bad, lib)
	}
	// Hostile shapes: constructors that fork, bind a port, take a lock, close
	// descriptors they do not own; metadata over its total bound.
	for _, v := range []string{"fork", "bind_port", "flock", "close_fds", "big_types"} {
		lib, err := plugintest.CompileHostile(v)
		if err != nil {
			return err
		}
		k.hostile = append(k.hostile, lib)
	}
	os.Setenv("HOSTILE_PORT", "17999")
	os.Setenv("HOSTILE_LOCK", filepath.Join(k.work, "lock"))
	os.Setenv("HOSTILE_PIDFILE", filepath.Join(k.work, "pids"))
	return nil
}

// start starts the daemon on the root, logging to the work folder, and waits for
// its admin address. A full pass every 3 s (--resync) runs between the events'
// passes, so that both keep the book.
func (k *soak) start() error {
	k.cmd = exec.Command(k.bin, "run", "--root", k.root, "--listen", "127.0.0.1:0", "--debounce", "50ms",
		"--resync", "3s", "--probe-timeout", "1s", "--log-format", "json", "--log-level", "info")
	logFile, err := os.Create(filepath.Join(k.work, "log"))
	if err != nil {
		return err
	}
	k.cmd.Stderr = logFile
	if err := k.cmd.Start(); err != nil {
		return err
	}
	k.addr, err = waitAddr(filepath.Join(k.work, "log"))
	return err
}

// operate runs random operations on the root for duration, sampling the daemon's
// memory and open files every second.
func (k *soak) operate(duration time.Duration) error {
	end := time.Now().Add(duration)
	nextSample := time.Now()
	for time.Now().Before(end) {
		k.operation()
		k.ops++
		time.Sleep(time.Duration(k.rng.IntN(20)) * time.Millisecond) // the pace of the operations
		if time.Now().After(nextSample) {
			s, err := measure(k.cmd.Process.Pid)
			if err != nil {
				return fmt.Errorf("the daemon died: %v", err)
			}
			k.samples = append(k.samples, s)
			nextSample = time.Now().Add(time.Second)
		}
	}
	return nil
}

// ids are the bundle and plugin ids the operations use.
var ids = []string{"a", "b", "c", "d", "e", "f"}

func (k *soak) pick(s []string) string { return s[k.rng.IntN(len(s))] }

// operation does one random thing to the root.
func (k *soak) operation() {
	root := k.root
	id := k.pick(ids)
	dir := filepath.Join(root, "native", id)
	switch k.rng.IntN(9) {
	case 0, 1: // add a bundle
		os.RemoveAll(dir)
		copyFile(k.pick(k.good), filepath.Join(dir, "libp.so"))
	case 2: // remove it
		os.RemoveAll(dir)
	case 3: // rewrite its library in place
		if _, err := os.Stat(dir); err == nil {
			copyFile(k.pick(k.good), filepath.Join(dir, "libp.so"))
		}
	case 4: // rename it
		os.Rename(dir, filepath.Join(root, "native", k.pick(ids)))
	case 5: // a corrupt, truncated, crashing or hostile library
		if _, err := os.Stat(dir); err == nil {
			k.spoil(filepath.Join(dir, "libp.so"))
		}
	case 6: // a marketplace record and its bundle
		version := fmt.Sprintf("2.%d.0", k.rng.IntN(2))
		copyFile(k.pick(k.good), filepath.Join(root, "bundles", id, version, "libp.so"))
		rec, _ := json.Marshal(map[string]any{"plugin_id": id, "version": version, "node_kind": fmt.Sprintf("k%d", 1+k.rng.IntN(4)),
			"kind": "native", "entrypoint": ".plugins/bundles/" + id + "/" + version + "/libp.so", "installed_at_ms": 1})
		os.MkdirAll(filepath.Join(root, "active"), 0o755)
		os.WriteFile(filepath.Join(root, "active", id+".json"), rec, 0o644)
	case 7: // uninstall it
		os.Remove(filepath.Join(root, "active", id+".json"))
	case 8: // a bare library
		copyFile(k.pick(k.good), filepath.Join(root, "native", "lib"+id+".so"))
	}
}

// spoil puts something bad where the library lib is.
func (k *soak) spoil(lib string) {
	switch k.rng.IntN(6) {
	case 0:
		copyFile(k.pick(k.bad), lib)
	case 1:
		data, _ := os.ReadFile(k.pick(k.good))
		writeFile(lib, data[:k.rng.IntN(len(data))])
	case 2:
		writeFile(lib, []byte("not a library"))
	case 3:
		copyFile(k.pick(k.hostile), lib)
	case 4: // a FIFO where the library should be
		os.Remove(lib)
		syscall.Mkfifo(lib, 0o644)
	case 5: // a symlink swapped between a good and a bad library
		os.Remove(lib)
		os.Symlink(k.pick(k.bad), lib)
		os.Remove(lib)
		os.Symlink(k.pick(k.good), lib)
	}
}

// heal removes every library below native/ that plugwatch inspect refuses, so that
// no plugin is left stale before the comparison with a scan.
func (k *soak) heal() {
	filepath.WalkDir(filepath.Join(k.root, "native"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".so") {
			if exec.Command(k.bin, "inspect", path).Run() != nil {
				os.Remove(path)
			}
		}
		return nil
	})
}

// converge waits up to 30 s for the daemon's state to equal a fresh scan's; when it
// does not, it keeps the daemon's log, ending with its goroutines.
func (k *soak) converge() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := fetchState(k.addr)
		if err != nil {
			return err
		}
		daemon := summary(st)
		out, err := exec.Command(k.bin, "scan", "--json", "--root", k.root).Output()
		if err != nil {
			return fmt.Errorf("scan: %v", err)
		}
		var sc state.State
		if err := json.Unmarshal(out, &sc); err != nil {
			return err
		}
		scan := summary(&sc)
		if daemon == scan {
			return nil
		}
		if time.Now().After(deadline) {
			k.cmd.Process.Signal(syscall.SIGQUIT)
			k.cmd.Wait()
			kept := filepath.Join(os.TempDir(), fmt.Sprintf("plugwatch-soak-%d.log", k.seed))
			data, _ := os.ReadFile(filepath.Join(k.work, "log"))
			os.WriteFile(kept, data, 0o644)
			return fmt.Errorf("the daemon did not converge to a scan (its log: %s):\ndaemon: %s\nscan:   %s", kept, daemon, scan)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report prints the run's figures.
func (k *soak) report() error {
	final, err := fetchState(k.addr)
	if err != nil {
		return err
	}
	if len(k.samples) == 0 {
		return errors.New("no sample of the daemon's memory was taken")
	}
	first, peak, last := k.samples[0], sample{}, k.samples[len(k.samples)-1]
	for _, s := range k.samples {
		peak.rssKiB, peak.fds = max(peak.rssKiB, s.rssKiB), max(peak.fds, s.fds)
	}
	fmt.Printf("soak: %d operations, %d plugins loaded at the end, %d problems, generation %d\n", k.ops, len(final.Plugins), len(final.Problems), final.Generation)
	fmt.Printf("soak: memory (RSS) first %d KiB, peak %d KiB, last %d KiB\n", first.rssKiB, peak.rssKiB, last.rssKiB)
	fmt.Printf("soak: open files first %d, peak %d, last %d\n", first.fds, peak.fds, last.fds)
	return nil
}

// stop stops the daemon with SIGTERM and checks that nothing of plugwatch's is left:
// no private file below the root, and no process of its (helpers) or of the
// libraries it tried.
func (k *soak) stop() error {
	k.cmd.Process.Signal(syscall.SIGTERM)
	if err := k.cmd.Wait(); err != nil {
		return fmt.Errorf("plugwatch run did not exit 0 on SIGTERM: %v", err)
	}
	var left []string
	filepath.WalkDir(k.root, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".plugwatch") {
			left = append(left, path)
		}
		return nil
	})
	if len(left) > 0 {
		return fmt.Errorf("files of plugwatch's left after it stopped: %v", left)
	}
	if procs := processesOf(k.bin); len(procs) > 0 {
		return fmt.Errorf("processes of plugwatch's left after it stopped: %v", procs)
	}
	if data, err := os.ReadFile(filepath.Join(k.work, "pids")); err == nil {
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("a process a library started (pid %d) is still running", pid)
			}
		}
	}
	return nil
}

// bounded checks that the last quarter's peak of memory and open files does not
// exceed the first quarter's by much.
func (k *soak) bounded() error {
	q := len(k.samples) / 4
	if q == 0 {
		return nil
	}
	early, late := sample{}, sample{}
	for _, s := range k.samples[:q] {
		early.rssKiB, early.fds = max(early.rssKiB, s.rssKiB), max(early.fds, s.fds)
	}
	for _, s := range k.samples[len(k.samples)-q:] {
		late.rssKiB, late.fds = max(late.rssKiB, s.rssKiB), max(late.fds, s.fds)
	}
	if late.rssKiB > early.rssKiB*2+20<<10 {
		return fmt.Errorf("memory grew from %d KiB to %d KiB", early.rssKiB, late.rssKiB)
	}
	if late.fds > early.fds+64 {
		return fmt.Errorf("open files grew from %d to %d", early.fds, late.fds)
	}
	return nil
}

// processesOf returns the pids of running processes whose command is bin.
func processesOf(bin string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			out = append(out, pid)
		}
	}
	return out
}

func copyFile(src, dst string) {
	data, err := os.ReadFile(src)
	if err != nil {
		return
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	writeFile(dst, data)
}

// writeFile writes data over dst in place, as cp does, but never through a symlink
// or into a FIFO the soak put there: those are replaced.
func writeFile(dst string, data []byte) {
	if fi, err := os.Lstat(dst); err == nil && !fi.Mode().IsRegular() {
		os.Remove(dst)
	}
	os.WriteFile(dst, data, 0o755)
}

func waitAddr(log string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(log)
		for _, line := range strings.Split(string(data), "\n") {
			var rec struct{ Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Addr != "" {
				return rec.Addr, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", errors.New("plugwatch run did not log its address")
}

func fetchState(addr string) (*state.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/v1/state", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st state.State
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

func measure(pid int) (sample, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return sample{}, err
	}
	var s sample
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKiB, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return sample{}, err
	}
	s.fds = len(fds)
	return s, nil
}

// summary is what must agree between the daemon and a scan.
func summary(st *state.State) string {
	var lines []string
	for _, p := range st.Plugins {
		lines = append(lines, fmt.Sprintf("plugin %s %s stale=%v", p.Kind, p.Library, p.Stale))
	}
	for _, s := range st.Skipped {
		lines = append(lines, fmt.Sprintf("skipped %s %s %s", s.Kind, s.Library, s.Reason))
	}
	for _, p := range st.Problems {
		lines = append(lines, fmt.Sprintf("problem %s %s", p.Path, p.Code))
	}
	sort.Strings(lines)
	b, _ := json.Marshal(lines)
	return string(b)
}
