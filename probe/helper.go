package probe

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// envHelper marks a helper process; its value is the protocol version.
const envHelper = "PLUGWATCH_PROBE_HELPER"

// protocolVersion changes whenever the messages of wire.go do.
const protocolVersion = 3

// maxCrashReport bounds how much of a helper's crash pipe is kept: its end, since
// what the libraries it opened wrote to standard error comes before the runtime's
// report (a few KiB with GOTRACEBACK=single).
const maxCrashReport = 64 << 10

// How long to keep reading a dead helper's pipes: a process the library started
// may hold them open.
const drainTimeout = time.Second

// How long a helper whose replies ended may take to exit on its own before the
// parent concludes that a library closed the helper's descriptors.
const lostTimeout = time.Second

// How long stopping a helper waits for the rest of its process group to die.
const groupTimeout = time.Second

// lostDetail is the crash detail of a library that closed (or replaced) the helper's
// descriptors 3 and 4, its connection to the parent.
const lostDetail = "the library closed plugwatch's connection to its helper (descriptors it does not own)"

// helper is the parent's side of one helper process.
type helper struct {
	proc    process
	pid     int
	req     *os.File // requests, descriptor 3 in the helper
	enc     *gob.Encoder
	replies chan reply    // closed when the helper's replies end (it died or closed them)
	quit    chan struct{} // closed by stop: the reader may stop sending
	waited  chan struct{} // closed once the process has been waited for
	exited  chan struct{} // closed after waited, once the crash report has been read

	goroutines sync.WaitGroup // reading replies, reading the crash report, waiting

	state *ended       // set before waited is closed
	crash bytes.Buffer // the crash report, complete once exited is closed
}

// defaultCommand runs this executable with no arguments. On Linux /proc/self/exe
// names the running binary even after it was replaced or deleted on disk.
func defaultCommand() *exec.Cmd {
	if runtime.GOOS == "linux" {
		cmd := exec.Command("/proc/self/exe")
		cmd.Args = []string{os.Args[0]}
		return cmd
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe)
}

// start starts a helper in a process group of its own and waits for its hello. It
// gives up when p closes or cancel (which may be nil) is closed. A helper lost with
// its launcher is started once more, with new pipes, by a new launcher.
func (p *Prober) start(cancel <-chan struct{}) (*helper, error) {
	h, err := p.startOnce(cancel)
	if errors.Is(err, errLauncherGone) {
		h, err = p.startOnce(cancel)
	}
	return h, err
}

func (p *Prober) startOnce(cancel <-chan struct{}) (*helper, error) {
	if _, ok := os.LookupEnv(envHelper); ok {
		// We are a helper whose program did not call Main first: never start
		// helpers from a helper.
		return nil, errors.New("this process is itself a probe helper: call probe.Main first in main")
	}
	cmd := p.command()
	if cmd == nil {
		return nil, errors.New("Options.Command returned nil")
	}
	h, err := p.spawnHelper(cmd)
	if err != nil {
		return nil, err
	}
	return p.greet(h, cancel)
}

// spawnHelper starts cmd as a helper with its three pipes (requests on descriptor
// 3, replies on 4, the crash report on 5) and the goroutines that read its replies
// and crash report and wait for it to exit.
func (p *Prober) spawnHelper(cmd *exec.Cmd) (*helper, error) {
	var fds [6]*os.File // parent and child ends of the three pipes
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(fds[:i]...)
			return nil, err
		}
		fds[i], fds[i+1] = r, w
	}
	reqR, reqW, repR, repW, crashR, crashW := fds[0], fds[1], fds[2], fds[3], fds[4], fds[5]
	cmd.ExtraFiles = append([]*os.File{reqR, repW, crashW}, cmd.ExtraFiles...)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// GOTRACEBACK=single whatever the user's setting: "crash" would make every
	// library that crashes the helper dump core.
	cmd.Env = append(cmd.Env, envHelper+"="+strconv.Itoa(protocolVersion), "GOTRACEBACK=single")
	setGroup(cmd)
	proc, err := p.spawn(cmd)
	closeAll(reqR, repW, crashW) // the helper has its own copies now
	if err != nil {
		closeAll(reqW, repR, crashR)
		return nil, err
	}
	p.stats.starts.Add(1)

	h := &helper{
		proc:    proc,
		pid:     proc.pid(),
		req:     reqW,
		enc:     gob.NewEncoder(reqW),
		replies: make(chan reply),
		quit:    make(chan struct{}),
		waited:  make(chan struct{}),
		exited:  make(chan struct{}),
	}
	p.watch(h, repR, crashR)
	return h, nil
}

// watch starts the helper's three goroutines: one hands its replies on, one keeps
// the tail of its crash report, and one waits for it to exit, then lets the other
// two drain for at most drainTimeout and closes the pipes.
func (p *Prober) watch(h *helper, repR, crashR *os.File) {
	h.goroutines.Add(3)
	repliesDone := make(chan struct{})
	crashDone := make(chan struct{})
	go func() { // replies
		defer h.goroutines.Done()
		defer close(repliesDone)
		defer close(h.replies)
		dec := gob.NewDecoder(repR)
		for {
			var r reply
			if dec.Decode(&r) != nil {
				return
			}
			select {
			case h.replies <- r:
			case <-h.quit:
				return
			}
		}
	}()
	go func() { // crash report
		defer h.goroutines.Done()
		defer close(crashDone)
		io.Copy(&tailWriter{&h.crash, maxCrashReport}, crashR)
	}()
	go func() { // exit
		defer h.goroutines.Done()
		st := h.proc.wait()
		h.state = &st
		p.stats.cpu.Add(int64(st.cpu))
		close(h.waited)
		deadline := time.Now().Add(drainTimeout)
		repR.SetReadDeadline(deadline)
		crashR.SetReadDeadline(deadline)
		<-crashDone
		close(h.exited)
		<-repliesDone
		closeAll(repR, crashR, h.req)
	}()
}

// greet waits for the helper's hello and readies both ends with a first, empty
// request; on any failure it stops the helper and says why.
func (p *Prober) greet(h *helper, cancel <-chan struct{}) (*helper, error) {
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case r, ok := <-h.replies:
		switch {
		case ok && r.Hello == protocolVersion:
			return p.ready(h, cancel)
		case ok:
			h.stop()
			return nil, fmt.Errorf("helper %d speaks protocol %d, want %d", h.pid, r.Hello, protocolVersion)
		}
		h.stop()
		if h.orphaned() {
			return nil, fmt.Errorf("helper %d: %w", h.pid, errLauncherGone)
		}
		return nil, fmt.Errorf("helper %d ended before it said hello (%s): does the program call probe.Main first in main?", h.pid, h.deathDetail())
	case <-t.C:
		h.stop()
		return nil, fmt.Errorf("helper %d did not say hello within %v: does the program call probe.Main first in main?", h.pid, startTimeout)
	case <-p.done:
		h.stop()
		return nil, errClosed
	case <-cancel:
		h.stop()
		return nil, errCancelled
	}
}

// ready sends a helper that said hello a first request, for an empty path, which
// readies both ends before a library's time is counted.
func (p *Prober) ready(h *helper, cancel <-chan struct{}) (*helper, error) {
	_, failure, aborted := h.probe("", native.Range{}, startTimeout, p.done, cancel)
	switch {
	case aborted:
		h.stop()
		select {
		case <-p.done:
			return nil, errClosed
		default:
			return nil, errCancelled
		}
	case failure != "":
		h.stop()
		if h.orphaned() {
			return nil, fmt.Errorf("helper %d: %w", h.pid, errLauncherGone)
		}
		return nil, fmt.Errorf("helper %d failed its first request: %s", h.pid, failure)
	}
	return h, nil
}

// Why start gave up, when it did not fail.
var (
	errClosed    = errors.New("prober is closed")
	errCancelled = errors.New("cancelled")
)

// probe asks the helper to probe path and waits for the reply. It returns a
// non-empty failure when the helper died or hung (it is killed then), or aborted
// when done or cancel was closed first (the helper is killed then too).
func (h *helper) probe(path string, abi native.Range, timeout time.Duration, done, cancel <-chan struct{}) (r reply, failure string, aborted bool) {
	if err := h.send(path, abi, timeout); err != nil {
		return reply{}, h.lost(), false
	}
	return h.await(timeout, done, cancel)
}

// send asks the helper to probe path, after the requests sent before it; it gives
// up after timeout when the helper reads no more requests.
func (h *helper) send(path string, abi native.Range, timeout time.Duration) error {
	h.req.SetWriteDeadline(time.Now().Add(timeout))
	return h.enc.Encode(request{Path: path, ABI: abi})
}

// await waits for the reply to the oldest request not answered yet, for at most
// timeout. It returns a non-empty failure when the helper died or hung (it is killed
// then), or aborted when done or cancel was closed first (the helper is killed then
// too).
func (h *helper) await(timeout time.Duration, done, cancel <-chan struct{}) (r reply, failure string, aborted bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r, ok := <-h.replies:
		if ok {
			return r, "", false
		}
		return reply{}, h.lost(), false
	case <-t.C:
		h.kill()
		return reply{}, "hung for more than " + timeout.String(), false
	case <-done:
		h.kill()
		return reply{}, "", true
	case <-cancel:
		h.kill()
		return reply{}, "", true
	}
}

// lost says why the connection to the helper ended. A helper that dies closes it as
// it exits; one still running after lostTimeout, or one that exited with
// exitLostConnection, lost its descriptors to the library it opened. The helper is
// gone when lost returns.
func (h *helper) lost() string {
	t := time.NewTimer(lostTimeout)
	defer t.Stop()
	select {
	case <-h.waited:
		<-h.exited
		if h.state != nil && h.state.known && h.state.code == exitLostConnection {
			return lostDetail
		}
		return h.deathDetail()
	case <-t.C:
		h.kill()
		<-h.exited
		return lostDetail
	}
}

// orphaned reports whether the helper ended without anybody to wait for it: its
// launcher died, and killed it. Call it after stop.
func (h *helper) orphaned() bool { return h.state != nil && !h.state.known }

// exitedEarly reports whether the helper has already ended.
func (h *helper) exitedEarly() bool {
	select {
	case <-h.waited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the helper and its process group.
func (h *helper) kill() {
	killGroup(h.pid)
	h.proc.kill()
}

// stop kills the helper and its process group and returns once the helper has been
// waited for, every goroutine of h has ended and the rest of the group is gone (or
// groupTimeout passed). Call it once.
func (h *helper) stop() {
	h.kill()
	close(h.quit)
	h.goroutines.Wait()
	awaitGroup(h.pid, groupTimeout)
}

// deathDetail says how the helper ended; call it after exited is closed.
func (h *helper) deathDetail() string {
	return crashDetail(h.crash.Bytes(), h.state)
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// tailWriter keeps the last n bytes written to it.
type tailWriter struct {
	buf *bytes.Buffer
	n   int
}

func (w *tailWriter) Write(b []byte) (int, error) {
	keep := b[max(0, len(b)-w.n):]
	if over := w.buf.Len() + len(keep) - w.n; over > 0 {
		w.buf.Next(over)
	}
	w.buf.Write(keep)
	return len(b), nil
}
