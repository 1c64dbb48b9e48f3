package reconcile

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// opener opens the probed copies the workers hand it in this process, one after
// the other (the dynamic loader takes one lock for every open anyway), while the
// workers copy and probe the next batches; it publishes what it opened in groups,
// at most openGroup a time and never later than openGroupAfter after the first of
// them, so that a long batch of opens is adopted as it goes without asking for a
// pass for each library.
//
// It opens on its own goroutine, with a watchdog for each open: an open that does
// not return in time is given up, and a new opener goes on with the run (see
// openWatched). The run holds one count of s.wg, handed from opener to opener, so
// that closing the stage waits for the run, never for a hung open.
func (s *stage) opener(r *openRun) {
	if s.openAll(r) {
		s.wg.Done()
	}
}

// openAll opens jobs until the stage closes; it reports false when an open was given
// up, and with it the run.
func (s *stage) openAll(r *openRun) bool {
	for {
		if len(r.batch) == 0 {
			if len(s.opens) == 0 {
				r.flush(s)
			}
			select {
			case r.batch = <-s.opens:
			case <-s.ctx.Done():
				r.flush(s)
				return true
			}
		}
		j := r.batch[0]
		r.batch = r.batch[1:]
		if s.ctx.Err() != nil {
			for _, k := range append(r.batch, j) {
				k.copy.remove()
			}
			r.batch = nil
			r.flush(s)
			return true
		}
		if len(r.done) > 0 && time.Since(r.since) >= openGroupAfter {
			r.flush(s) // before an open that may take long
		}
		if !s.openJob(j, r) {
			return false
		}
	}
}

const (
	openGroup      = 256
	openGroupAfter = 50 * time.Millisecond
)

// openRun is the opener's state: the rest of the batch it opens, and the jobs opened
// and not published yet.
type openRun struct {
	batch []*job
	done  []*job
	since time.Time // when the first of done was opened
}

// heldBy is the library whose open in this process hung and was given up, while its
// open has not returned: its constructor runs on and holds the dynamic loader's lock,
// which every open and close in the process waits for. The loader is the process's,
// and so is this.
var heldBy atomic.Pointer[string]

// loaderHeld is the refusal of the library at path while the loader is held
// (heldBy), else nil.
func loaderHeld(path string) error {
	held := heldBy.Load()
	if held == nil {
		return nil
	}
	return &refusal{path: path, reason: fmt.Sprintf(
		"not opened: the dynamic loader is held by %s, which hung when opened in plugwatch; restart plugwatch to load it", *held)}
}

// closeLibrary closes lib, unless the dynamic loader is held (heldBy): dlclose would
// then wait forever, and the library is left mapped until the process ends.
func closeLibrary(lib *native.Library) {
	if heldBy.Load() == nil {
		lib.Close()
	}
}

// closer runs the closes of libraries off the pass, one after the other: dlclose
// waits for the dynamic loader's lock, which an open in progress holds for as long
// as its constructor runs. One goroutine for all (dlclose takes that lock anyway):
// a goroutine per close would hold an OS thread each while it waits, 10,000 of them
// when a root of 10,000 plugins goes.
var closer closeQueue

// closeQueue runs the functions it is given in order, on a goroutine that runs
// while there is something to run and ends when there is nothing.
type closeQueue struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	runner  int // the number of the goroutine that runs the queue
}

func (q *closeQueue) add(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, f)
	if !q.running {
		q.start()
	}
}

// detach lets the queue go on without the goroutine running it now, which may wait
// in a dlclose for the loader an open that hung holds (heldBy is set): the closes
// after it then skip dlclose (closeLibrary) and only remove their copies. Should
// that dlclose return, its goroutine ends: one goroutine runs the queue at a time.
func (q *closeQueue) detach() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.runner++ // the running one, if any, is no longer the runner
	q.running = false
	if len(q.queue) > 0 {
		q.start()
	}
}

// start starts a runner; q.mu is held.
func (q *closeQueue) start() {
	q.running = true
	q.runner++
	go q.run(q.runner)
}

func (q *closeQueue) run(n int) {
	for {
		q.mu.Lock()
		if q.runner != n { // detached
			q.mu.Unlock()
			return
		}
		if len(q.queue) == 0 {
			q.queue, q.running = nil, false
			q.mu.Unlock()
			return
		}
		f := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		f()
	}
}

// add records j as opened, and publishes the group when it is full or old enough.
func (r *openRun) add(s *stage, j *job) {
	if len(r.done) == 0 {
		r.since = time.Now()
	}
	r.done = append(r.done, j)
	if len(r.done) >= openGroup || time.Since(r.since) >= openGroupAfter {
		r.flush(s)
	}
}

func (r *openRun) flush(s *stage) {
	if len(r.done) > 0 {
		s.publish(r.done)
		r.done = nil
	}
}

// openJob opens the job's probed copy in this process, within the process limits,
// and adds the job to the run. It reports false when the open hung and was given up:
// the run is then another opener's. While an open that hung holds the loader
// (heldBy), none is tried: it would wait for the loader's lock.
func (s *stage) openJob(j *job, r *openRun) bool {
	cp := j.copy
	j.copy = private{} // from here on, held only with an open library
	if err := loaderHeld(j.v.path); err != nil {
		cp.remove()
		j.res.Err, j.transient = err, true
		r.add(s, j)
		return true
	}
	if err := s.limits.reserve(j.v.path); err != nil {
		cp.remove()
		j.res.Err, j.transient = err, true
		r.add(s, j)
		return true
	}
	lib, err, ok := s.openWatched(cp, j, r)
	if !ok {
		return false
	}
	switch {
	case err == nil:
		j.lib, j.copy = lib, cp
	case native.IsVerdict(err):
		cp.remove()
		j.res.Err = retarget(err, cp.path, j.v.path)
	default:
		cp.remove()
		j.skip = true // stopped: judged nothing
	}
	r.add(s, j)
	return true
}

// openWatched opens the private copy on this goroutine, with the probe's time limit,
// or at most a second once the stage is closing. When the limit passes first, a
// watchdog gives the open up: the loader is held (heldBy); it judges the job a crash
// ("hung when opened in plugwatch", or nothing when closing) and blames the library
// in the journal (the next plugwatch process does not open it again until it
// changes); it adds the job to the run and starts a new opener with the run and
// this goroutine's count of s.wg; it removes the copy. If the open ever returns,
// this goroutine lets go of the loader, undoes the open and reports ok false.
func (s *stage) openWatched(cp private, j *job, r *openRun) (_ *native.Library, _ error, ok bool) {
	s.copies.j.opening(j.v.path, j.v.id) // blamed if plugwatch dies soon after
	var mu sync.Mutex
	returned, given := false, false
	giveUp := func() {
		mu.Lock()
		defer mu.Unlock()
		if returned || given {
			return
		}
		given = true
		heldBy.Store(&j.v.path)
		closer.detach() // a close waiting for the loader would hold up the others
		cp.remove()     // mapped already: the open does not need the name
		if s.ctx.Err() != nil {
			j.skip = true // closing: not judged
		} else {
			detail := fmt.Sprintf("hung for more than %v when opened in plugwatch", s.timeout)
			j.res.Err = &native.Error{Op: "open", Path: j.v.path, Err: native.ErrCrashed, Detail: detail}
			s.copies.j.blame(j.v.path, j.v.id, detail)
		}
		r.add(s, j)
		go s.opener(r)
	}
	mu.Lock() // what this goroutine wrote to the run so far, giveUp sees
	t := time.AfterFunc(s.timeout, giveUp)
	mu.Unlock()
	stop := context.AfterFunc(s.ctx, func() { t.Reset(min(time.Second, s.timeout)) })
	opened := time.Now()
	lib, err := s.open(cp.path)
	t.Stop()
	stop()
	mu.Lock()
	returned = true
	gaveUp := given
	mu.Unlock()
	if gaveUp {
		heldBy.CompareAndSwap(&j.v.path, nil)
		if lib != nil {
			closeLibrary(lib)
		}
		s.log.Info("a library that hung when opened returned after all; the dynamic loader is free again",
			"path", j.v.path, "took", time.Since(opened).Round(time.Millisecond))
		return nil, nil, false
	}
	return lib, err, true
}
