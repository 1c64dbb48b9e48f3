package probe

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// ErrUnavailable is the sentinel error of ProbeBatch and Probe besides native's
// (native.ErrCrashed among them): the library could not be probed, for a reason
// that is not the library's: no helper could be started (Error.Detail says why),
// native plugins are not supported on this system, or the Prober is closed. It comes
// as a *native.Error with Op "probe" and the library's path, wraps no sentinel of
// package native, and is matched with errors.Is.
var ErrUnavailable = errors.New("probe helper unavailable")

// The default of Options.Timeout.
const defaultTimeout = 5 * time.Second

// How long a helper may take to start and say hello, whatever Options.Timeout says:
// starting a process is no part of the library's time.
const startTimeout = 10 * time.Second

// A spare helper left idle this long is stopped; the next probe starts one.
const idleTimeout = time.Minute

// maxPerHelper bounds the libraries one helper opens: the loader may keep some of
// them mapped after they are closed, and each costs mappings and descriptors. Each
// helper costs a process start (about 5 ms of CPU): at 64 a helper, helpers took
// 2.3–2.6 s of CPU to probe 10,000 libraries at start, at 256 1.9–2.0 s
// (BenchmarkStart).
const maxPerHelper = 256

// Options configure a Prober. The zero Options are the defaults.
type Options struct {
	// ABI is the range of accepted API versions; the zero Range means
	// native.DefaultRange().
	ABI native.Range
	// Timeout is how long a helper may take to open one library and read its
	// metadata; past it the probe counts as a hang. Zero means 5s.
	Timeout time.Duration
	// Workers is the number of helpers probing at the same time, over all calls;
	// zero means runtime.NumCPU(). The spare helper, idle, is not counted.
	Workers int
	// Command returns the command that starts a helper; it is called once per
	// helper. The default runs this executable (/proc/self/exe on Linux, else
	// os.Executable()) with no arguments. The Prober puts its three pipes first in
	// ExtraFiles (descriptors 3 to 5), adds PLUGWATCH_PROBE_HELPER and
	// GOTRACEBACK=single to Env (to os.Environ() when Env is nil) and sets
	// SysProcAttr.Setpgid; the command must end up calling Main. Stdin, Stdout and
	// Stderr are left as Command sets them: nil is the null device, and a helper
	// whose Stderr is the null device writes it to the parent's crash pipe instead,
	// of which the parent keeps the end (see Protocol in the package documentation).
	Command func() *exec.Cmd
	// Logger receives the Prober's own logs (helpers started and stopped, crashes,
	// at debug; a helper that cannot start at warn); nil discards them.
	Logger *slog.Logger
}

// Result is what probing one library gave: its metadata, or the error that opening
// it gave (see the package documentation for what an error means). Meta and Err are
// both set only when the library was read and closing it failed.
type Result = native.ProbeResult

// Prober probes libraries in helper processes. It implements reconcile.Prober. Its
// methods are safe for concurrent use.
//
// Each helper probes the libraries of one call (at most 256 of them) and is then
// stopped: when ProbeBatch returns, every helper that opened one of its libraries
// has exited, has been waited for, and its process group is gone, so a port or lock
// a constructor took is free again. Up to Options.Workers helpers probe at the same
// time; calls wait for a free one, oldest first. One spare helper is kept started
// ahead, idle, so that a probe does not wait for a process to start; a new spare is
// started as soon as one is taken, and a spare left idle for a minute is stopped.
type Prober struct {
	abi         native.Range
	timeout     time.Duration
	workers     int
	command     func() *exec.Cmd
	log         *slog.Logger
	idleTimeout time.Duration

	slots  chan struct{} // holds a value per helper probing; capacity workers
	spares chan *helper  // the spare loop hands its spare over on it
	wanted chan struct{} // (buffered 1) asks the spare loop for a spare
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	stats    stats     // for tests, and CPU
	launcher *launcher // starts the helpers of the default command; nil: p starts them

	mu     sync.Mutex
	closed bool
}

var _ interface {
	Probe(context.Context, string) (native.Metadata, error)
} = (*Prober)(nil)

// New returns a Prober configured by opts and starts its spare helper in the
// background. Call Close when done.
func New(opts Options) *Prober {
	return newProber(opts, idleTimeout)
}

func newProber(opts Options, idle time.Duration) *Prober {
	p := &Prober{
		abi:         opts.ABI,
		timeout:     opts.Timeout,
		workers:     opts.Workers,
		command:     opts.Command,
		log:         opts.Logger,
		idleTimeout: idle,
		spares:      make(chan *helper),
		wanted:      make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	if p.abi == (native.Range{}) {
		p.abi = native.DefaultRange()
	}
	if p.timeout <= 0 {
		p.timeout = defaultTimeout
	}
	if p.workers <= 0 {
		p.workers = runtime.NumCPU()
	}
	if p.command == nil {
		p.command = defaultCommand
		p.launcher = newLauncher(p)
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.slots = make(chan struct{}, p.workers)
	p.wg.Add(1)
	go p.spareLoop()
	return p
}

// stats count what a Prober did, for its tests.
type stats struct {
	starts     atomic.Int64 // helpers started
	coldStarts atomic.Int64 // helpers started while a probe waited
	idleStops  atomic.Int64 // spares stopped for being idle
	spareReady atomic.Bool  // whether the spare loop holds a spare
	cpu        atomic.Int64 // nanoseconds of CPU time of the helpers that ended, and of the launcher
}

// CPU returns the CPU time, user and system, that p's helpers which ended used,
// together with that of the launcher process that starts them, if any (a
// benchmark's or a metric's figure: this process's own rusage counts neither once
// a launcher starts the helpers).
func (p *Prober) CPU() time.Duration { return time.Duration(p.stats.cpu.Load()) }

// spawn starts a helper's command: through the launcher when p has one and this
// process holds many descriptors.
func (p *Prober) spawn(cmd *exec.Cmd) (process, error) {
	if p.launcher != nil && len(cmd.ExtraFiles) > 0 && int(cmd.ExtraFiles[0].Fd()) >= launcherAbove {
		return p.launcher.start(cmd)
	}
	return startDirect(cmd)
}

// launcherAbove is how many descriptors this process must hold before its helpers
// are started by the launcher. A process start costs its parent and itself time for
// each descriptor the parent holds: 0.07 ms per thousand folders held open in
// BenchmarkProbeHoldingDescriptors, about 0.3 ms per thousand plugins in a daemon
// (a helper's CPU went from 5.9 to 8.2–9.9 ms between 100 and 10,000 plugins in
// BenchmarkDropScaling); going through the launcher costs about 0.35 ms. The first pipe
// made for a helper gets the lowest free descriptor, so its number is about how
// many are open. Tests set it to 0.
var launcherAbove = 1024

// Probe is ProbeBatch of one library.
func (p *Prober) Probe(ctx context.Context, path string) (native.Metadata, error) {
	r := p.ProbeBatch(ctx, []string{path})[0]
	return r.Meta, r.Err
}

// ProbeBatch opens each library of paths in a helper process and returns one Result
// per path, in order. A relative path is taken relative to the working directory
// now. The libraries are probed in as many helpers at once as Options.Workers
// allows, each library once, and a library that crashes or hangs its helper once
// more alone in a fresh helper before it is blamed (native.ErrCrashed); the libraries after
// it go on in another helper.
//
// When ProbeBatch returns, every helper that opened one of the libraries has exited
// and has been waited for, with its whole process group. When ctx ends first,
// ProbeBatch stops the helpers at once and returns ctx.Err() for the libraries not
// probed yet (keeping the results it has); after Close, or when Close comes first,
// their error is ErrUnavailable.
func (p *Prober) ProbeBatch(ctx context.Context, paths []string) []Result {
	b := newBatch(ctx, paths)
	if ctx.Err() == nil && b.pending() && p.enter() {
		var wg sync.WaitGroup
		for i := range min(p.workers, b.left()) {
			primary := i == 0
			wg.Go(func() { p.runner(b, primary) })
		}
		wg.Wait()
		p.wg.Done()
	}
	return b.finish(p.closedErr)
}

// Close stops every helper, abandoning the probes in flight (their ProbeBatch calls
// return ErrUnavailable for the libraries not probed yet), and returns once no
// helper process and no goroutine of the Prober is left. Later calls do nothing.
// Close always returns nil.
func (p *Prober) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
	p.wg.Wait()
	if p.launcher != nil {
		p.launcher.close()
	}
	return nil
}

// enter counts a call in p.wg; it reports false when p is closed.
func (p *Prober) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// closedErr is the error of a library not probed because p is closed.
func (p *Prober) closedErr(path string) error {
	return unavailable(path, "prober is closed")
}

func unavailable(path, detail string) error {
	return &native.Error{Op: "probe", Path: path, Err: ErrUnavailable, Detail: detail}
}

func crashed(path, detail string) error {
	return &native.Error{Op: "probe", Path: path, Err: native.ErrCrashed, Detail: detail}
}
