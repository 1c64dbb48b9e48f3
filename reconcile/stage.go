package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
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
	ProbeBatch(ctx context.Context, paths []string) []ProbeResult
}

// ProbeResult is one library's result of a batch probe.
type ProbeResult = native.ProbeResult

// maxBatch is the most libraries a worker takes at once: the queue is spread over
// the workers, so a start with many libraries makes few batches (and few passes),
// and a single drop is a batch of one.
const maxBatch = 1024

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
// queued). It forgets the identities no claim has any more, and returns how many
// claims wait for a job.
func (s *stage) lookup(claims []*claim, dropped iter.Seq[Identity], full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pass++
	if full {
		for id, v := range s.m {
			if v.done && v.transient {
				delete(s.m, id) // a limit may have been raised, or plugins unloaded
			}
		}
	}
	used := make(map[Identity]bool, len(claims))
	for _, c := range claims {
		if c.Wasm || c.Fail != nil {
			continue
		}
		if c.Rewriting {
			c.Meta, c.Smoke, c.ProbeErr = nil, nil, errRewriting
			continue
		}
		used[c.Identity] = true
		v := s.m[c.Identity]
		if v != nil {
			v.orphan = false
		}
		if v == nil && s.probation[c.Identity] && s.open != nil && !s.onProbation(c.Identity) {
			c.ProbeErr = errProbing // another suspect is alone on probation
			continue
		}
		if v == nil {
			v = &verdict{id: c.Identity, path: c.Library}
			s.m[c.Identity] = v
			s.queue = append(s.queue, v)
		}
		c.Meta, c.Smoke, c.ProbeErr = nil, nil, nil
		if !v.done {
			c.ProbeErr = errProbing
			continue
		}
		if v.err != nil {
			c.ProbeErr = v.err
			continue
		}
		c.Meta, c.Smoke = v.meta, v.smoke
		if v.lib != nil && v.seen != s.pass {
			v.seen = s.pass
			s.offered = append(s.offered, v)
		}
	}
	drop := func(id Identity) {
		switch v := s.m[id]; {
		case v == nil || used[id]:
		case v.done:
			s.discard(v)
			delete(s.m, id)
		default:
			v.orphan = true // publish forgets it
		}
	}
	if full {
		for id := range s.m {
			drop(id)
		}
	} else if dropped != nil {
		for id := range dropped {
			drop(id)
		}
	}
	s.start()
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
	s.wg.Go(func() {
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

// start runs workers for the queue, up to s.workers. Called with s.mu held.
func (s *stage) start() {
	if s.open != nil && s.opens == nil && len(s.queue) > 0 && !s.closed {
		s.opens = make(chan []*job, s.workers)
		s.wg.Add(1) // the run's, handed from opener to opener
		go s.opener(&openRun{})
	}
	for s.running < s.workers && len(s.queue) > 0 && !s.closed {
		batch := s.queue[:min(len(s.queue), s.batchSize())]
		s.queue = append([]*verdict(nil), s.queue[len(batch):]...)
		s.running++
		s.wg.Go(func() { s.work(batch) })
	}
}

// batchSize spreads the queue over the workers, at most maxBatch each. The first
// batches after the stage was idle are small and grow twofold, so that the opener
// gets its first libraries soon and the later batches cost few helper starts.
// Called with s.mu held.
func (s *stage) batchSize() int {
	if s.running == 0 {
		s.grown = firstBatch
	}
	n := max(1, min(maxBatch, s.grown, (len(s.queue)+s.workers-1)/s.workers))
	s.grown = min(maxBatch, 2*s.grown)
	return n
}

const firstBatch = 64

// work runs jobs until the queue is empty.
func (s *stage) work(batch []*verdict) {
	for {
		s.run(batch)
		s.mu.Lock()
		if s.closed || len(s.queue) == 0 {
			s.running--
			s.mu.Unlock()
			return
		}
		batch = s.queue[:min(len(s.queue), s.batchSize())]
		s.queue = append([]*verdict(nil), s.queue[len(batch):]...)
		s.mu.Unlock()
	}
}

// job is one verdict being worked on.
type job struct {
	v     *verdict
	copy  private
	res   ProbeResult
	smoke *state.Smoke
	lib   *native.Library
	skip  bool // judged nothing: forget it

	transient bool // a process limit refused it: judged again by the next full pass
}

// run copies, probes and (under run) opens one batch, then publishes the verdicts.
func (s *stage) run(batch []*verdict) {
	jobs := make([]*job, 0, len(batch))
	var paths []string
	var copied []*job
	for _, v := range batch {
		j := &job{v: v}
		jobs = append(jobs, j)
		if s.open != nil {
			if err := loaderHeld(v.path); err != nil {
				j.res.Err, j.transient = err, true // neither copied nor probed: it could not be opened
				continue
			}
		}
		cp, err := s.copies.copy(v.path, v.id)
		switch {
		case errors.Is(err, errChanged):
			// A newer version is on its way; the pass that sees it queues it.
			s.log.Debug("library changed while it was copied; looking again", "path", v.path)
			j.skip = true
		case native.IsVerdict(err):
			j.res.Err = err // the library cannot be read: until its permissions change
		case errors.Is(err, errNotRegular):
			// Replaced by a FIFO or a device since the pass looked: the next pass
			// reports it (missing_library); nothing to retry or log here.
			j.skip = true
		case err != nil:
			// No space, no descriptors: nothing to do with the library. Not
			// remembered; tried again.
			s.warnOnce(v.path, err)
			j.skip = true
		default:
			j.copy = cp
			paths = append(paths, cp.path)
			copied = append(copied, j)
			s.mu.Lock()
			delete(s.warned, v.path)
			s.mu.Unlock()
		}
	}
	for i, r := range s.probe(paths) {
		j := copied[i]
		j.res = ProbeResult{Meta: r.Meta, Err: retarget(r.Err, j.copy.path, j.v.path)}
		if r.Err != nil && !native.IsVerdict(r.Err) {
			j.skip = true // the helper could not judge it
			if _, err := os.Stat(j.copy.path); errors.Is(err, fs.ErrNotExist) {
				continue // the copy went with its folder (moved or removed): no fault of the helper's
			}
			s.mu.Lock()
			s.cause = r.Err
			s.mu.Unlock()
		}
	}
	var open []*job
	for _, j := range copied {
		if !j.skip && j.res.Err == nil && s.smoker != nil {
			s.smokeTest(j)
		}
		if j.skip || j.res.Err != nil || s.open == nil {
			j.copy.remove()
			j.copy = private{}
			continue
		}
		open = append(open, j)
	}
	s.publish(slices.DeleteFunc(jobs, func(j *job) bool { return j.copy.path != "" })) // all but those to open
	if len(open) == 0 {
		return
	}
	// The opener opens them while this worker goes on with the next batch.
	select {
	case s.opens <- open:
	case <-s.ctx.Done():
		for _, j := range open {
			j.copy.remove()
		}
	}
}

// warnOnce logs that a library could not be copied, once until a copy of it works.
func (s *stage) warnOnce(path string, err error) {
	s.mu.Lock()
	first := !s.warned[path]
	s.warned[path] = true
	s.mu.Unlock()
	if first {
		s.log.Warn("cannot make a private copy of a library; trying again every second", "path", path, "err", err)
	}
}

// smokeTest tries the job's probed copy (under --smoke): a try that is not ok is
// the job's verdict; one that could not run judges nothing.
func (s *stage) smokeTest(j *job) {
	smoke, err := s.smoker(s.ctx, j.copy.path, j.v.path, j.res.Meta)
	var se *SmokeError
	switch {
	case errors.As(err, &se):
		failed := *se
		failed.Path = j.v.path
		failed.Message = strings.ReplaceAll(se.Message, j.copy.path, j.v.path)
		j.res.Err = &failed
	case err != nil:
		s.mu.Lock()
		s.cause = err
		s.mu.Unlock()
		j.skip = true
	default:
		j.smoke = smoke
	}
}

// probe probes paths in one batch when the Prober can, else one by one.
func (s *stage) probe(paths []string) []ProbeResult {
	if len(paths) == 0 {
		return nil
	}
	if bp, ok := s.prober.(batchProber); ok {
		return bp.ProbeBatch(s.ctx, paths)
	}
	out := make([]ProbeResult, len(paths))
	for i, p := range paths {
		out[i].Meta, out[i].Err = s.prober.Probe(s.ctx, p)
	}
	return out
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
