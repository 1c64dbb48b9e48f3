package reconcile

import (
	"fmt"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// opener opens the probed copies the workers hand it in this process, one after
// the other (the dynamic loader takes one lock for every open anyway), while the
// workers copy and probe the next batches; it publishes what it opened in groups,
// at most openGroup a time and never later than openGroupAfter after the first of
// them, so that a long batch of opens is adopted as it goes without asking for a
// pass for each library.
func (s *stage) opener() {
	var done []*job
	var since time.Time
	flush := func() {
		if len(done) > 0 {
			s.publish(done)
			done = nil
		}
	}
	for {
		var batch []*job
		select {
		case batch = <-s.opens:
		case <-s.ctx.Done():
			flush()
			return
		}
		for i, j := range batch {
			if s.ctx.Err() != nil {
				for _, k := range batch[i:] {
					k.copy.remove()
				}
				flush()
				return
			}
			if len(done) > 0 && time.Since(since) >= openGroupAfter {
				flush() // before an open that may take long
			}
			s.openJob(j)
			if len(done) == 0 {
				since = time.Now()
			}
			done = append(done, j)
			if len(done) >= openGroup || time.Since(since) >= openGroupAfter {
				flush()
			}
		}
		if len(s.opens) == 0 {
			flush()
		}
	}
}

const (
	openGroup      = 256
	openGroupAfter = 50 * time.Millisecond
)

// openJob opens the job's probed copy in this process, within the process limits.
func (s *stage) openJob(j *job) {
	cp := j.copy
	j.copy = private{} // from here on, held only with an open library
	if err := s.limits.reserve(j.v.path); err != nil {
		cp.remove()
		j.res.Err, j.transient = err, true
		return
	}
	lib, err := s.openTimed(cp, j.v.path, j.v.id) // removes the copy when it fails
	switch {
	case err == nil:
		j.lib, j.copy = lib, cp
	case native.IsVerdict(err):
		j.res.Err = err
	default:
		j.skip = true // stopped: judged nothing
	}
}

// openTimed opens the private copy in this process, with the probe's time limit: an
// open that does not return in time is a crash ("hung when opened in plugwatch"),
// and the loop goes on without it.
func (s *stage) openTimed(cp private, path string, id Identity) (*native.Library, error) {
	s.copies.j.opening(path, id) // blamed if plugwatch dies soon after
	type opened struct {
		lib *native.Library
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		lib, err := s.open(cp.path)
		ch <- opened{lib, err}
	}()
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	abandon := func() {
		go func() { // if it ever returns
			if o := <-ch; o.lib != nil {
				o.lib.Close()
			}
			cp.remove()
		}()
	}
	hung := &native.Error{Op: "open", Path: path, Err: native.ErrCrashed,
		Detail: fmt.Sprintf("hung for more than %v when opened in plugwatch", s.timeout)}
	select {
	case o := <-ch:
		if o.err != nil {
			cp.remove()
			return nil, retarget(o.err, cp.path, path)
		}
		return o.lib, nil
	case <-t.C:
		abandon()
		return nil, hung
	case <-s.ctx.Done():
		// Closing: wait a little for the open, then undo it; a stop never waits
		// for a hung open.
		select {
		case o := <-ch:
			if o.lib != nil {
				o.lib.Close()
			}
			cp.remove()
		case <-time.After(min(time.Second, s.timeout)):
			abandon()
		}
		return nil, s.ctx.Err()
	}
}
