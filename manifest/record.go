package manifest

import (
	"reflect"
	"strings"
)

// Record is an active record, active/<plugin_id>.json (docs/formats.md): what StreamKit's
// marketplace installer wrote about one installed plugin.
//
// A Record returned without error has every required field: PluginID and Version
// are each one safe path component (SafeComponent), NodeKind passes NormalizeKind,
// Kind is "native" or "wasm", Entrypoint is not empty and holds no NUL byte, and
// InstalledAtMs is not negative.
type Record struct {
	PluginID string `json:"plugin_id"`
	Version  string `json:"version"`
	// NodeKind is as written in the file; compare NormalizeKind(NodeKind).
	NodeKind string `json:"node_kind"`
	// Kind is "native" or "wasm".
	Kind string `json:"kind"`
	// Entrypoint is the library as written: absolute, or relative to StreamKit's
	// working directory (plugwatch's --workdir). Whether it exists and lies inside
	// the root is checked elsewhere.
	Entrypoint string `json:"entrypoint"`
	// InstalledAtMs is the install time in milliseconds since the Unix epoch.
	InstalledAtMs int64 `json:"installed_at_ms"`
	// Accelerator is e.g. "cpu" or "cuda"; "" on older records.
	Accelerator string `json:"accelerator,omitempty"`
}

// ReadRecord reads and parses the record at path. A file over MaxSize is refused
// with ErrTooLarge without being read; one that is not a regular file (a folder, a
// named pipe) with fs.ErrInvalid. See ParseRecord for the rest.
func ReadRecord(path string) (*Record, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseRecord(path, data)
}

// ParseRecord parses data, the content of the record at path (used in errors
// only), as JSON. On failure it returns nil and an *Error:
//   - ErrTooLarge: data is over MaxSize bytes;
//   - ErrSyntax: not JSON (Detail gives the line and column), not one object,
//     text after the object, invalid UTF-8, a NUL byte, nesting past 100 levels,
//     or a known field twice;
//   - ErrMissingField: a required field is absent or null;
//   - ErrInvalidField: a field of the wrong JSON type (installed_at_ms must be a
//     non-negative integer: a fraction, a string or a negative number is refused),
//     a required string that is empty, or a value docs/formats.md refuses.
//
// Unknown fields are ignored. The first problem found is returned: syntax, then
// types in the order of the file, then missing fields, then values.
func ParseRecord(path string, data []byte) (*Record, error) {
	if err := checkText(path, data); err != nil {
		return nil, err
	}
	root, err := parseJSON(path, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{path: path, json: true}
	var r Record
	if err := d.object("", root, reflect.ValueOf(&r).Elem()); err != nil {
		return nil, err
	}
	if err := r.check(path); err != nil {
		return nil, err
	}
	return &r, nil
}

// check applies the rules of docs/formats.md to the values of a decoded record.
func (r *Record) check(path string) error {
	if err := SafeComponent(r.PluginID); err != nil {
		return fieldError(path, "plugin_id", err)
	}
	if err := SafeComponent(r.Version); err != nil {
		return fieldError(path, "version", err)
	}
	if err := checkKinds(path, r.NodeKind, r.Kind); err != nil {
		return err
	}
	if strings.IndexByte(r.Entrypoint, 0) >= 0 {
		return errorf(path, "entrypoint", ErrInvalidField, "it contains a NUL byte")
	}
	if r.InstalledAtMs < 0 {
		return errorf(path, "installed_at_ms", ErrInvalidField, "it must not be negative, not %d", r.InstalledAtMs)
	}
	return nil
}

// checkKinds checks the node_kind and kind fields records and manifests share.
func checkKinds(path, nodeKind, kind string) error {
	if _, err := NormalizeKind(nodeKind); err != nil {
		return fieldError(path, "node_kind", err)
	}
	if kind != "native" && kind != "wasm" {
		return errorf(path, "kind", ErrInvalidField, `it must be "native" or "wasm", not %s`, quote(kind))
	}
	return nil
}

// fieldError turns an error of SafeComponent or NormalizeKind about a field's value
// into ErrInvalidField for that field of the file at path.
func fieldError(path, field string, err error) error {
	return &Error{Path: path, Field: field, Err: ErrInvalidField, Detail: err.(*Error).Detail}
}
