package reconcile

import (
	"context"
	"runtime"
	"sync"

	"github.com/plugwatch/plugwatch/native"
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
