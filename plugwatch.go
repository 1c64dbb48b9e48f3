// Package plugwatch runs the watch-and-reconcile loop of the plugwatch daemon: it
// watches a StreamKit plugins root and keeps the native plugins loaded in this
// process equal to what is on disk. The command line (cmd/plugwatch) is a thin layer
// over Run; a Go media server embeds the same loop with its own logger and a
// reconcile.Host that is told of every load, reload and unload.
//
// Data flows one way: the watcher's signals ask the reconcile.Controller to look
// again; the controller reads the disk and opens libraries through package native.
package plugwatch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugwatch/plugwatch/admin"
	"github.com/plugwatch/plugwatch/install"
	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/reconcile"
	"github.com/plugwatch/plugwatch/state"
	"github.com/plugwatch/plugwatch/watcher"
)

// Config configures a Daemon. The zero value of every field but Root has a default.
type Config struct {
	reconcile.Options
	// Debounce is the quiet period (default 100ms): the first change after a quiet
	// period is reconciled at once, later ones once they have been quiet this long,
	// and files modified within it that fail are not judged yet.
	Debounce time.Duration
	// Resync is the interval of a full pass as a safety net (0: none).
	Resync time.Duration
	// Listen is the admin HTTP API's address ("" or "off": none).
	Listen string
	// OnChange is a shell command run after each pass that changed plugins, with the
	// pass's events as JSON lines on its standard input ("" : none).
	OnChange string
	// AdminToken is the bearer token the admin API's write endpoints require; with
	// none they answer 403. MaxUpload is the largest upload they accept (default
	// 512 MiB).
	AdminToken string
	MaxUpload  int64
	// ProbeTimeout is how long a library's probe, and then its open in this process,
	// may take before it counts as a hang (default 5s). Options.Prober, when nil, is a pool of probe helper processes
	// (package probe): the embedding program must call probe.Main first in main.
	ProbeTimeout time.Duration
	// Smoke tries every library that passed its probe before it is opened (run
	// --smoke), with SmokeParams by kind; see SmokeTester.
	Smoke       bool
	SmokeParams map[string][]byte
	// StopTimeout bounds how long Run waits, once ctx ended, for the plugins to be
	// released and closed (default 30s); past it Run returns an error matching
	// context.DeadlineExceeded, with what could not be closed left open.
	StopTimeout time.Duration
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// Host is told of every load, reload and unload; nil means nobody.
	Host reconcile.Host
	// Ready, when set, is called once the admin API is listening (with its address,
	// nil without one) and the first pass has finished.
	Ready func(addr net.Addr)
}

// Daemon is one run of the loop. Make it with New and start it with Run.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	ctl     *reconcile.Controller
	metrics *admin.Metrics
	rescan  chan struct{}
	prober  reconcile.Prober // libraries are probed through it before they are opened
	helpers *probe.Prober    // the pool the daemon made, closed when Run returns
	passes  atomic.Uint64
	last    atomic.Int64 // the duration of the last pass, in nanoseconds

	mu     sync.Mutex
	placed map[string]string // uploads placed that no pass has judged yet: library by kind
}

// LastPass returns how long the last reconcile pass took.
func (d *Daemon) LastPass() time.Duration { return time.Duration(d.last.Load()) }

// Passes returns how many reconcile passes Run has made.
func (d *Daemon) Passes() uint64 { return d.passes.Load() }

// New prepares a daemon: it creates the root and its native/ and active/ folders
// when they are missing, and removes private copies left by dead plugwatch
// processes. It opens no library; Run does.
func New(cfg Config) (*Daemon, error) {
	if cfg.Debounce <= 0 {
		cfg.Debounce = 100 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, dir := range []string{cfg.Root, filepath.Join(cfg.Root, "native"), filepath.Join(cfg.Root, "active")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if n := install.RemoveDeadStaging(cfg.Root); n > 0 {
		log.Info("removed upload staging files left by earlier runs", "count", n, "path", cfg.Root)
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 512 << 20
	}
	opts := cfg.Options
	opts.Quiet = cfg.Debounce
	var helpers *probe.Prober
	if opts.Prober == nil {
		helpers = probe.New(probe.Options{ABI: opts.ABI, Timeout: cfg.ProbeTimeout, Logger: log})
		opts.Prober = helpers
	}
	if cfg.Smoke && opts.Smoker == nil {
		pool, ok := opts.Prober.(*probe.Prober)
		if !ok {
			if helpers == nil {
				helpers = probe.New(probe.Options{ABI: opts.ABI, Timeout: cfg.ProbeTimeout, Logger: log})
			}
			pool = helpers
		}
		opts.Smoker = SmokeTester(pool, cfg.SmokeParams, log)
	}
	// Opening a library here has the probe's time limit (docs/files.md).
	ctl, err := reconcile.NewController(reconcile.ControllerOptions{Options: opts, Logger: log, Host: cfg.Host, OpenTimeout: cfg.ProbeTimeout})
	if err != nil {
		if helpers != nil {
			helpers.Close()
		}
		return nil, err
	}
	metrics := admin.NewMetrics()
	metrics.Follow(ctl.State)
	return &Daemon{cfg: cfg, log: log, ctl: ctl, metrics: metrics, rescan: make(chan struct{}, 1),
		prober: opts.Prober, helpers: helpers}, nil
}

// State returns the current state document, or nil before the first pass.
func (d *Daemon) State() *state.State { return d.ctl.State() }

// Subscribe returns every event from now on; see reconcile.Controller.Subscribe.
func (d *Daemon) Subscribe() (<-chan state.Event, func()) { return d.ctl.Subscribe() }

// Rescan asks for a full rescan (SIGHUP), which counts as a new generation.
func (d *Daemon) Rescan() {
	select {
	case d.rescan <- struct{}{}:
	default:
	}
}

// Run reconciles once, then watches the root and reconciles on every change until
// ctx ends; then it stops watching, unloads every plugin, waits for the embedder to
// release them and removes the private copies. It returns nil after a clean stop;
// an error when it could not start (the watcher, or the admin API's address); and,
// after ctx ended, an error matching context.DeadlineExceeded when the plugins were
// not all released within Config.StopTimeout.
func (d *Daemon) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		closeCtx, stop := context.WithTimeout(context.Background(), d.cfg.StopTimeout)
		defer stop()
		if cerr := d.ctl.Close(closeCtx); cerr != nil && err == nil {
			err = cerr
		}
		if d.helpers != nil {
			d.helpers.Close()
		}
	}()

	w, err := watcher.New(watcher.Options{Root: d.ctl.Root(), Debounce: d.cfg.Debounce, Logger: d.log, Received: d.metrics.EventReceived})
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()

	addr, err := d.serve(ctx, &wg)
	if err != nil {
		return err
	}
	hooks := newOnChange(ctx, d.cfg.OnChange, d.log)
	defer hooks.wait()

	d.firstReconcile(ctx, w, hooks)
	d.summary("first reconcile finished")
	if d.cfg.Ready != nil {
		d.cfg.Ready(addr)
	}
	d.loop(ctx, w, hooks)
	return nil
}

// firstReconcile runs passes until every library the first one found was probed.
func (d *Daemon) firstReconcile(ctx context.Context, w *watcher.Watcher, hooks *onChange) {
	for h := (reconcile.Hint{Full: true}); ; h = (reconcile.Hint{}) {
		d.pass(ctx, h, w, hooks)
		if d.ctl.Probing() == 0 || ctx.Err() != nil {
			return
		}
		select {
		case <-d.ctl.LookAgain():
		case <-ctx.Done():
		}
	}
}

// loop runs a pass for each reason to look again, until ctx is done: the watcher's
// signals, probe results, a rescan asked for, the resync interval, and the time
// when what was left to judge may be judged.
func (d *Daemon) loop(ctx context.Context, w *watcher.Watcher, hooks *onChange) {
	var resync <-chan time.Time
	if d.cfg.Resync > 0 {
		t := time.NewTicker(d.cfg.Resync)
		defer t.Stop()
		resync = t.C
	}
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		if at := d.ctl.RetryAt(); !at.IsZero() {
			retry.Reset(time.Until(at))
		} else {
			retry.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case s := <-w.C():
			d.pass(ctx, reconcile.Hint{Full: s.Full, Paths: s.Paths}, w, hooks)
		case <-d.ctl.LookAgain():
			d.pass(ctx, reconcile.Hint{}, w, hooks) // probe results wait for a pass
		case <-d.rescan:
			d.log.Info("full rescan requested", "path", d.ctl.Root())
			d.pass(ctx, reconcile.Hint{Full: true, Rescan: true}, w, hooks)
			d.summary("full rescan finished")
		case <-resync:
			d.pass(ctx, reconcile.Hint{Full: true}, w, hooks)
		case <-retry.C:
			d.pass(ctx, reconcile.Hint{}, w, hooks) // what was left to judge is read again
		}
	}
}

// summary logs what the state holds now: the root and how many plugins, skipped
// claimants and problems it has.
func (d *Daemon) summary(msg string) {
	st := d.ctl.State()
	if st == nil {
		return
	}
	d.log.Info(msg, "path", st.Root, "plugins", len(st.Plugins), "skipped", len(st.Skipped), "problems", len(st.Problems),
		"generation", st.Generation)
}

// pass runs one reconcile and hands its results on.
func (d *Daemon) pass(ctx context.Context, h reconcile.Hint, w *watcher.Watcher, hooks *onChange) {
	start := time.Now()
	d.passes.Add(1)
	events, err := d.ctl.Step(ctx, h)
	if err != nil {
		return // ctx ended
	}
	took := time.Since(start)
	d.last.Store(int64(took))
	d.metrics.ObserveReconcile(took)
	d.log.Debug("reconciled", "took", took, "events", len(events), "full", h.Full, "rescan", h.Rescan, "probing", d.ctl.Probing())
	changed := false
	for _, e := range events {
		switch e.Type {
		case state.Loaded, state.Reloaded, state.Unloaded:
			changed = true
		case state.ProblemEvent:
			if e.Level == state.Error {
				d.metrics.LoadFailed()
			}
		}
	}
	w.SetExtra(d.ctl.WatchDirs())
	if changed {
		hooks.run(events)
	}
}

// serve starts the admin API when one is configured, and returns its address once
// it listens.
func (d *Daemon) serve(ctx context.Context, wg *sync.WaitGroup) (net.Addr, error) {
	if d.cfg.Listen == "" || d.cfg.Listen == "off" {
		return nil, nil
	}
	h := admin.WriteHandler(admin.NewHandler(d, d.metrics, d.log), admin.WriteOptions{
		Token: d.cfg.AdminToken, MaxUpload: d.cfg.MaxUpload, Install: d.install, Remove: d.remove,
	})
	bound := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- admin.Serve(ctx, d.cfg.Listen, h, d.log, func(a net.Addr) { bound <- a })
	}()
	select {
	case a := <-bound:
		return a, nil
	case err := <-errc:
		if err == nil {
			err = errors.New("admin API stopped")
		}
		return nil, err
	}
}

// install places an upload the safe way (docs/files.md), refusing a kind that a plugin on
// disk or a plugin loaded here already provides. The watcher then sees it and the
// next pass loads it.
func (d *Daemon) install(ctx context.Context, name string, body io.Reader, maxSize int64) (install.Result, error) {
	res, err := install.Install(ctx, install.Options{Root: d.ctl.Root(), Prober: d.prober, Provided: d.provided}, name, body, maxSize, nil)
	if err == nil && res.Kind != "" {
		d.mu.Lock()
		if d.placed == nil {
			d.placed = map[string]string{}
		}
		d.placed[res.Kind] = res.Path
		d.mu.Unlock()
	}
	return res, err
}

// remove removes a plugin's files (docs/cli.md remove); the next pass unloads it.
func (d *Daemon) remove(ctx context.Context, id string, from install.From) error {
	_, err := install.RemoveFrom(ctx, d.ctl.Root(), id, from)
	return err
}

// provided returns the kinds the daemon's last pass provides (its loaded set, which
// is what is on disk once the pass has seen it: an upload never re-probes the root),
// and those of the uploads it placed that no pass has judged yet, so that two uploads
// of one kind in a row are not both placed.
func (d *Daemon) provided(context.Context) (map[string]string, error) {
	st := d.ctl.State()
	kinds := st.Provided()
	d.mu.Lock()
	defer d.mu.Unlock()
	for kind, lib := range d.placed {
		if _, err := os.Stat(lib); err != nil || kinds[kind] != "" || st.Judged(lib) {
			delete(d.placed, kind) // loaded, refused, or gone
			continue
		}
		kinds[kind] = lib
	}
	return kinds, nil
}
