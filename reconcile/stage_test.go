package reconcile

import "github.com/plugwatch/plugwatch/probe"

// The probe helpers' pool probes a batch in one helper that has exited when it
// returns: the stage uses it so.
var _ batchProber = (*probe.Prober)(nil)
