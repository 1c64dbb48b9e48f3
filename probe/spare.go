package probe

import (
	"context"
	"time"
)

// spareLoop keeps one spare helper: started, said hello, idle. It hands the spare
// over on p.spares and then starts the next one; it stops a spare left idle for
// p.idleTimeout, and starts no other until asked on p.wanted. It stops its spare
// when p closes.
func (p *Prober) spareLoop() {
	defer p.wg.Done()
	var spare *helper
	defer func() {
		if spare != nil {
			p.stopHelper(spare)
		}
		p.stats.spareReady.Store(false)
	}()
	idle := time.NewTimer(p.idleTimeout)
	defer idle.Stop()
	want := true
	for {
		if spare == nil && want {
			h, err := p.start(nil)
			switch {
			case err == errClosed:
				return
			case err != nil:
				p.log.Warn("cannot start a probe helper", "err", err)
				want = false // until a probe asks again
			default:
				p.log.Debug("spare probe helper started", "pid", h.pid)
				spare = h
				idle.Reset(p.idleTimeout)
				p.stats.spareReady.Store(true)
			}
		}
		var offer chan<- *helper
		var exited <-chan struct{}
		var idled <-chan time.Time
		if spare != nil {
			offer, exited, idled = p.spares, spare.waited, idle.C
		}
		select {
		case offer <- spare:
			spare, want = nil, true
			p.stats.spareReady.Store(false)
		case <-exited:
			p.log.Debug("spare probe helper exited while idle", "pid", spare.pid)
			p.stopHelper(spare)
			spare, want = nil, false
			p.stats.spareReady.Store(false)
		case <-idled:
			p.stats.idleStops.Add(1)
			p.stopHelper(spare)
			spare, want = nil, false
			p.stats.spareReady.Store(false)
		case <-p.wanted:
			want = true
		case <-p.done:
			return
		}
	}
}

// helper returns the spare helper, or starts one when there is none. It fails with
// errClosed when p closes first, errCancelled when ctx ends first.
func (p *Prober) helper(ctx context.Context) (*helper, error) {
	for {
		select {
		case h := <-p.spares:
			if h.exitedEarly() {
				p.stopHelper(h)
				continue
			}
			return h, nil
		default:
		}
		select {
		case p.wanted <- struct{}{}: // the next probe will find one
		default:
		}
		p.stats.coldStarts.Add(1)
		h, err := p.start(ctx.Done())
		if err == nil {
			p.log.Debug("probe helper started", "pid", h.pid)
		}
		return h, err
	}
}

// spare waits for the spare helper; it returns nil when b has no library left to
// hand out first, or ctx ends, or p closes.
func (p *Prober) spare(b *batch) *helper {
	select {
	case p.wanted <- struct{}{}:
	default:
	}
	for {
		select {
		case h := <-p.spares:
			if h.exitedEarly() {
				p.stopHelper(h)
				continue
			}
			return h
		case <-b.drained:
			return nil
		case <-b.ctx.Done():
			return nil
		case <-p.done:
			return nil
		}
	}
}
