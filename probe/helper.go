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
const protocolVersion = 1

// maxCrashReport bounds how much of a helper's crash report is kept; the lines that
// name the signal come first.
const maxCrashReport = 16 << 10

// How long to keep reading a dead helper's pipes: a process the library started
// may hold them open.
const drainTimeout = time.Second

// helper is the parent's side of one helper process.
type helper struct {
	cmd     *exec.Cmd
	pid     int
	req     *os.File // requests, descriptor 3 in the helper
	enc     *gob.Encoder
	replies chan reply    // closed when the helper's replies end (it died or closed them)
	quit    chan struct{} // closed by stop: the reader may stop sending
	exited  chan struct{} // closed once the process has been waited for and drained

	goroutines sync.WaitGroup // reading replies, reading the crash report, waiting

	// Set before exited is closed.
	state *os.ProcessState
	crash bytes.Buffer
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

// start starts a helper and waits for its hello.
func (p *Prober) start() (*helper, error) {
	if _, ok := os.LookupEnv(envHelper); ok {
		// We are a helper whose program did not call Main first: never start
		// helpers from a helper.
		return nil, errors.New("this process is itself a probe helper: call probe.Main first in main")
	}
	cmd := p.command()
	if cmd == nil {
		return nil, errors.New("Options.Command returned nil")
	}
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
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = drainTimeout // in case Command gave it output that is no *os.File
	}
	err := cmd.Start()
	closeAll(reqR, repW, crashW) // the helper has its own copies now
	if err != nil {
		closeAll(reqW, repR, crashR)
		return nil, err
	}

	h := &helper{
		cmd:     cmd,
		pid:     cmd.Process.Pid,
		req:     reqW,
		enc:     gob.NewEncoder(reqW),
		replies: make(chan reply),
		quit:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
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
		io.Copy(&limitedWriter{&h.crash, maxCrashReport}, crashR)
	}()
	go func() { // exit
		defer h.goroutines.Done()
		h.cmd.Wait()
		h.state = h.cmd.ProcessState
		deadline := time.Now().Add(drainTimeout)
		repR.SetReadDeadline(deadline)
		crashR.SetReadDeadline(deadline)
		<-crashDone
		close(h.exited)
		<-repliesDone
		closeAll(repR, crashR, reqW)
	}()

	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case r, ok := <-h.replies:
		if ok && r.Hello == protocolVersion {
			return h, nil
		}
		h.stop()
		if ok {
			return nil, fmt.Errorf("helper %d speaks protocol %d, want %d", h.pid, r.Hello, protocolVersion)
		}
		return nil, fmt.Errorf("helper %d ended before it said hello (%s): does the program call probe.Main first in main?", h.pid, h.deathDetail())
	case <-t.C:
		h.stop()
		return nil, fmt.Errorf("helper %d did not say hello within %v: does the program call probe.Main first in main?", h.pid, startTimeout)
	case <-p.done:
		h.stop()
		return nil, errors.New("prober is closed")
	}
}

// probe asks the helper to probe path and waits for the reply. It returns a
// non-empty failure when the helper died or hung (it is killed then), or "closed"
// when done was closed first.
func (h *helper) probe(path string, abi native.Range, timeout time.Duration, done <-chan struct{}) (reply, string) {
	h.req.SetWriteDeadline(time.Now().Add(timeout))
	if err := h.enc.Encode(request{Path: path, ABI: abi}); err != nil {
		h.kill()
		<-h.exited
		return reply{}, h.deathDetail()
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r, ok := <-h.replies:
		if ok {
			return r, ""
		}
		h.kill() // it may only have closed its end
		<-h.exited
		return reply{}, h.deathDetail()
	case <-t.C:
		h.kill()
		return reply{}, "hung for more than " + timeout.String()
	case <-done:
		h.kill()
		return reply{}, "closed"
	}
}

// exitedEarly reports whether the helper has already ended.
func (h *helper) exitedEarly() bool {
	select {
	case <-h.exited:
		return true
	default:
		return false
	}
}

func (h *helper) kill() {
	h.cmd.Process.Kill() // fails only when it already ended
}

// stop kills the helper and returns once it has been waited for and every goroutine
// of h has ended. Call it once.
func (h *helper) stop() {
	h.kill()
	close(h.quit)
	h.goroutines.Wait()
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

// limitedWriter keeps the first n bytes written to it and drops the rest.
type limitedWriter struct {
	buf *bytes.Buffer
	n   int
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	if room := w.n - w.buf.Len(); room > 0 {
		w.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}
