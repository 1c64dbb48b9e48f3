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
// the rest of its batch. The libraries a session sent to a helper that then failed
// on an earlier one stay with the runner, which probes them first, in a helper it
// starts when no spare is ready.
func (p *Prober) runner(b *batch, primary bool) {
	var carried []int
	for len(carried) > 0 || b.pending() {
		drained := b.drained
		if len(carried) > 0 {
			drained = nil // they are this runner's to probe
		}
		select {
		case p.slots <- struct{}{}:
		case <-drained:
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
			carried = p.session(b, primary || len(carried) > 0, carried)
		}
		<-p.slots
	}
}

// window is how many requests a session keeps sent to its helper ahead of the
// replies: the helper reads the next while it probes one, so neither side waits
// for the other between two libraries.
const window = 4

// session probes libraries of b in one helper, first those of carried and then
// those b hands out, up to maxPerHelper of them, and stops the helper. It keeps up
// to window requests in flight; a library's time starts when the helper answered the
// one before it. A library that kills or hangs the helper is tried again alone in a
// fresh helper, unless it was the first the helper probed (it was alone already);
// the session ends there. It returns the libraries it took and did not probe (sent
// after that one, or left of carried past maxPerHelper), for the runner's next
// session. A helper that died with its launcher blames nobody: its library is tried
// again in a fresh helper.
func (p *Prober) session(b *batch, primary bool, carried []int) []int {
	h := p.sessionHelper(b, primary, carried)
	if h == nil {
		return nil
	}
	defer func() {
		if h != nil {
			p.stopHelper(h)
		}
	}()
	next := func() (int, bool) {
		if len(carried) > 0 {
			i := carried[0]
			carried = carried[1:]
			return i, true
		}
		return b.take()
	}
	var sent []int // in the order sent, not answered yet
	broken := false
	for n := 0; ; n++ {
		for !broken && len(sent) < window && n+len(sent) < maxPerHelper {
			i, ok := next()
			if !ok {
				break
			}
			// A request that did not go through is awaited all the same: the
			// wait says why the helper stopped reading.
			broken = h.send(b.abs[i], p.abi, p.timeout) != nil
			sent = append(sent, i)
		}
		if len(sent) == 0 {
			return carried
		}
		i := sent[0]
		sent = sent[1:]
		r, failure, aborted := p.awaitIn(h, b, i)
		switch {
		case aborted:
			return nil
		case failure == "":
			b.set(i, r)
			continue
		}
		p.stopHelper(h)
		// A fresh helper that probed nothing before: the library was alone already.
		alone := n == 0 && !h.orphaned()
		h = nil
		p.failed(b, i, failure, alone)
		return append(sent, carried...)
	}
}

// failed settles library i of b, which killed or hung its helper: blamed at once
// when it was alone in it (trying it again would only take as long once more), else
// tried again alone in a fresh helper.
func (p *Prober) failed(b *batch, i int, failure string, alone bool) {
	if !alone {
		p.retryAlone(b, i, failure)
		return
	}
	p.log.Debug("library crashed or hung the probe helper", "path", b.paths[i], "detail", failure)
	b.set(i, Result{Err: crashed(b.paths[i], failure)})
}

// sessionHelper returns the helper of a session: for the primary runner the spare
// or a new one, for the others the spare only, nil when there is none. When no
// helper can be started, the libraries of carried and those b has not handed out
// yet get ErrUnavailable.
func (p *Prober) sessionHelper(b *batch, primary bool, carried []int) *helper {
	if !primary {
		return p.spare(b)
	}
	h, err := p.helper(b.ctx)
	if err != nil {
		if err != errClosed && err != errCancelled {
			for _, i := range carried {
				b.set(i, Result{Err: unavailable(b.paths[i], err.Error())})
			}
			b.setRest(func(path string) Result { return Result{Err: unavailable(path, err.Error())} })
		}
		return nil
	}
	return h
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

// awaitIn waits for the result of library i of b, the oldest request h has not
// answered yet. It returns the result, or a non-empty failure when the helper died
// or hung on it, or aborted when ctx ended or p closed first; the helper is dead in
// both cases.
func (p *Prober) awaitIn(h *helper, b *batch, i int) (Result, string, bool) {
	rep, failure, aborted := h.await(p.timeout, p.done, b.ctx.Done())
	return p.result(b, i, rep, failure, aborted)
}

// probeIn probes library i of b alone in h, as awaitIn.
func (p *Prober) probeIn(h *helper, b *batch, i int) (Result, string, bool) {
	rep, failure, aborted := h.probe(b.abs[i], p.abi, p.timeout, p.done, b.ctx.Done())
	return p.result(b, i, rep, failure, aborted)
}

// result turns the reply about library i of b into its Result.
func (p *Prober) result(b *batch, i int, rep reply, failure string, aborted bool) (Result, string, bool) {
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
