package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The launcher starts the helpers of the default command. Starting a process costs
// its parent, and the process itself, time for every descriptor the parent holds
// (the kernel copies the descriptor table, then closes each descriptor marked
// close-on-exec): a daemon holding 10,000 plugins holds a descriptor for each, which
// made every helper cost 0.5–0.7 ms more than in a daemon holding none. The
// launcher is this program again, started once, holding only its connection to the
// Prober: the Prober sends it each helper's command line, environment and pipes,
// and it starts the helper, says its process id, and later how it ended.
//
// The launcher ignores interrupts (a Ctrl-C in a terminal reaches the daemon, which
// stops it) and exits once its connection ends: when the Prober closes, or when the
// daemon dies. When it dies itself, the helpers it started are killed and the next
// helper starts a new launcher. A program whose launcher does not say hello within
// startTimeout (its main does not call Main first) gets its helpers started
// directly.

// envLauncher marks the launcher process; its value is the protocol version.
const envLauncher = "PLUGWATCH_PROBE_LAUNCHER"

// launcherTimeout is how long the launcher may take to say that a helper it was
// told to kill ended; past it, it is killed.
const launcherTimeout = 3 * time.Second

// launcherBuffer bounds one message: a helper's command line and environment.
const launcherBuffer = 1 << 20

// launcherMsg is one message between the Prober and the launcher.
type launcherMsg struct {
	Op   string   `json:"op"` // "hello", "start", "started", "kill", "ended"
	Path string   `json:"path,omitempty"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	PID  int      `json:"pid,omitempty"`
	Err  string   `json:"err,omitempty"`
	// Of "ended": the helper's exit status (-1 for a signal) and signal, and the
	// CPU time, in microseconds, of the helper and of the launcher so far.
	Code        int   `json:"code,omitempty"`
	Signal      int   `json:"signal,omitempty"`
	CPU         int64 `json:"cpu_us,omitempty"`
	LauncherCPU int64 `json:"launcher_cpu_us,omitempty"`
	Version     int   `json:"version,omitempty"`
}

// launcher is the Prober's side: the launcher process it runs now, if any.
type launcher struct {
	p *Prober

	mu     sync.Mutex // one start at a time: each start's reply is the next one
	run    *launcherRun
	broken bool // a launcher did not say hello: start helpers directly
}

func newLauncher(p *Prober) *launcher { return &launcher{p: p} }

// start starts cmd through the launcher, starting a launcher first when none runs.
// Commands with standard files of their own are started directly.
func (l *launcher) start(cmd *exec.Cmd) (process, error) {
	if cmd.Stdin != nil || cmd.Stdout != nil || cmd.Stderr != nil {
		return startDirect(cmd)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return startDirect(cmd)
	}
	if l.run != nil && l.run.gone() {
		l.run.close()
		l.run = nil
	}
	if l.run == nil {
		r, err := startLauncher(l.p)
		if err != nil {
			l.p.log.Warn("probe helpers start without a launcher", "err", err)
			l.broken = true
			return startDirect(cmd)
		}
		l.run = r
	}
	proc, err := l.run.start(cmd)
	switch {
	case errors.Is(err, errTooLong):
		return startDirect(cmd)
	case errors.Is(err, errLauncherGone):
		// It died, hung or was killed: the next start starts a new one. The caller
		// starts the helper again with new pipes, since the launcher may have
		// started one with these before it died.
		l.run.close()
		l.run = nil
	}
	return proc, err
}

// close stops the launcher, if one runs, and waits for it.
func (l *launcher) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.run != nil {
		l.run.close()
		l.run = nil
	}
}

// started is the launcher's reply to a start, and where the helper's end will come.
type started struct {
	launcherMsg
	end chan ended
}

// launcherRun is one launcher process and the Prober's connection to it.
type launcherRun struct {
	p       *Prober
	cmd     *exec.Cmd
	conn    *net.UnixConn
	replies chan started  // the replies to start, in order
	done    chan struct{} // closed once the connection ended

	mu          sync.Mutex
	ended       map[int]chan ended // the helpers that did not end yet
	maxMsg      int                // the longest message the connection takes
	launcherCPU time.Duration      // the launcher's own CPU time, as it last said
	helpersCPU  time.Duration      // the CPU time of the helpers that ended, as it said

	goroutines sync.WaitGroup
}

// startLauncher starts a launcher and waits for its hello.
func startLauncher(p *Prober) (*launcherRun, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "probe-launcher"), os.NewFile(uintptr(fds[1]), "probe-launcher")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, err
	}
	// A message must fit in the socket's buffers: ask for room for launcherBuffer,
	// and take what the system gives (net.core.wmem_max bounds it).
	maxMsg := launcherBuffer
	for _, fd := range fds {
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, launcherBuffer)
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, launcherBuffer)
	}
	if n, err := syscall.GetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF); err == nil {
		maxMsg = min(maxMsg, n/2-4096) // the kernel doubles what it was asked, and counts its overhead
	}
	cmd := defaultCommand()
	cmd.Env = append(os.Environ(), envLauncher+"="+strconv.Itoa(protocolVersion))
	cmd.ExtraFiles = []*os.File{theirs}
	if err := cmd.Start(); err != nil {
		c.Close()
		return nil, err
	}
	r := &launcherRun{p: p, cmd: cmd, conn: c.(*net.UnixConn), replies: make(chan started, 1),
		done: make(chan struct{}), ended: map[int]chan ended{}, maxMsg: maxMsg}
	hello := make(chan launcherMsg, 1)
	r.goroutines.Add(1)
	go r.read(hello)
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case m := <-hello:
		if m.Version == protocolVersion {
			return r, nil
		}
		err = fmt.Errorf("launcher %d speaks protocol %d, want %d", cmd.Process.Pid, m.Version, protocolVersion)
	case <-r.done:
		err = fmt.Errorf("launcher %d ended before it said hello: does the program call probe.Main first in main?", cmd.Process.Pid)
	case <-t.C:
		err = fmt.Errorf("launcher %d did not say hello within %v: does the program call probe.Main first in main?", cmd.Process.Pid, startTimeout)
	}
	r.close()
	return nil, err
}

// read hands the launcher's messages on until the connection ends, then kills the
// helpers that did not end: nobody can wait for them any more.
func (r *launcherRun) read(hello chan<- launcherMsg) {
	defer r.goroutines.Done()
	defer func() {
		// The helpers it started die with it (Pdeathsig); what their libraries
		// started may live on in their process groups.
		r.mu.Lock()
		for pid, ch := range r.ended {
			killGroup(pid)
			ch <- ended{}
			delete(r.ended, pid)
		}
		r.mu.Unlock()
		close(r.done)
	}()
	buf := make([]byte, launcherBuffer)
	for {
		n, err := r.conn.Read(buf)
		if err != nil || n == 0 {
			return
		}
		var m launcherMsg
		if json.Unmarshal(buf[:n], &m) != nil {
			return
		}
		switch m.Op {
		case "hello":
			hello <- m
		case "started":
			reply := started{launcherMsg: m}
			if m.Err == "" {
				reply.end = make(chan ended, 1)
				r.mu.Lock()
				r.ended[m.PID] = reply.end // before its "ended" can come
				r.mu.Unlock()
			}
			r.replies <- reply
		case "ended":
			r.mu.Lock()
			ch := r.ended[m.PID]
			delete(r.ended, m.PID)
			cpu := time.Duration(m.LauncherCPU) * time.Microsecond
			r.p.stats.cpu.Add(int64(cpu - r.launcherCPU))
			r.launcherCPU = cpu
			helper := time.Duration(m.CPU) * time.Microsecond
			r.helpersCPU += helper
			r.mu.Unlock()
			if ch != nil {
				ch <- ended{known: true, code: m.Code, signal: syscall.Signal(m.Signal), cpu: helper}
			}
		}
	}
}

// start asks the launcher to start cmd. The caller holds the launcher's mu.
func (r *launcherRun) start(cmd *exec.Cmd) (process, error) {
	b, err := json.Marshal(launcherMsg{Op: "start", Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir})
	if err != nil {
		return nil, err
	}
	if len(b) > r.maxMsg {
		return nil, errTooLong
	}
	fds := make([]int, len(cmd.ExtraFiles))
	for i, f := range cmd.ExtraFiles {
		if f == nil {
			return nil, errTooLong // no descriptor to send: started directly
		}
		fds[i] = int(f.Fd())
	}
	_, _, err = r.conn.WriteMsgUnix(b, syscall.UnixRights(fds...), nil)
	if errors.Is(err, syscall.EMSGSIZE) {
		return nil, errTooLong
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errLauncherGone, err)
	}
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-t.C:
		return nil, errLauncherGone // it hangs; closing the run kills it
	case m := <-r.replies:
		if m.Err != "" {
			return nil, errors.New(m.Err)
		}
		return &launched{r: r, id: m.PID, end: m.end}, nil
	case <-r.done:
		return nil, errLauncherGone
	}
}

// gone reports whether the launcher's connection ended.
func (r *launcherRun) gone() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// close ends the connection, which makes the launcher exit, and waits for it.
func (r *launcherRun) close() {
	r.conn.Close()
	r.goroutines.Wait()
	t := time.AfterFunc(groupTimeout, func() { r.cmd.Process.Kill() }) // it exits at once, unless it hangs
	r.cmd.Wait()
	t.Stop()
	if st := r.cmd.ProcessState; st != nil {
		// The wait's figure counts the launcher's children too: only what the
		// launcher itself used since it last said is new.
		self := st.UserTime() + st.SystemTime() - r.helpersCPU
		r.p.stats.cpu.Add(int64(max(0, self-r.launcherCPU)))
	}
}

// launched is a helper the launcher started.
type launched struct {
	r   *launcherRun
	id  int
	end chan ended
}

func (h *launched) pid() int { return h.id }

func (h *launched) wait() ended { return <-h.end }

func (h *launched) kill() {
	if b, err := json.Marshal(launcherMsg{Op: "kill", PID: h.id}); err == nil && !h.r.gone() {
		h.r.conn.Write(b) // the launcher kills it unless it already waited for it
	}
	// A launcher that does not say it ended (it was stopped, say) is killed, and
	// its helpers with it: stop must not wait for ever.
	time.AfterFunc(launcherTimeout, func() {
		h.r.mu.Lock()
		_, running := h.r.ended[h.id]
		h.r.mu.Unlock()
		if running {
			h.r.cmd.Process.Kill()
		}
	})
}

// launch is the launcher's loop (see the top of this file); it returns the exit
// code.
func launch(version string) int {
	if version != strconv.Itoa(protocolVersion) {
		fmt.Fprintf(os.Stderr, "probe launcher: protocol %q, want %d\n", version, protocolVersion)
		return 2
	}
	f := os.NewFile(3, "probe-launcher")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe launcher:", err)
		return 2
	}
	signal.Ignore(os.Interrupt)
	l := &launcherServer{conn: c.(*net.UnixConn), running: map[int]*os.Process{}}
	l.send(launcherMsg{Op: "hello", Version: protocolVersion})
	l.serve()
	return 0
}

// launcherServer is the launcher's side of its socket: it starts and kills helpers
// as asked, and says when each ended.
type launcherServer struct {
	conn *net.UnixConn
	wmu  sync.Mutex // one message at a time

	mu      sync.Mutex
	running map[int]*os.Process // started and not waited for
}

func (l *launcherServer) send(m launcherMsg) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if m.Op == "ended" {
		m.LauncherCPU = selfCPU().Microseconds() // in the order sent
	}
	b, _ := json.Marshal(m)
	l.conn.Write(b)
}

// serve answers messages until the Prober closes the socket, or its process dies.
func (l *launcherServer) serve() {
	buf := make([]byte, launcherBuffer)
	oob := make([]byte, syscall.CmsgSpace(16*4))
	for {
		n, oobn, _, _, err := l.conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		files := receivedFiles(oob[:oobn])
		var m launcherMsg
		if json.Unmarshal(buf[:n], &m) != nil {
			closeAll(files...)
			continue
		}
		switch m.Op {
		case "start":
			l.start(m, files)
		case "kill":
			closeAll(files...)
			l.kill(m.PID)
		default:
			closeAll(files...)
		}
	}
}

// start starts the helper m describes, with files as its extra descriptors, and
// says so; once it ends, it says how.
func (l *launcherServer) start(m launcherMsg, files []*os.File) {
	// Pdeathsig: a helper never outlives its launcher, which alone can wait for it
	// (and say how it ended).
	cmd := &exec.Cmd{Path: m.Path, Args: m.Args, Env: m.Env, Dir: m.Dir, ExtraFiles: files,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	err := cmd.Start()
	closeAll(files...)
	if err != nil {
		l.send(launcherMsg{Op: "started", Err: err.Error()})
		return
	}
	pid := cmd.Process.Pid
	l.mu.Lock()
	l.running[pid] = cmd.Process
	l.mu.Unlock()
	l.send(launcherMsg{Op: "started", PID: pid})
	go func() {
		cmd.Wait()
		l.mu.Lock()
		delete(l.running, pid)
		l.mu.Unlock()
		l.send(endedMsg(pid, cmd.ProcessState))
	}()
}

// kill kills the helper pid, if it still runs.
func (l *launcherServer) kill(pid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.running[pid]; p != nil {
		p.Kill()
	}
}

// endedMsg says how the helper pid ended.
func endedMsg(pid int, st *os.ProcessState) launcherMsg {
	m := launcherMsg{Op: "ended", PID: pid, Code: -1}
	if st != nil {
		m.Code = st.ExitCode()
		m.CPU = (st.UserTime() + st.SystemTime()).Microseconds()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			m.Signal = int(ws.Signal())
		}
	}
	return m
}

// selfCPU is the CPU time this process used, user and system.
func selfCPU() time.Duration {
	var self syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil {
		return 0
	}
	return time.Duration(self.Utime.Nano() + self.Stime.Nano())
}

// receivedFiles returns the descriptors a message carried.
func receivedFiles(oob []byte) []*os.File {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var files []*os.File
	for i := range msgs {
		fds, err := syscall.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "helper-pipe"))
		}
	}
	return files
}
