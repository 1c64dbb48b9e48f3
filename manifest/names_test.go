package manifest

import (
	"strings"
	"testing"
)

func TestNormalizeKind(t *testing.T) {
	good := []struct{ in, want string }{
		{"gain", "gain"},
		{"plugin::native::gain", "gain"},
		{"plugin::native::gain-2_x.y", "gain-2_x.y"},
		{"core", "core"},       // only "core:" is reserved
		{"xcore:y", "xcore:y"}, // a single colon is fine
		{"a:b", "a:b"},         // ditto
		{"plugin:native", "plugin:native"},
		{"plugin::native::core", "core"},
		{"émoji-🎛", "émoji-🎛"},
		{strings.Repeat("k", 255), strings.Repeat("k", 255)},
		{"plugin::native::" + strings.Repeat("k", 255), strings.Repeat("k", 255)},
	}
	for _, tc := range good {
		got, err := NormalizeKind(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeKind(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"",
		"plugin::native::",
		"plugin::native::plugin::native::x", // only one prefix is removed
		"plugin::wasm::x",
		"a::b",
		"::",
		"core:x",
		"plugin::native::core:x",
		"core:",
		"a b",
		" a",
		"a ",
		"a\tb",
		"a\nb",
		"a\u00a0b", // no-break space
		"a\u3000b", // ideographic space
		"a\x00b",
		"a\x01b",
		"a\x7fb",
		"a\u0085b", // a C1 control, also white space
		"a\u009bb", // a C1 control
		"a\xffb",   // invalid UTF-8
		"\xc3",     // truncated UTF-8
		strings.Repeat("k", 256),
		"plugin::native::" + strings.Repeat("k", 256),
		strings.Repeat("é", 128), // 256 bytes
	}
	for _, in := range bad {
		got, err := NormalizeKind(in)
		if got != "" {
			t.Errorf("NormalizeKind(%q) returned %q with an error", in, got)
		}
		e := checkErr(t, err, "", ErrInvalidKind, "")
		if !strings.HasPrefix(e.Error(), "kind ") {
			t.Errorf("NormalizeKind(%q): message %q does not start by naming the kind", in, e.Error())
		}
	}
}

func TestNormalizeKindMessage(t *testing.T) {
	_, err := NormalizeKind("core:x")
	if got, want := err.Error(), `kind "core:x" starts with "core:", which is reserved for StreamKit's own nodes`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestSafeComponent(t *testing.T) {
	good := []string{
		"slint", "0.5.0", "v1", "a b", "a.b", "..a", "a..", "...", "x-y_z", "é",
		"-", "~", "a:b", "#",
		strings.Repeat("x", 255),
	}
	for _, s := range good {
		if err := SafeComponent(s); err != nil {
			t.Errorf("SafeComponent(%q) = %v, want nil", s, err)
		}
	}
	bad := []string{
		"",
		" x", "x ", "\tx", "x\n", "\u00a0x", "x\u3000",
		"a/b", "/", "/a", "a/",
		`a\b`, `\`,
		".", "..",
		"\x00", "a\x00b",
		strings.Repeat("x", 256),
		strings.Repeat("é", 128),
	}
	for _, s := range bad {
		e := checkErr(t, SafeComponent(s), "", ErrInvalidField, "")
		if !strings.Contains(e.Error(), "not one safe path component") {
			t.Errorf("SafeComponent(%q): message %q does not say what is wrong", s, e.Error())
		}
	}
}
