package probe

import (
	"slices"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// worker is a goroutine that owns at most one helper and serves one job at a time.
// It exists while there is work for it, and for idleTimeout after.
type worker struct {
	jobs chan *job // buffered (1): submit hands a job only to an idle worker
	h    *helper   // nil until the first job, and after the helper failed
}

// run serves j, then the jobs that come, until the Prober closes or the worker has
// been idle for idleTimeout. It stops its helper on the way out.
func (p *Prober) run(w *worker, j *job) {
	defer p.wg.Done()
	defer p.stopHelper(w)
	for j != nil {
		p.serve(w, j)
		j = p.next(w)
	}
}

// next returns the next job for w: the oldest queued one, or one handed to w while
// it waits idle. It returns nil when w should exit.
func (p *Prober) next(w *worker) *job {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	if len(p.queue) > 0 {
		j := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
		return j
	}
	p.idle = append(p.idle, w)
	p.mu.Unlock()

	t := time.NewTimer(p.idleTimeout)
	defer t.Stop()
	select {
	case j := <-w.jobs:
		return j
	case <-p.done:
		// Jobs are handed over only before Close, which leaves them to us.
		select {
		case j := <-w.jobs:
			j.res <- outcome{err: closedError(j.path)}
		default:
		}
		return nil
	case <-t.C:
		p.mu.Lock()
		i := slices.Index(p.idle, w)
		if i >= 0 {
			p.idle = slices.Delete(p.idle, i, i+1)
			p.started--
		}
		p.mu.Unlock()
		if i >= 0 {
			return nil
		}
		return <-w.jobs // submit took w off the idle list: a job is on its way
	}
}

// serve answers j. A library that kills or hangs the helper is tried once more in a
// fresh helper, where it is alone, before it is blamed.
func (p *Prober) serve(w *worker, j *job) {
	select {
	case <-p.done:
		j.res <- outcome{err: closedError(j.path)}
		return
	default:
	}
	if err := j.ctx.Err(); err != nil {
		j.res <- outcome{err: err}
		return
	}
	o, failure := p.attempt(w, j)
	if failure == "" {
		j.res <- o
		return
	}
	if err := j.ctx.Err(); err != nil {
		j.res <- outcome{err: err} // nobody waits for it: do not try again
		return
	}
	p.log.Debug("probe helper failed; probing the library again alone in a fresh helper",
		"path", j.path, "detail", failure)
	o, failure = p.attempt(w, j)
	if failure == "" {
		j.res <- o
		return
	}
	p.log.Debug("library crashed or hung the probe helper", "path", j.path, "detail", failure)
	j.res <- outcome{err: &native.Error{Op: "probe", Path: j.path, Err: ErrCrashed, Detail: failure}}
}

// attempt probes j in w's helper, starting one when w has none. It returns the
// outcome, or a non-empty failure when the helper died or hung on the library; the
// helper is then gone.
func (p *Prober) attempt(w *worker, j *job) (o outcome, failure string) {
	if w.h != nil && w.h.exitedEarly() {
		// It died between two libraries: nobody to blame, just replace it.
		p.log.Debug("probe helper exited while idle", "pid", w.h.pid, "detail", w.h.deathDetail())
		p.stopHelper(w)
	}
	if w.h == nil {
		h, err := p.start()
		if err != nil {
			p.log.Warn("cannot start a probe helper", "error", err)
			return outcome{err: &native.Error{Op: "probe", Path: j.path, Err: ErrUnavailable, Detail: err.Error()}}, ""
		}
		p.log.Debug("probe helper started", "pid", h.pid)
		w.h = h
	}
	r, failure := w.h.probe(j.abs, p.abi, p.timeout, p.done)
	if failure != "" {
		p.stopHelper(w)
		select {
		case <-p.done:
			return outcome{err: closedError(j.path)}, ""
		default:
		}
		return outcome{}, failure
	}
	meta, err := r.result(j.path)
	return outcome{meta, err}, ""
}

// stopHelper stops w's helper, if any.
func (p *Prober) stopHelper(w *worker) {
	if w.h != nil {
		w.h.stop()
		p.log.Debug("probe helper stopped", "pid", w.h.pid)
		w.h = nil
	}
}
