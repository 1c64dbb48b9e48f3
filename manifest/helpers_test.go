package manifest

import (
	"errors"
	"strings"
	"testing"
)

// checkErr asserts that err is an *Error wrapping sentinel about field of the file
// at path, and that its message is one line naming the file and the field.
func checkErr(t *testing.T, err error, path string, sentinel error, field string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v (field %q)", sentinel, field)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q wraps %v, want %v", err, e.Err, sentinel)
	}
	if e.Field != field {
		t.Errorf("error %q is about field %q, want %q", err, e.Field, field)
	}
	if e.Path != path {
		t.Errorf("error %q has path %q, want %q", err, e.Path, path)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("message is not one line: %q", msg)
	}
	if path != "" && !strings.HasPrefix(msg, path+": ") {
		t.Errorf("message %q does not start with the path %q", msg, path)
	}
	if field != "" && !strings.Contains(msg, `field "`+field+`"`) {
		t.Errorf("message %q does not name field %q", msg, field)
	}
	return e
}

// doc is an ordered list of "key: value" entries for building test documents.
type doc [][2]string

// with returns a copy of d where each change "key=value" sets a key (appending it
// when absent) and "-key" removes it.
func (d doc) with(changes ...string) doc {
	out := append(doc(nil), d...)
	for _, c := range changes {
		if key, ok := strings.CutPrefix(c, "-"); ok {
			for i := range out {
				if out[i][0] == key {
					out = append(out[:i], out[i+1:]...)
					break
				}
			}
			continue
		}
		key, value, _ := strings.Cut(c, "=")
		found := false
		for i := range out {
			if out[i][0] == key {
				out[i][1], found = value, true
			}
		}
		if !found {
			out = append(out, [2]string{key, value})
		}
	}
	return out
}

// json renders d as a JSON object; values are raw JSON.
func (d doc) json() []byte {
	var b strings.Builder
	b.WriteString("{\n")
	for i, kv := range d {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`  "` + kv[0] + `": ` + kv[1])
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}

// yaml renders d as a YAML mapping; values are raw YAML.
func (d doc) yaml() []byte {
	var b strings.Builder
	for _, kv := range d {
		b.WriteString(kv[0] + ": " + kv[1] + "\n")
	}
	return []byte(b.String())
}
