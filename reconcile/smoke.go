package reconcile

import (
	"context"
	"errors"
	"strconv"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// Smoker tries a library that passed its probe, on test input, in a helper process
// (plugwatch try with its defaults), before it is opened. path is the private copy
// that was probed, lib the user's file it is a copy of (for messages and logs); meta
// what it reported. It returns the result when the try ran
// ("ok", or the failure's call, packet and message in a *SmokeError), and an error
// that wraps no native sentinel and is no *SmokeError when it could not run (no
// helper): the library is then not judged yet.
type Smoker func(ctx context.Context, path, lib string, meta native.Metadata) (*state.Smoke, error)

// SmokeError is a smoke test that was not ok: the library is not opened
// (smoke_failed), and a changed library that fails keeps its older version stale.
type SmokeError struct {
	Path      string // the library
	Result    string // failed, crashed or hung
	Call      string // the call that failed
	Packet    int    // its packet or tick index, when HasPacket
	HasPacket bool   // the call is process_packet or tick
	Message   string // the plugin's message, or what went wrong
}

// Error names the library, the result, the call (and packet) and the plugin's message.
func (e *SmokeError) Error() string { return e.Path + ": " + e.text() }

// text is Error without the path.
func (e *SmokeError) text() string {
	s := "smoke test " + e.Result + " in " + e.Call
	if e.HasPacket {
		s += " at packet " + strconv.Itoa(e.Packet)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// isSmokeFailure reports whether err is a smoke test that was not ok.
func isSmokeFailure(err error) bool {
	var se *SmokeError
	return errors.As(err, &se)
}
