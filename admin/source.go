package admin

import "github.com/plugwatch/plugwatch/state"

// Source is what the admin API reads; the reconcile controller implements it.
// Its methods are called from many goroutines at once.
type Source interface {
	// State returns the current state document, or nil before the first reconcile
	// finished. The document is a snapshot: the admin API only reads it, and the
	// Source must not change it after returning it.
	State() *state.State

	// Subscribe returns a channel of every event from now on and a cancel func.
	// The sender never blocks: a subscriber that falls behind by more than its
	// buffer receives one state.Overflow event in place of its backlog, then the
	// events that follow. cancel is idempotent and may be called after the channel
	// was closed.
	Subscribe() (<-chan state.Event, func())
}
