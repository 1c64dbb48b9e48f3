package watcher

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDebounce is the quiet period used when Options.Debounce is zero.
const DefaultDebounce = 100 * time.Millisecond

// Options configures a Watcher.
type Options struct {
	// Root is the plugins root. It may not exist yet (or go away later): the watcher
	// then watches its nearest existing parent and picks the root up when it appears.
	Root string
	// Debounce is the quiet period (docs/cli.md --debounce); DefaultDebounce when zero.
	Debounce time.Duration
	// Logger receives the watcher's logs; nil discards them. Accepted events are logged
	// at debug level.
	Logger *slog.Logger
	// Received, when set, is called from Run for every file event that is not ignored
	// (before debouncing), e.g. to count them. It must not block.
	Received func()
}

// Signal asks the reconciler to look again. It says nothing about what changed: the
// reconciler reads the disk (docs/desired-state.md, "events are hints; the disk is the truth").
type Signal struct {
	// Full asks for a rescan of everything rather than trusting what the reconciler
	// remembers: sent first when Run starts, and after an event overflow, a watch error,
	// the switch to polling, or the root or one of its active/, native/, bundles/
	// folders appearing or going.
	Full bool
	// Paths are the files and folders whose changes this signal stands for, when it
	// is not Full: a hint of where to look again, never a description of what
	// changed. Empty when Full.
	Paths []string
}

// merge folds t into s: both signals' paths, or a full rescan if either asks one.
func (s Signal) merge(t Signal) Signal {
	if s.Full || t.Full {
		return Signal{Full: true}
	}
	seen := make(map[string]bool, len(s.Paths)+len(t.Paths))
	var paths []string
	for _, p := range append(append([]string(nil), s.Paths...), t.Paths...) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return Signal{Paths: paths}
}

// Watcher turns file changes under a plugins root into Signals. Create it with New and
// start it with Run; C, SetExtra and Polling are safe to call from any goroutine.
type Watcher struct {
	root     string
	debounce time.Duration
	log      *slog.Logger
	received func()
	c        chan Signal
	kick     chan struct{}
	polling  atomic.Bool

	mu         sync.Mutex
	extras     []string
	extraGen   uint64
	appliedGen uint64
	applied    chan struct{} // closed and replaced when Run applies extras, closed when it returns
	started    bool
	running    bool

	// Test seams; set before Run.
	newBackend   func() (backend, error)
	pollInterval time.Duration
	recentFor    time.Duration // how recent a polled folder's times may be to be listed again (recentTimes)
	probe        chan probeAsk // nil outside tests: Run answers with its state

	// Owned by the goroutine running Run.
	b         backend
	specs     plan                // the folders watched (or polled) and why
	runExtras []string            // the extra folders Run applied, sorted
	stand     map[string]stand    // a missing root or extra folder → the ancestor watched in its place
	ids       map[fileID][]string // the names watched for each folder (a symlink shares its target's watch)
	failed    map[string]int      // folders whose watch failed (logged once), with the round they last failed in
	round     int                 // rounds of replanning or retrying failed folders
	lost      bool                // a watch was refused for lack of watches: poll instead
	deb       debouncer
	polls     int    // poll passes done
	lists     int    // folders listed by polling
	turns     int    // folders polled so far, to spread the stats of their files over the passes
	sent      int    // signals sent
	last      string // the name of the latest event read
}

// probeAsk asks Run for its state: with the folders watched when folders is set (that
// costs as many as there are), and whether path is one.
type probeAsk struct {
	reply   chan probeState
	folders bool
	path    string
}

// probeState is what Run tells a test through Watcher.probe, between two events.
type probeState struct {
	pending bool            // events are held by the debouncer
	watched map[string]bool // when asked for
	has     bool            // the path asked about is watched
	polls   int
	lists   int
	sent    int
	last    string // the name of the latest event read, ignored or not
}

// New returns a Watcher for opts. It touches nothing on disk until Run.
func New(opts Options) (*Watcher, error) {
	if opts.Root == "" {
		return nil, errors.New("watcher: Options.Root is empty")
	}
	if opts.Debounce < 0 {
		return nil, fmt.Errorf("watcher: negative Options.Debounce %v", opts.Debounce)
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("watcher: root %s: %w", opts.Root, err)
	}
	d := opts.Debounce
	if d == 0 {
		d = DefaultDebounce
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	received := opts.Received
	if received == nil {
		received = func() {}
	}
	return &Watcher{
		root:         root,
		debounce:     d,
		log:          log,
		received:     received,
		c:            make(chan Signal, 1),
		kick:         make(chan struct{}, 1),
		applied:      make(chan struct{}),
		newBackend:   newNotifyBackend,
		pollInterval: time.Second,
		recentFor:    recentTimes,
		failed:       map[string]int{},
	}, nil
}

// C returns the channel of signals. It has a capacity of one and never blocks the
// watcher: a signal sent while another is still unread is merged into it (Full is
// OR-ed). The first signal, Full, comes once Run's watches are in place, so a pass
// made on it misses no later change. C is closed when Run returns.
func (w *Watcher) C() <-chan Signal { return w.c }

// Polling reports whether the watcher gave up on file notifications (the inotify watch
// limit was reached, or notifications could not be set up) and polls the same folders
// every second instead. Once true it stays true until Run returns.
func (w *Watcher) Polling() bool { return w.polling.Load() }

// SetExtra replaces the extra folders to watch besides the layout: the folders that
// entrypoints resolve to outside the watched layout (a symlinked build output under
// --trust, a bundle's lib/). Every entry of an extra folder that is not ignored
// matters; folders inside it are not watched. A missing folder is picked up when it
// appears. Relative paths are made absolute against the working directory.
//
// Only the difference with the previous set is applied: a folder already watched (a
// bundle folder of the layout) is marked without a look at the disk, so a set that
// differs by a folder costs little more than comparing the two lists.
//
// While Run is running, SetExtra returns once the new set is watched, so a change made
// after it returns is seen; a folder that was not watched yet counts as a change. Before
// Run the set is kept for Run; once Run has returned it has no effect.
func (w *Watcher) SetExtra(dirs []string) {
	w.mu.Lock()
	prev := w.extras // never changed in place
	w.mu.Unlock()
	clean := cleanSet(dirs, prev)

	w.mu.Lock()
	if slices.Equal(clean, w.extras) { // cheap when taken from it: the same strings
		w.mu.Unlock()
		return
	}
	w.extras = clean
	w.extraGen++
	gen, running := w.extraGen, w.running
	w.mu.Unlock()
	if !running {
		return
	}
	select {
	case w.kick <- struct{}{}:
	default:
	}
	for {
		w.mu.Lock()
		if !w.running || w.appliedGen >= gen {
			w.mu.Unlock()
			return
		}
		ch := w.applied
		w.mu.Unlock()
		<-ch
	}
}

// cleanSet returns dirs absolute, sorted and without duplicates or empty names. The
// caller usually passes a sorted set that differs from prev (clean and sorted) by a
// folder or two: a folder found in prev is taken from it as it is, and the new set is
// sorted only when it is out of order.
func cleanSet(dirs, prev []string) []string {
	clean := make([]string, 0, len(dirs))
	sorted, lastNew := true, false
	k := 0
	for _, d := range dirs {
		if d == "" {
			continue
		}
		for k < len(prev) && prev[k] < d {
			k++
		}
		if k < len(prev) && prev[k] == d {
			sorted = sorted && (!lastNew || clean[len(clean)-1] < d)
			clean = append(clean, prev[k])
			k, lastNew = k+1, false
			continue
		}
		a, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		sorted = sorted && (len(clean) == 0 || clean[len(clean)-1] < a)
		clean, lastNew = append(clean, a), true
	}
	if !sorted {
		slices.Sort(clean)
		clean = slices.Compact(clean)
	}
	return clean
}
