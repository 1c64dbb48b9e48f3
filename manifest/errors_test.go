package manifest

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Path: "/r/.plugins/active/slint.json", Field: "version", Err: ErrMissingField},
			`/r/.plugins/active/slint.json: field "version" is missing; add it, or reinstall the plugin`},
		{&Error{Path: "/r/a.json", Field: "kind", Err: ErrInvalidField, Detail: `it must be "native" or "wasm", not "x"`},
			`/r/a.json: field "kind" is invalid: it must be "native" or "wasm", not "x"; fix the file, or reinstall the plugin`},
		{&Error{Path: "/r/p.yml", Field: "entrypoint", Err: ErrEscapes, Detail: `"../x.so" climbs out of it with ".."`},
			`/r/p.yml: field "entrypoint" leaves the bundle folder: "../x.so" climbs out of it with ".."; name a file inside the bundle folder, as a relative path without ".."`},
		{&Error{Path: "/r/a.json", Err: ErrSyntax, Detail: "not valid JSON: line 1, column 2: unexpected end of file"},
			`/r/a.json: syntax error: not valid JSON: line 1, column 2: unexpected end of file; fix the file, or reinstall the plugin`},
		{&Error{Path: "/r/a.json", Field: "id", Err: ErrSyntax, Detail: "appears twice in one object (line 1 and line 2)"},
			`/r/a.json: field "id" appears twice in one object (line 1 and line 2); fix the file, or reinstall the plugin`},
		{&Error{Path: "/r/a.json", Err: ErrTooLarge, Detail: "2097152 bytes"},
			`/r/a.json: the file is larger than 1 MiB and was not read (2097152 bytes); replace it with the plugin's own file, or reinstall the plugin`},
		{&Error{Path: "/r/a.json", Err: fs.ErrPermission},
			`/r/a.json: the file cannot be read: permission denied`},
		{&Error{Err: ErrInvalidKind, Detail: `kind "a b" contains white space`},
			`kind "a b" contains white space`},
		{&Error{Err: ErrInvalidField, Detail: `"a/b" is not one safe path component: it contains "/"`},
			`"a/b" is not one safe path component: it contains "/"`},
		// Messages stay one line whatever the path and detail hold.
		{&Error{Path: "/r/a\nb.json", Field: "version", Err: ErrMissingField},
			`"/r/a\nb.json": field "version" is missing; add it, or reinstall the plugin`},
		{&Error{Path: "/r/a.json", Err: ErrSyntax, Detail: "line one\nline two\r\x00"},
			`/r/a.json: syntax error: line one line two  ; fix the file, or reinstall the plugin`},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() =\n %s\nwant\n %s", got, tc.want)
		}
	}
}

// Errors are matched with errors.Is and errors.As, also when wrapped further.
func TestErrorMatching(t *testing.T) {
	_, err := ParseRecord(recordPath, goodRecord.with("-kind").json())
	wrapped := errors.Join(errors.New("reading records"), err)
	if !errors.Is(wrapped, ErrMissingField) || errors.Is(wrapped, ErrInvalidField) {
		t.Errorf("errors.Is on %v", wrapped)
	}
	var e *Error
	if !errors.As(wrapped, &e) || e.Field != "kind" || e.Path != recordPath {
		t.Errorf("errors.As on %v gave %+v", wrapped, e)
	}
	if e.Unwrap() != ErrMissingField {
		t.Errorf("Unwrap() = %v", e.Unwrap())
	}
}

// A user's value repeated in a message is shortened and quoted.
func TestErrorQuotesValues(t *testing.T) {
	long := strings.Repeat("é", 1000) + "\n"
	_, err := ParseRecord(recordPath, goodRecord.with(`kind="`+long[:len(long)-1]+`\n"`).json())
	e := checkErr(t, err, recordPath, ErrInvalidField, "kind")
	if n := len(e.Error()); n > 300 {
		t.Errorf("message is %d bytes: %s", n, e.Error())
	}
	_, err = ParseManifest(ymlPath, goodManifest.with("node_kind=\""+strings.Repeat("x\\n", 500)+"\"").yaml())
	e = checkErr(t, err, ymlPath, ErrInvalidField, "node_kind")
	if n := len(e.Error()); n > 300 {
		t.Errorf("message is %d bytes: %s", n, e.Error())
	}
}
