package reconcile

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// Prober reads a library's metadata. It is how reconcile learns what a library
// provides; the default opens the library in-process with native.Probe.
//
// Probe is called concurrently from several goroutines. It returns the metadata, or
// an error that wraps one of native's sentinels (native.ErrIncomplete and so on),
// which decides the problem code. It must not keep the library open.
type Prober interface {
	Probe(ctx context.Context, path string) (native.Metadata, error)
}

// ProberFunc adapts a function to a Prober.
type ProberFunc func(ctx context.Context, path string) (native.Metadata, error)

// Probe calls f.
func (f ProberFunc) Probe(ctx context.Context, path string) (native.Metadata, error) {
	return f(ctx, path)
}

// InProcess returns a Prober that opens libraries in this process with native.Probe,
// accepting API versions in abi.
func InProcess(abi native.Range) Prober {
	return ProberFunc(func(_ context.Context, path string) (native.Metadata, error) {
		return native.Probe(path, abi)
	})
}

// errNotJudged marks a probe that says nothing about the library: the helper was
// unavailable, or the file changed while it was copied. The claim keeps its previous
// state and a pass looks again soon; the result is not remembered.
var errNotJudged = errors.New("not judged yet")

// notJudged reports whether err says nothing about the library itself.
func notJudged(err error) bool {
	return errors.Is(err, probe.ErrUnavailable) || errors.Is(err, errChanged) || errors.Is(err, errNotJudged)
}

type probeResult struct {
	meta native.Metadata
	err  error
}

// probeCache remembers probe results by file identity, so an unchanged library is
// never opened again. It is owned by one Scanner and used by one pass at a time.
type probeCache struct {
	prober Prober
	mu     sync.Mutex
	m      map[Identity]probeResult
	once   map[Identity]probeResult // results for this pass only (not judged)
	cause  error                    // why the first of them was not judged
}

// probeAll probes the libraries of claims that resolved, each distinct identity once,
// in parallel up to the number of CPUs, and forgets the results of identities no claim
// has any more. A claim whose probe was cancelled keeps ProbeErr = ctx.Err().
func (pc *probeCache) probeAll(ctx context.Context, claims []*claim) {
	type job struct {
		id   Identity
		path string
	}
	seen := map[Identity]bool{}
	var jobs []job
	pc.mu.Lock()
	pc.once, pc.cause = map[Identity]probeResult{}, nil
	for _, c := range claims {
		if c.Wasm || c.Fail != nil || seen[c.Identity] {
			continue
		}
		seen[c.Identity] = true
		if _, ok := pc.m[c.Identity]; !ok {
			jobs = append(jobs, job{c.Identity, c.Library})
		}
	}
	for id := range pc.m {
		if !seen[id] {
			delete(pc.m, id)
		}
	}
	pc.mu.Unlock()

	work := make(chan job)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				meta, err := pc.prober.Probe(ctx, j.path)
				if ctx.Err() != nil {
					continue
				}
				if notJudged(err) {
					pc.mu.Lock()
					if pc.cause == nil {
						pc.cause = err
					}
					pc.mu.Unlock()
					err = fmt.Errorf("%w: %w", errNotJudged, err)
					// Given to this pass's claims, never remembered: see below.
					pc.mu.Lock()
					pc.once[j.id] = probeResult{meta, err}
					pc.mu.Unlock()
					continue
				}
				pc.mu.Lock()
				pc.m[j.id] = probeResult{meta, err}
				pc.mu.Unlock()
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case work <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()

	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, c := range claims {
		if c.Wasm || c.Fail != nil {
			continue
		}
		r, ok := pc.m[c.Identity]
		if o, once := pc.once[c.Identity]; once {
			r, ok = o, true
		}
		c.Meta, c.ProbeErr = nil, nil
		switch {
		case !ok:
			c.ProbeErr = ctx.Err()
		case r.err != nil:
			c.ProbeErr = r.err
		default:
			meta := r.meta
			c.Meta = &meta
		}
	}
}
