package probe

import (
	"context"
	"errors"
	"path/filepath"
	"sync"

	"github.com/plugwatch/plugwatch/native"
)

// batch is one call of ProbeBatch: the libraries not yet handed to a helper, and the
// results so far.
type batch struct {
	ctx     context.Context
	paths   []string // as the caller gave them
	abs     []string // what the helpers open
	results []Result

	mu       sync.Mutex
	finished []bool
	todo     []int         // indexes not yet handed to a helper, in order
	drained  chan struct{} // closed once todo is empty
}

func newBatch(ctx context.Context, paths []string) *batch {
	b := &batch{
		ctx:      ctx,
		paths:    paths,
		abs:      make([]string, len(paths)),
		results:  make([]Result, len(paths)),
		finished: make([]bool, len(paths)),
		drained:  make(chan struct{}),
	}
	for i, path := range paths {
		abs, err := filepath.Abs(path)
		if err != nil {
			b.set(i, Result{Err: &native.Error{Op: "probe", Path: path, Err: err}})
			continue
		}
		b.abs[i] = abs
		b.todo = append(b.todo, i)
	}
	if len(b.todo) == 0 {
		close(b.drained)
	}
	return b
}

// take hands out the next library; ok is false when none is left.
func (b *batch) take() (i int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.todo) == 0 {
		return 0, false
	}
	i, b.todo = b.todo[0], b.todo[1:]
	if len(b.todo) == 0 {
		close(b.drained)
	}
	return i, true
}

// left returns how many libraries were not handed out yet.
func (b *batch) left() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.todo)
}

func (b *batch) pending() bool { return b.left() > 0 }

// set records the result of library i.
func (b *batch) set(i int, r Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results[i], b.finished[i] = r, true
}

// setRest gives every library not handed out yet the result r(path).
func (b *batch) setRest(r func(path string) Result) {
	for {
		i, ok := b.take()
		if !ok {
			return
		}
		b.set(i, r(b.paths[i]))
	}
}

// finish returns the results, once every helper is done: a library that was not
// probed gets ctx.Err(), or abandoned(path) when ctx did not end.
func (b *batch) finish(abandoned func(path string) error) []Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, done := range b.finished {
		if !done {
			err := b.ctx.Err()
			if err == nil {
				err = abandoned(b.paths[i])
			}
			b.results[i] = Result{Err: err}
		}
	}
	return b.results
}

// runner probes libraries of b, one helper at a time, until none is left to hand
// out, ctx ends or p closes. The primary runner takes the spare helper or starts one;
// the others only take spares, so a batch that the primary finishes alone never
// waits for a process to start, while a library that takes long does not hold up
// the rest of its batch.
func (p *Prober) runner(b *batch, primary bool) {
	for b.pending() {
		select {
		case p.slots <- struct{}{}:
		case <-b.drained:
			return
		case <-b.ctx.Done():
			return
		case <-p.done:
			return
		}
		select {
		case <-b.ctx.Done(): // select chose the slot when both were ready
		case <-p.done:
		default:
			p.session(b, primary)
		}
		<-p.slots
	}
}

// session probes libraries of b in one helper, up to maxPerHelper of them, and stops
// the helper. A library that kills or hangs it is tried again alone in a fresh
// helper, unless it was the first the helper probed (it was alone already); the
// session ends there. A helper that died with its launcher blames nobody: its
// library is tried again in a fresh helper.
func (p *Prober) session(b *batch, primary bool) {
	var h *helper
	if primary {
		var err error
		if h, err = p.helper(b.ctx); err != nil {
			if err != errClosed && err != errCancelled {
				b.setRest(func(path string) Result { return Result{Err: unavailable(path, err.Error())} })
			}
			return
		}
	} else if h = p.spare(b); h == nil {
		return
	}
	defer func() {
		if h != nil {
			p.stopHelper(h)
		}
	}()
	for n := range maxPerHelper {
		i, ok := b.take()
		if !ok {
			return
		}
		r, failure, aborted := p.probeIn(h, b, i)
		switch {
		case aborted:
			return
		case failure == "":
			b.set(i, r)
			continue
		}
		p.stopHelper(h)
		orphan := h.orphaned()
		h = nil
		if n == 0 && !orphan {
			// The helper was fresh and probed nothing before it: the library was
			// alone already, so trying it again would only take as long once more.
			p.log.Debug("library crashed or hung the probe helper", "path", b.paths[i], "detail", failure)
			b.set(i, Result{Err: crashed(b.paths[i], failure)})
			return
		}
		p.retryAlone(b, i, failure)
		return
	}
}

// retryAlone probes library i of b, which failed with failure, alone in a fresh
// helper, and blames it (native.ErrCrashed) when it fails again.
func (p *Prober) retryAlone(b *batch, i int, failure string) {
	if b.ctx.Err() != nil {
		return // nobody waits for it: do not try again
	}
	path := b.paths[i]
	p.log.Debug("probe helper failed; probing the library again alone in a fresh helper",
		"path", path, "detail", failure)
	h, err := p.helper(b.ctx)
	if err != nil {
		if err != errClosed && err != errCancelled {
			b.set(i, Result{Err: unavailable(path, err.Error())})
		}
		return
	}
	r, failure, aborted := p.probeIn(h, b, i)
	p.stopHelper(h)
	switch {
	case aborted:
	case failure == "":
		b.set(i, r)
	case h.orphaned():
		b.set(i, Result{Err: unavailable(path, failure)}) // no verdict: looked at again
	default:
		p.log.Debug("library crashed or hung the probe helper", "path", path, "detail", failure)
		b.set(i, Result{Err: crashed(path, failure)})
	}
}

// probeIn probes library i of b in h. It returns the result, or a non-empty failure
// when the helper died or hung on it, or aborted when ctx ended or p closed first;
// the helper is dead in both cases.
func (p *Prober) probeIn(h *helper, b *batch, i int) (Result, string, bool) {
	rep, failure, aborted := h.probe(b.abs[i], p.abi, p.timeout, p.done, b.ctx.Done())
	if failure != "" || aborted {
		return Result{}, failure, aborted
	}
	md, err := rep.result(b.paths[i])
	if errors.Is(err, native.ErrUnsupported) {
		// About this system, not the library: no verdict.
		return Result{Err: unavailable(b.paths[i], native.ErrUnsupported.Error())}, "", false
	}
	return Result{Meta: md, Err: err}, "", false
}

// stopHelper stops h and logs it.
func (p *Prober) stopHelper(h *helper) {
	h.stop()
	p.log.Debug("probe helper stopped", "pid", h.pid)
}
