package state

import (
	"errors"

	"github.com/plugwatch/plugwatch/native"
)

// ProbeProblem is the problem (docs/problems.md) that an error of opening or probing
// the library lib (an error of package native or probe) stands for: crashed,
// incomplete, abi_version, invalid_kind or load_failed, with a message that says
// what to do.
func ProbeProblem(lib string, err error) Problem {
	msg := err.Error()
	var ne *native.Error
	if errors.As(err, &ne) {
		msg = ne.Err.Error()
		if ne.Detail != "" {
			msg += ": " + ne.Detail
		}
	}
	code, level := LoadFailed, Error
	switch {
	case errors.Is(err, native.ErrCrashed):
		code, msg = Crashed, msg+"; it is not opened again until the file changes"
	case errors.Is(err, native.ErrIncomplete):
		code, level, msg = Incomplete, Warn, msg+"; it is looked at again when it changes"
	case errors.Is(err, native.ErrABIVersion):
		code, msg = ABIVersion, msg+"; rebuild it against a supported SDK or widen --abi"
	case errors.Is(err, native.ErrInvalidKind):
		code, msg = InvalidKind, msg+"; fix the kind its get_metadata returns"
	case errors.Is(err, native.ErrNoEntry):
		msg += "; is it a StreamKit native plugin?"
	}
	return Problem{Path: lib, Code: code, Level: level, Message: msg}
}
