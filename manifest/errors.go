package manifest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The sentinel errors. An [*Error] wraps exactly one of them, or an operating system
// error when a file could not be opened or read.
var (
	// ErrTooLarge: the file is over MaxSize bytes. It was not read.
	ErrTooLarge = errors.New("manifest: file too large")
	// ErrSyntax: the text is not valid JSON or YAML, is not valid UTF-8, holds a NUL
	// byte, is empty, is not one object (mapping), nests or expands past the limits,
	// or repeats a known field (then Error.Field names it).
	ErrSyntax = errors.New("manifest: syntax error")
	// ErrMissingField: a required field is absent or null.
	ErrMissingField = errors.New("manifest: missing field")
	// ErrInvalidField: a field has the wrong type, or a value its rule refuses
	// (including the empty string for a required field).
	ErrInvalidField = errors.New("manifest: invalid field")
	// ErrEscapes: a manifest's entrypoint is absolute or climbs out of the bundle
	// folder; plugwatch reports it as outside_root.
	ErrEscapes = errors.New("manifest: entrypoint leaves the bundle folder")
	// ErrInvalidKind: NormalizeKind refused a kind. (A record's or manifest's
	// node_kind that NormalizeKind refuses is ErrInvalidField, Field "node_kind".)
	ErrInvalidKind = errors.New("manifest: invalid kind")
)

// Error is every failure of this package.
//
// Error() is one line that starts with Path and ": " (when Path is not empty), then
// names the field, says what is wrong and what to do, e.g.
//
//	/r/.plugins/active/slint.json: field "version" is missing; add it, or reinstall the plugin
type Error struct {
	// Path is the file, as given to the Read or Parse function; "" for
	// NormalizeKind and SafeComponent.
	Path string
	// Field is the field at fault, nested ones with dots and indexes
	// ("bundle.url", "assets[0].label"); "" when the error is not about one field.
	Field string
	// Err is one of the package's sentinels, or the operating system's error
	// (e.g. one that matches fs.ErrNotExist or fs.ErrPermission) when the file
	// could not be opened or read, or fs.ErrInvalid when it is not a regular file.
	Err error
	// Detail says what is wrong, e.g. a decoder's message with its line and column.
	Detail string
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Error formats e as one line; see [Error].
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Text()
	}
	return oneLinePath(e.Path) + ": " + e.Text()
}

// Text is Error without the path it starts with, for a message that names the path
// apart (a problem's).
func (e *Error) Text() string {
	text, hint := e.what()
	if e.Path != "" && hint != "" {
		text += "; " + hint
	}
	return text
}

// what is the error's text, and what to do about it ("" when nothing helps).
func (e *Error) what() (text, hint string) {
	subject := "the file"
	if e.Field != "" {
		subject = "field " + strconv.Quote(e.Field)
	}
	detail := oneLine(e.Detail)
	withDetail := func(s string) string {
		if detail == "" {
			return s
		}
		return s + ": " + detail
	}
	const fix = "fix the file, or reinstall the plugin"
	switch {
	case errors.Is(e.Err, ErrTooLarge):
		text = subject + " is larger than 1 MiB and was not read"
		if detail != "" {
			text += " (" + detail + ")"
		}
		return text, "replace it with the plugin's own file, or reinstall the plugin"
	case errors.Is(e.Err, ErrSyntax):
		switch {
		case e.Field != "" && detail != "":
			return subject + " " + detail, fix
		case e.Field != "":
			return subject + " is not valid", fix
		}
		return withDetail("syntax error"), fix
	case errors.Is(e.Err, ErrMissingField):
		return withDetail(subject + " is missing"), "add it, or reinstall the plugin"
	case errors.Is(e.Err, ErrInvalidField):
		if e.Field == "" && e.Path == "" && detail != "" {
			return detail, fix // SafeComponent: the detail names the value
		}
		return withDetail(subject + " is invalid"), fix
	case errors.Is(e.Err, ErrEscapes):
		return withDetail(subject + " leaves the bundle folder"), `name a file inside the bundle folder, as a relative path without ".."`
	case errors.Is(e.Err, ErrInvalidKind):
		if e.Field == "" && detail != "" {
			return detail, fix // NormalizeKind: the detail names the kind
		}
		return withDetail(subject + " is not a valid kind"), fix
	}
	cause := detail
	if cause == "" && e.Err != nil {
		cause = oneLine(e.Err.Error())
	}
	return subject + " cannot be read: " + cause, ""
}

// maxDetail bounds the length of Detail in messages.
const maxDetail = 400

// oneLine replaces control characters (line breaks included) with spaces and
// shortens s to about maxDetail bytes, so that a message stays one line.
func oneLine(s string) string {
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// oneLinePath returns path unchanged unless it holds a control character, in which
// case it is quoted.
func oneLinePath(path string) string {
	for _, r := range path {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return strconv.Quote(path)
		}
	}
	return path
}

// maxQuoted bounds how much of a user's value a message repeats.
const maxQuoted = 64

// quote returns s as a Go string literal, shortened to about maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// errorf builds an *Error.
func errorf(path, field string, sentinel error, format string, args ...any) *Error {
	return &Error{Path: path, Field: field, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}
