package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/lockedbuf"
	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// These tests run the real plugwatch binary (the test binary under the name
// plugwatch, put in $PATH by testscript.Main) as a daemon, change the disk under it
// with real files and real fsnotify events, and wait, with a deadline, for its state
// to say what they expect.

const deadline = 60 * time.Second

type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	root string
	addr string
	log  *lockedbuf.Buffer
	done chan error
}

// startDaemon runs `plugwatch run` on root with the admin API on a free port and
// JSON logs, and waits until it listens.
func startDaemon(t *testing.T, root string, args ...string) *daemon {
	t.Helper()
	return startCommand(t, root, nil, args...)
}

// startCommand is startDaemon through a wrapper command that is given plugwatch's
// command line (a shell script that lowers a limit first, say); none when nil.
func startCommand(t *testing.T, root string, wrapper []string, args ...string) *daemon {
	t.Helper()
	args = append([]string{"plugwatch", "run", "--root", root, "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}, args...)
	args = append(wrapper, args...)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = filepath.Dir(root)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	d := &daemon{t: t, cmd: cmd, root: root, log: &lockedbuf.Buffer{}, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			d.log.Write(append(line, '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Addr != "" {
				select {
				case addrc <- rec.Addr:
				default:
				}
			}
		}
		d.done <- cmd.Wait()
	}()
	select {
	case d.addr = <-addrc:
	case err := <-d.done:
		t.Fatalf("plugwatch run exited early: %v\n%s", err, d.log)
	case <-time.After(deadline):
		cmd.Process.Kill()
		t.Fatalf("plugwatch run did not listen within %v\n%s", deadline, d.log)
	}
	t.Cleanup(func() { d.stop() })
	d.waitFor("the first pass", func(*state.State) bool { return true })
	return d
}

// stop sends SIGTERM and checks the daemon exits 0 and leaves no private copy.
func (d *daemon) stop() {
	t := d.t
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		assert.NoError(t, err, "plugwatch run must exit 0 on SIGTERM\n%s", d.log)
	case <-time.After(deadline):
		d.cmd.Process.Kill()
		t.Fatalf("plugwatch run did not stop on SIGTERM\n%s", d.log)
	}
	d.noCopyLeft()
}

// noCopyLeft checks that no private copy is left below the root.
func (d *daemon) noCopyLeft() {
	filepath.WalkDir(d.root, func(path string, e os.DirEntry, err error) error {
		if err == nil && strings.Contains(e.Name(), ".plugwatch-") {
			d.t.Errorf("private copy left behind: %s", path)
		}
		return nil
	})
}

func (d *daemon) get(path string) (*http.Response, []byte) {
	resp, err := http.Get("http://" + d.addr + path)
	require.NoError(d.t, err, "%s", d.log)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	return resp, body
}

func (d *daemon) state() *state.State {
	resp, body := d.get("/v1/state")
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var st state.State
	require.NoError(d.t, json.Unmarshal(body, &st))
	return &st
}

// waitFor polls the state until cond holds, or fails the test at the deadline.
func (d *daemon) waitFor(what string, cond func(*state.State) bool) *state.State {
	d.t.Helper()
	end := time.Now().Add(deadline)
	var st *state.State
	for time.Now().Before(end) {
		if st = d.state(); st != nil && cond(st) {
			return st
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	d.t.Fatalf("timed out waiting for %s; state:\n%s\nlog:\n%s", what, b, d.log)
	return nil
}

func plugin(st *state.State, kind string) *state.Plugin {
	for i, p := range st.Plugins {
		if p.Kind == kind {
			return &st.Plugins[i]
		}
	}
	return nil
}

func hasProblem(st *state.State, path string, code state.Code) bool {
	for _, p := range st.Problems {
		if p.Path == path && p.Code == code {
			return true
		}
	}
	return false
}

func loadedWith(kind, description string) func(*state.State) bool {
	return func(st *state.State) bool {
		p := plugin(st, kind)
		return p != nil && p.Description == description
	}
}

func gone(kind string) func(*state.State) bool {
	return func(st *state.State) bool { return plugin(st, kind) == nil }
}

// moveAway moves the directory bundle native/id out of root, waits until its kind is
// unloaded and its private copy is removed from the moved folder (why says who might
// keep it), and returns where the folder went.
func (d *daemon) moveAway(root, id, kind, why string) string {
	d.t.Helper()
	away := filepath.Join(d.t.TempDir(), id)
	require.NoError(d.t, os.Rename(filepath.Join(root, "native", id), away))
	d.waitFor(id+" unloaded", gone(kind))
	require.Eventually(d.t, func() bool {
		entries, _ := os.ReadDir(away)
		return len(entries) == 2 // the library and plugin.yml only
	}, deadline, time.Millisecond, why)
	return away
}

// events subscribes to /v1/events and collects what arrives.
type events struct {
	mu   sync.Mutex
	list []state.Event
	resp *http.Response
	done chan struct{}
}

func (d *daemon) subscribe() *events {
	d.t.Helper()
	resp, err := http.Get("http://" + d.addr + "/v1/events")
	require.NoError(d.t, err)
	require.Equal(d.t, "text/event-stream", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	ev := &events{resp: resp, done: make(chan struct{})}
	go func() {
		defer close(ev.done)
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var e state.Event
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e) == nil {
					e.Type = state.EventType(name)
					ev.mu.Lock()
					ev.list = append(ev.list, e)
					ev.mu.Unlock()
				}
			}
		}
	}()
	d.t.Cleanup(func() { resp.Body.Close(); <-ev.done })
	return ev
}

func (ev *events) types() []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []string
	for _, e := range ev.list {
		out = append(out, fmt.Sprintf("%s %s%s", e.Type, e.Kind, e.Code))
	}
	return out
}

func newRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), ".plugins")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
	return root
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func manifestFor(id, version, kind string) string {
	return fmt.Sprintf("id: %s\nversion: %s\nnode_kind: %s\nkind: native\nentrypoint: lib%s.so\n", id, version, kind, kind)
}

// bundle prepares a complete bundle folder outside the root, to be moved or copied in.
func bundle(t *testing.T, spec plugintest.Spec, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), spec.Kind)
	plugintest.Install(t, spec, filepath.Join(dir, "lib"+spec.Kind+".so"))
	writeFile(t, filepath.Join(dir, "plugin.yml"), manifestFor(spec.Kind, version, spec.Kind))
	return dir
}

// reconciles is the daemon's count of passes, from its metrics.
func (d *daemon) reconciles() int {
	_, body := d.get("/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "plugwatch_reconciles_total "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			require.NoError(d.t, err)
			return n
		}
	}
	d.t.Fatal("no plugwatch_reconciles_total in /metrics")
	return 0
}

// waitLog waits until the daemon's log, read from its stderr as it comes, holds text.
func (d *daemon) waitLog(text string) {
	d.t.Helper()
	if !assert.Eventually(d.t, func() bool { return strings.Contains(d.log.String(), text) }, deadline, time.Millisecond) {
		d.t.Fatalf("the log never said %q:\n%s", text, d.log)
	}
}
