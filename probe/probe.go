package probe

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// The sentinel errors of Probe, besides native's. Both come as a *native.Error with
// Op "probe" and the library's path; match them with errors.Is.
var (
	// ErrCrashed: opening the library killed or hung the helper, also when it was
	// tried again alone in a fresh helper. Error.Detail says how: "killed by signal
	// SIGSEGV", "aborted (SIGABRT)", "hung for more than 5s", "exited with status 3".
	ErrCrashed = native.ErrCrashed
	// ErrUnavailable: the library could not be probed, for a reason that is not the
	// library's: no helper could be started (Error.Detail says why), or the Prober
	// is closed.
	ErrUnavailable = errors.New("probe helper unavailable")
)

// The default of Options.Timeout.
const defaultTimeout = 5 * time.Second

// How long a helper may take to start and say hello, whatever Options.Timeout says:
// starting a process is no part of the library's time.
const startTimeout = 10 * time.Second

// A helper left idle this long is stopped; the next probe starts a new one.
const idleTimeout = time.Minute

// Options configure a Prober. The zero Options are the defaults.
type Options struct {
	// ABI is the range of accepted API versions; the zero Range means
	// native.DefaultRange().
	ABI native.Range
	// Timeout is how long a helper may take to open one library and read its
	// metadata; past it the probe counts as a hang. Zero means 5s.
	Timeout time.Duration
	// Workers is the number of helpers probing in parallel; zero means
	// runtime.NumCPU().
	Workers int
	// Command returns the command that starts a helper; it is called once per
	// helper. The default runs this executable (/proc/self/exe on Linux, else
	// os.Executable()) with no arguments. The Prober puts its three pipes first in
	// ExtraFiles (descriptors 3 to 5) and adds PLUGWATCH_PROBE_HELPER and
	// GOTRACEBACK=single to Env (to os.Environ() when Env is nil); the command must
	// end up calling Main. Stdin,
	// Stdout and Stderr are left as Command sets them: nil is the null device.
	Command func() *exec.Cmd
	// Logger receives the Prober's own logs (helpers started and stopped at debug,
	// crashes at warn); nil discards them.
	Logger *slog.Logger
}

// Prober probes libraries in helper processes. It implements reconcile.Prober. Its
// methods are safe for concurrent use. Helpers are started lazily, when there is work
// and no idle helper, up to Options.Workers; each handles one library at a time, and
// one left idle for a minute is stopped. Libraries wait in one queue, oldest first.
type Prober struct {
	abi         native.Range
	timeout     time.Duration
	workers     int
	command     func() *exec.Cmd
	log         *slog.Logger
	idleTimeout time.Duration

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	started int       // workers running
	idle    []*worker // workers waiting for a job, most recently used last
	queue   []*job    // jobs waiting for a worker, oldest first
}

var _ interface {
	Probe(context.Context, string) (native.Metadata, error)
} = (*Prober)(nil)

// New returns a Prober configured by opts. It starts nothing: helpers start with the
// first probes. Call Close when done.
func New(opts Options) *Prober {
	p := &Prober{
		abi:         opts.ABI,
		timeout:     opts.Timeout,
		workers:     opts.Workers,
		command:     opts.Command,
		log:         opts.Logger,
		idleTimeout: idleTimeout,
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
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// job is one call of Probe.
type job struct {
	ctx  context.Context
	path string       // as the caller gave it
	abs  string       // what the helper opens
	res  chan outcome // buffered; receives exactly one outcome
}

type outcome struct {
	meta native.Metadata
	err  error
}

// Probe opens the library at path in a helper and returns its metadata, or the error
// that opening it gave (see the package documentation for what a result means). A
// relative path is taken relative to the working directory now. When ctx ends first,
// Probe returns ctx.Err() at once; the helper finishes (or times out on) the library
// in the background and its answer is dropped. After Close, Probe returns
// ErrUnavailable.
func (p *Prober) Probe(ctx context.Context, path string) (native.Metadata, error) {
	if err := ctx.Err(); err != nil {
		return native.Metadata{}, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return native.Metadata{}, &native.Error{Op: "probe", Path: path, Err: err}
	}
	j := &job{ctx: ctx, path: path, abs: abs, res: make(chan outcome, 1)}
	if !p.submit(j) {
		return native.Metadata{}, closedError(path)
	}
	select {
	case o := <-j.res:
		return o.meta, o.err
	case <-ctx.Done():
		p.withdraw(j)
		return native.Metadata{}, ctx.Err()
	}
}

// Close stops every helper, abandoning the probes in flight (their Probe calls return
// ErrUnavailable), and returns once no helper process and no goroutine of the Prober
// is left. Later calls do nothing. Close always returns nil.
func (p *Prober) Close() error {
	p.mu.Lock()
	var queued []*job
	if !p.closed {
		p.closed = true
		queued, p.queue, p.idle = p.queue, nil, nil
		close(p.done)
	}
	p.mu.Unlock()
	for _, j := range queued {
		j.res <- outcome{err: closedError(j.path)}
	}
	p.wg.Wait()
	return nil
}

// submit hands j to an idle worker, to a new worker, or queues it. It reports false
// when the Prober is closed.
func (p *Prober) submit(j *job) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return false
	case len(p.idle) > 0:
		w := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		w.jobs <- j // buffered, and w takes one job at a time
	case p.started < p.workers:
		p.started++
		p.wg.Add(1)
		go p.run(&worker{jobs: make(chan *job, 1)}, j)
	default:
		p.queue = append(p.queue, j)
	}
	return true
}

// withdraw removes j from the queue if no worker took it yet.
func (p *Prober) withdraw(j *job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.queue, j); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
	}
}

func closedError(path string) error {
	return &native.Error{Op: "probe", Path: path, Err: ErrUnavailable, Detail: "prober is closed"}
}
