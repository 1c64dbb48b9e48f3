package reconcile

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// The stage's workers: each takes a batch of the queue, copies its libraries, probes
// the copies in one call of the Prober (helper processes of up to 256 libraries
// each), smoke-tests them under --smoke, and hands those that passed to the opener
// (opener.go), publishing the rest.

// maxBatch is the most libraries a worker takes at once: the queue is spread over
// the workers, so a start with many libraries makes few batches (and few passes),
// and a single drop is a batch of one.
const maxBatch = 1024

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
	res   probeResult
	smoke *state.Smoke
	lib   *native.Library
	skip  bool // judged nothing: forget it

	transient bool // a process limit refused it: judged again by the next full pass
}

// run copies and probes one batch, publishes the verdicts of the libraries that are
// not to be opened, and (under run) hands the others to the opener.
func (s *stage) run(batch []*verdict) {
	jobs, copied := s.copyAll(batch)
	s.probeAll(copied)
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

// copyAll makes a job of each verdict of the batch and a private copy of its
// library; it returns every job and those whose copy was made.
func (s *stage) copyAll(batch []*verdict) (jobs, copied []*job) {
	jobs = make([]*job, 0, len(batch))
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
			copied = append(copied, j)
			s.mu.Lock()
			delete(s.warned, v.path)
			s.mu.Unlock()
		}
	}
	return jobs, copied
}

// probeAll probes the jobs' copies in one batch and records each result against
// the library's own path. A job the helper could not judge is skipped, and the
// helper's failure kept as the stage's cause unless the copy went with its folder.
func (s *stage) probeAll(copied []*job) {
	paths := make([]string, len(copied))
	for i, j := range copied {
		paths[i] = j.copy.path
	}
	for i, r := range s.probe(paths) {
		j := copied[i]
		j.res = probeResult{Meta: r.Meta, Err: retarget(r.Err, j.copy.path, j.v.path)}
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
}

// warnOnce logs that a library could not be copied, once until a copy of it works.
func (s *stage) warnOnce(path string, err error) {
	s.mu.Lock()
	first := !s.warned[path]
	s.warned[path] = true
	s.mu.Unlock()
	if first {
		s.log.Warn("cannot make a private copy of a library; trying again every second", "path", path, "err", err)
	} else {
		s.log.Debug("a private copy still cannot be made; trying again", "path", path, "err", err)
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
func (s *stage) probe(paths []string) []probeResult {
	if len(paths) == 0 {
		return nil
	}
	if bp, ok := s.prober.(batchProber); ok {
		return bp.ProbeBatch(s.ctx, paths)
	}
	out := make([]probeResult, len(paths))
	for i, p := range paths {
		out[i].Meta, out[i].Err = s.prober.Probe(s.ctx, p)
	}
	return out
}
