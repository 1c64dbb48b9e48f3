package reconcile

import (
	"context"
	"errors"

	"github.com/plugwatch/plugwatch/native"
)

// Prober reads a library's metadata. It is how reconcile learns what a library
// provides; the default opens the library in-process with native.Probe.
//
// Probe is called concurrently from several goroutines, off the reconcile pass. It
// returns the metadata, or an error that wraps one of native's sentinels
// (native.ErrIncomplete and so on; see native.IsVerdict), which decides the problem
// code and is remembered for the file's identity. An error that wraps none says
// nothing about the library (no helper could start): it is not remembered, and the
// library is tried again. It must not keep the library open. A Prober that also has
// a method ProbeBatch(ctx, paths) []native.ProbeResult is given batches; package
// probe's pool has one, whose helpers have exited when it returns, before any of
// the libraries is opened in this process.
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

// errNotJudged marks a claim whose library says nothing yet: it is being probed,
// or it changed while it was copied. The claim keeps its previous state and a pass
// looks again soon; nothing is remembered of it.
var errNotJudged = errors.New("not judged yet")
