package install

import (
	"errors"
	"strings"
)

// The sentinel errors. The admin API answers them with the status named here.
var (
	// ErrBadName: the file name or plugin id breaks a naming rule (HTTP 400).
	ErrBadName = errors.New("invalid name")
	// ErrOccupied: the target folder already holds a library or manifest, or the
	// target file exists (HTTP 409).
	ErrOccupied = errors.New("target already exists")
	// ErrTooLarge: the upload is larger than the limit (HTTP 413).
	ErrTooLarge = errors.New("upload too large")
	// ErrInvalid: the file is not a valid plugin, or the manifest given with it is
	// not valid or does not match it (HTTP 422).
	ErrInvalid = errors.New("not a valid plugin")
	// ErrKindProvided: another plugin already provides the library's kind (HTTP 409).
	ErrKindProvided = errors.New("kind already provided")
	// ErrNothingToRemove: Remove found neither a bundle folder nor a record of the id
	// (HTTP 404, exit status 1).
	ErrNothingToRemove = errors.New("nothing to remove")
)

// Error is every failure of this package.
type Error struct {
	Op   string // "install", "remove" or "migrate"
	Path string // the file name or plugin id the operation is about; "" for migrate
	// Err is one of the package's sentinels, or the operating system's error when
	// a file could not be read, written or moved.
	Err error
	// Detail says what exactly is wrong and what to do; for people, never for
	// control flow. Empty means Err says it all.
	Detail string

	cause error // what the failure came from, e.g. the prober's error; may be nil
}

// Error returns one line: "OP PATH: DETAIL" ("OP: DETAIL" without a Path), with
// Err's text when there is no Detail. Line breaks in the detail (a prober's
// message may have some) become "; ".
func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	op := e.Op
	if e.Path != "" {
		op += " " + e.Path
	}
	return op + ": " + oneLine.Replace(msg)
}

var oneLine = strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ")

// Unwrap returns Err and, when there is one, the error the failure came from (a
// probe failure of ErrInvalid wraps the prober's error), for errors.Is and As.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}
