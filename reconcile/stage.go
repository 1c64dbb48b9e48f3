package reconcile

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"runtime"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// errProbing: the claim's library is being probed (or opened) off the pass. The
// claim keeps its previous state until the result arrives.
var errProbing = fmt.Errorf("%w: being probed", errNotJudged)

// errRewriting: the claim's library is being rewritten in place; it is looked at once
// quiet.
var errRewriting = fmt.Errorf("%w: being rewritten", errNotJudged)

// batchProber is a Prober that probes many libraries at once (package probe's pool
// does: one helper process for the batch, which has exited when it returns).
type batchProber interface {
	ProbeBatch(ctx context.Context, paths []string) []native.ProbeResult
}

// probeResult is one library's result of a batch probe.
type probeResult = native.ProbeResult

// stage probes libraries off the pass. It owns the probe cache, keyed by file
// identity: a pass looks its claims up (never waiting), a library not seen before is
// queued, and when results arrive the stage asks for another pass through C. Under
// run (open set) a library that passed its probe is opened in this process by the
// stage too, with a time limit, and waits for the pass that adopts it.
//
// Each job copies the library to a private copy (checking the original's identity
// is still the one the pass saw), probes that copy, and opens that same copy: the
// verdict belongs to the bytes that were probed.
type stage struct {
	prober  Prober
	smoker  Smoker // nil: no smoke tests
	copies  *copier
	limits  *limits
	open    func(path string) (*native.Library, error) // nil: probe only
	timeout time.Duration                              // of an open in this process
	retry   time.Duration                              // before a job that judged nothing is tried again
	workers int
	log     *slog.Logger
	look    chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	m       map[Identity]*verdict
	opens   chan []*job // probed jobs for the opener (under run)
	offered []*verdict  // verdicts whose opened library the last lookup offered; see sweep
	queue   []*verdict
	running int
	grown   int // the batch size the next batch may take, growing from firstBatch
	pass    uint64
	cause   error // why the last job that judged nothing failed (helper unavailable)
	closed  bool
	warned  map[string]bool // libraries whose copy failed, logged once until one succeeds

	probation map[Identity]bool // suspects of an earlier death, not opened yet
	alone     time.Time         // until when the last suspect opened is alone on probation
	wake      *time.Timer       // asks for a pass at wakeAt
	wakeAt    time.Time

	// changed holds the identities whose verdicts were published since the last
	// changes; everything says a timer asked for a pass, for reasons no identity
	// names (a suspect's turn, a retry).
	changed    map[Identity]bool
	everything bool
}

// verdict is what the stage knows of one file identity.
type verdict struct {
	id    Identity
	path  string // the user's path to the library, as the claim names it
	done  bool
	meta  *native.Metadata // once done without err; never changed afterwards
	err   error
	smoke *state.Smoke

	// Under run: the library opened in this process from copy, until a pass adopts
	// it (take) or a pass that saw it leaves it (sweep).
	lib  *native.Library
	copy private
	seen uint64

	transient bool // refused for a process limit, not for the file: a full pass judges it again
	orphan    bool // no claim held it when it was still at work: forgotten when published
	// reopening: judged, and being copied and opened again for a pass that wants it
	// (take); lookups go on seeing the verdict it has.
	reopening bool
}

func newStage(p Prober, smoker Smoker, cp *copier, log *slog.Logger) *stage {
	ctx, cancel := context.WithCancel(context.Background())
	return &stage{
		prober: p, smoker: smoker, copies: cp, log: log, limits: newLimits(), timeout: 5 * time.Second, retry: time.Second,
		workers: runtime.GOMAXPROCS(0), look: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, m: map[Identity]*verdict{}, warned: map[string]bool{},
		probation: map[Identity]bool{}, changed: map[Identity]bool{},
	}
}

// changes returns the identities whose verdicts were published since the last
// call, and whether a pass must look every waiting claim up again instead.
func (s *stage) changes() (map[Identity]bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, all := s.changed, s.everything
	s.changed, s.everything = map[Identity]bool{}, false
	return ids, all
}

// C receives a value whenever results arrived that no pass has seen yet.
func (s *stage) C() <-chan struct{} { return s.look }

func (s *stage) lookAgain() {
	select {
	case s.look <- struct{}{}:
	default:
	}
}

// lookup gives every claim that needs a probe what the stage knows of its library:
// Meta or ProbeErr, or errProbing while its job runs (a new identity's job is
// queued). It forgets the identities of dropped (nil: every identity it has) that
// neither a claim given now nor, as held says, any other claim holds, and starts
// the queued jobs.
func (s *stage) lookup(claims []*claim, dropped iter.Seq[Identity], held func(Identity) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pass++
	if dropped == nil {
		dropped = maps.Keys(s.m)
	}
	used := make(map[Identity]bool, len(claims))
	for _, c := range claims {
		if s.give(c) {
			used[c.Identity] = true
		}
	}
	for id := range dropped {
		if !used[id] && !held(id) {
			s.forget(id)
		}
	}
	s.start()
}

// retryTransient forgets the verdicts a process limit gave (a limit may have been
// raised, or plugins unloaded since), as changes: the next pass looks their claims
// up again, and they are probed and opened again. A full pass calls it first.
func (s *stage) retryTransient() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, v := range s.m {
		if v.done && v.transient {
			delete(s.m, id)
			s.changed[id] = true
		}
	}
}

// give sets the claim's Meta, Smoke and ProbeErr from its library's verdict, queuing
// a job for an identity the stage has none for; it reports whether the claim needs
// a verdict (Wasm, failed and rewriting claims need none).
func (s *stage) give(c *claim) bool {
	if c.Wasm || c.Fail != nil {
		return false
	}
	if c.Rewriting {
		c.Meta, c.Smoke, c.ProbeErr = nil, nil, errRewriting
		return false
	}
	v := s.m[c.Identity]
	if v != nil {
		v.orphan = false
	}
	if v == nil && s.probation[c.Identity] && s.open != nil && !s.onProbation(c.Identity) {
		c.ProbeErr = errProbing // another suspect is alone on probation
		return true
	}
	if v == nil {
		v = &verdict{id: c.Identity, path: c.Library}
		s.m[c.Identity] = v
		s.queue = append(s.queue, v)
	}
	c.Meta, c.Smoke, c.ProbeErr = nil, nil, nil
	switch {
	case !v.done:
		c.ProbeErr = errProbing
	case v.err != nil:
		c.ProbeErr = v.err
	default:
		c.Meta, c.Smoke = v.meta, v.smoke
		if v.lib != nil && v.seen != s.pass {
			v.seen = s.pass
			s.offered = append(s.offered, v)
		}
	}
	return true
}

// forget forgets the verdict of id, which no claim holds: at once when it is done
// (closing its library), else when its job publishes.
func (s *stage) forget(id Identity) {
	switch v := s.m[id]; {
	case v == nil:
	case v.done:
		s.discard(v)
		delete(s.m, id)
	default:
		v.orphan = true // publish forgets it
	}
}

// onProbation reports whether the suspect id may be opened now, alone, and if so
// starts its blameWindow; else it asks for a pass when the window of the one before
// ends. Called with s.mu held.
func (s *stage) onProbation(id Identity) bool {
	now := time.Now()
	if now.Before(s.alone) {
		s.lookAgainAt(s.alone)
		return false
	}
	delete(s.probation, id)
	s.alone = now.Add(blameWindow)
	return true
}

// take hands over the library opened for id, if the stage holds one. When it holds
// none (it was adopted before and closed since), it queues a job that opens a new
// copy, and the claim waits for it.
func (s *stage) take(id Identity, path string) (*native.Library, private, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[id]
	if v == nil && !s.probation[id] {
		// Forgotten since the claim was looked up (a job that judged nothing, say):
		// the claim waits for a new one.
		v = &verdict{id: id, path: path}
		s.m[id] = v
		s.queue = append(s.queue, v)
		s.start()
	}
	if v == nil || !v.done {
		return nil, private{}, false
	}
	if v.lib == nil {
		if v.err == nil && !v.reopening {
			// From the path the pass found it at: the folder it was judged in may
			// have been renamed since.
			v.reopening, v.path = true, path
			s.queue = append(s.queue, v)
			s.start()
		}
		return nil, private{}, false
	}
	lib, cp := v.lib, v.copy
	v.lib, v.copy = nil, private{}
	return lib, cp, true
}

// sweep closes the libraries that the last pass saw and did not adopt (shadowed,
// say): a later pass that needs one opens it again.
func (s *stage) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.offered {
		if v.lib != nil && v.seen == s.pass {
			s.discard(v)
		}
	}
	s.offered = s.offered[:0]
}

// discard closes v's library, if any, off the caller's goroutine.
func (s *stage) discard(v *verdict) {
	if v.lib == nil {
		return
	}
	lib, cp := v.lib, v.copy
	v.lib, v.copy = nil, private{}
	s.wg.Add(1)
	closer.add(func() {
		defer s.wg.Done()
		closeLibrary(lib)
		cp.remove()
	})
}

// Cause returns why the last job that judged nothing could not probe (the helper
// could not start), or nil.
func (s *stage) Cause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}

// publish stores the batch's verdicts and asks for a pass.
func (s *stage) publish(jobs []*job) {
	if len(jobs) == 0 {
		return // nothing new: no pass to ask for
	}
	s.mu.Lock()
	retry := false
	for _, j := range jobs {
		v := j.v
		s.changed[v.id] = true
		if s.closed || s.m[v.id] != v || v.orphan {
			if v.orphan && s.m[v.id] == v {
				delete(s.m, v.id) // no claim holds it any more
			}
			// Forgotten meanwhile (or closing): nobody will adopt it.
			if j.lib != nil {
				closeLibrary(j.lib)
				j.copy.remove()
			}
			continue
		}
		if j.skip {
			delete(s.m, v.id) // never remembered: looked at again
			retry = true
			continue
		}
		if native.IsVerdict(j.res.Err) || isSmokeFailure(j.res.Err) || j.res.Err == nil {
			s.cause = nil
		}
		v.done, v.err, v.transient, v.smoke, v.reopening = true, j.res.Err, j.transient, j.smoke, false
		if j.res.Err == nil && v.meta == nil {
			meta := j.res.Meta
			v.meta = &meta
		}
		if j.lib != nil {
			v.lib, v.copy, v.seen = j.lib, j.copy, 0
		}
	}
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	s.lookAgain()
	if retry {
		s.mu.Lock()
		s.lookAgainAt(time.Now().Add(s.retry))
		s.mu.Unlock()
	}
}

// woken asks for the pass a timer was set for: one that looks every waiting claim up.
func (s *stage) woken() {
	s.mu.Lock()
	s.everything = true
	s.mu.Unlock()
	s.lookAgain()
}

// lookAgainAt asks for a pass at t (or earlier, if one is due earlier), through one
// timer. Called with s.mu held.
func (s *stage) lookAgainAt(t time.Time) {
	if s.closed {
		return
	}
	now := time.Now()
	if s.wake == nil {
		s.wake, s.wakeAt = time.AfterFunc(t.Sub(now), s.woken), t
		return
	}
	if s.wakeAt.Before(now) || t.Before(s.wakeAt) {
		s.wake.Reset(t.Sub(now))
		s.wakeAt = t
	}
}

// seed gives the stage verdicts known before any probe (the libraries an earlier
// death is blamed on), and the suspects of one: each is opened alone, blameWindow
// after the one before.
func (s *stage) seed(vs []*verdict, suspects []Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		s.m[v.id] = v
	}
	for _, id := range suspects {
		s.probation[id] = true
	}
}

// close stops the workers and closes every library no pass adopted.
func (s *stage) close() {
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	if s.wake != nil {
		s.wake.Stop()
	}
	for _, v := range s.m {
		s.discard(v)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	for s.opens != nil && len(s.opens) > 0 { // handed over, never opened
		for _, j := range <-s.opens {
			j.copy.remove()
		}
	}
}
