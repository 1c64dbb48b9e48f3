package manifest

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plugwatch/plugwatch/layout"
)

// maxName is the longest kind or path component, in bytes.
const maxName = 255

// NormalizeKind applies docs/formats.md to a kind a library reports, or to a record's
// or manifest's node_kind: it strips one leading "plugin::native::" and returns the
// remainder, which must be 1–255 bytes of valid UTF-8 with no "::", no white space
// (unicode.IsSpace), no control characters (unicode.IsControl), and must not start
// with "core:". Otherwise it returns "" and an *Error wrapping ErrInvalidKind, whose
// Error() names the kind and the rule it breaks.
//
// The registered kind is "plugin::native::" followed by the result.
func NormalizeKind(s string) (string, error) {
	k := strings.TrimPrefix(s, layout.KindPrefix)
	if why := kindProblem(k); why != "" {
		return "", &Error{Err: ErrInvalidKind, Detail: "kind " + quote(s) + " " + why}
	}
	return k, nil
}

// kindProblem says why k (already stripped of its prefix) is not a valid kind, or
// returns "".
func kindProblem(k string) string {
	switch {
	case k == "":
		return "is empty"
	case len(k) > maxName:
		return "is longer than 255 bytes"
	case !utf8.ValidString(k):
		return "is not valid UTF-8"
	case strings.IndexFunc(k, unicode.IsControl) >= 0:
		return "contains a control character"
	case strings.IndexFunc(k, unicode.IsSpace) >= 0:
		return "contains white space"
	case strings.Contains(k, "::"):
		return `contains "::" (only one leading "plugin::native::" is removed)`
	case strings.HasPrefix(k, "core:"):
		return `starts with "core:", which is reserved for StreamKit's own nodes`
	}
	return ""
}

// SafeComponent checks that s is "one safe path component" (docs/formats.md): not empty,
// no leading or trailing white space (unicode.IsSpace), no "/" or "\", not "." or
// "..", no NUL byte, at most 255 bytes. It returns nil when s is one, else an *Error
// wrapping ErrInvalidField whose Error() names s and the rule it breaks.
func SafeComponent(s string) error {
	if why := componentProblem(s); why != "" {
		return &Error{Err: ErrInvalidField, Detail: quote(s) + " is not one safe path component: " + why}
	}
	return nil
}

// componentProblem says why s is not one safe path component, or returns "".
func componentProblem(s string) string {
	if s == "" {
		return "it is empty"
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	switch {
	case len(s) > maxName:
		return "it is longer than 255 bytes"
	case strings.IndexByte(s, 0) >= 0:
		return "it contains a NUL byte"
	case strings.IndexByte(s, '/') >= 0:
		return `it contains "/"`
	case strings.IndexByte(s, '\\') >= 0:
		return `it contains "\"`
	case s == "." || s == "..":
		return "it names a folder itself"
	case unicode.IsSpace(first) || unicode.IsSpace(last):
		return "it starts or ends with white space"
	}
	return ""
}
