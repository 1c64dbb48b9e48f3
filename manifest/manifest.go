package manifest

import (
	"path/filepath"
	"reflect"
	"strings"
)

// Manifest is a bundle manifest (docs/formats.md): a directory bundle's plugin.yml,
// plugin.yaml or <stem>.plugin.yml / <stem>.plugin.yaml, or a marketplace
// manifest.json with the same fields.
//
// A Manifest returned without error has non-empty ID, Version, NodeKind, Kind and
// Entrypoint; NodeKind passes NormalizeKind; Kind is "native" or "wasm";
// Entrypoint holds no NUL byte and, cleaned, is a local path below the bundle
// folder (filepath.IsLocal) other than the folder itself; Bundle, when present, has
// URL and SHA256; every asset has TypeID, Label and Extensions (possibly empty).
// Fields that were absent are zero, except SchemaVersion, which is then 1.
// A list present in the file is non-nil, even when empty.
type Manifest struct {
	SchemaVersion int    `json:"schema_version" yaml:"schema_version"`
	ID            string `json:"id" yaml:"id"`
	Name          string `json:"name,omitempty" yaml:"name,omitempty"`
	Version       string `json:"version" yaml:"version"`
	// NodeKind is as written in the file; compare NormalizeKind(NodeKind).
	NodeKind string `json:"node_kind" yaml:"node_kind"`
	// Kind is "native" or "wasm".
	Kind string `json:"kind" yaml:"kind"`
	// Entrypoint is the library, as written, relative to the bundle folder.
	Entrypoint    string         `json:"entrypoint" yaml:"entrypoint"`
	Description   string         `json:"description,omitempty" yaml:"description,omitempty"`
	License       string         `json:"license,omitempty" yaml:"license,omitempty"`
	LicenseURL    string         `json:"license_url,omitempty" yaml:"license_url,omitempty"`
	Homepage      string         `json:"homepage,omitempty" yaml:"homepage,omitempty"`
	Repository    string         `json:"repository,omitempty" yaml:"repository,omitempty"`
	Bundle        *Bundle        `json:"bundle,omitempty" yaml:"bundle,omitempty"`
	Compatibility *Compatibility `json:"compatibility,omitempty" yaml:"compatibility,omitempty"`
	Models        []Model        `json:"models,omitempty" yaml:"models,omitempty"`
	Assets        []Asset        `json:"assets,omitempty" yaml:"assets,omitempty"`
	Variants      []Variant      `json:"variants,omitempty" yaml:"variants,omitempty"`
}

// Bundle is where the marketplace downloads a plugin's bundle from.
type Bundle struct {
	URL       string `json:"url" yaml:"url"`
	SHA256    string `json:"sha256" yaml:"sha256"`
	SizeBytes int64  `json:"size_bytes,omitempty" yaml:"size_bytes,omitempty"`
}

// Compatibility says which StreamKit versions and platforms a plugin supports.
type Compatibility struct {
	StreamKit string   `json:"streamkit,omitempty" yaml:"streamkit,omitempty"`
	OS        []string `json:"os,omitempty" yaml:"os,omitempty"`
	Arch      []string `json:"arch,omitempty" yaml:"arch,omitempty"`
}

// Model is a model file a plugin can download.
type Model struct {
	ID                string   `json:"id,omitempty" yaml:"id,omitempty"`
	Name              string   `json:"name,omitempty" yaml:"name,omitempty"`
	Default           bool     `json:"default" yaml:"default"`
	Source            string   `json:"source,omitempty" yaml:"source,omitempty"`
	RepoID            string   `json:"repo_id,omitempty" yaml:"repo_id,omitempty"`
	Revision          string   `json:"revision,omitempty" yaml:"revision,omitempty"`
	Files             []string `json:"files,omitempty" yaml:"files,omitempty"`
	ExpectedSizeBytes int64    `json:"expected_size_bytes,omitempty" yaml:"expected_size_bytes,omitempty"`
	License           string   `json:"license,omitempty" yaml:"license,omitempty"`
	LicenseURL        string   `json:"license_url,omitempty" yaml:"license_url,omitempty"`
	SHA256            string   `json:"sha256,omitempty" yaml:"sha256,omitempty"`
}

// Asset is a type of file a plugin's nodes take as input.
type Asset struct {
	TypeID       string   `json:"type_id" yaml:"type_id"`
	Label        string   `json:"label" yaml:"label"`
	Extensions   []string `json:"extensions" yaml:"extensions"`
	MaxSizeBytes int64    `json:"max_size_bytes,omitempty" yaml:"max_size_bytes,omitempty"`
	ContentType  string   `json:"content_type,omitempty" yaml:"content_type,omitempty"`
	IconHint     string   `json:"icon_hint,omitempty" yaml:"icon_hint,omitempty"`
	NodeParam    string   `json:"node_param,omitempty" yaml:"node_param,omitempty"`
	SystemDir    string   `json:"system_dir,omitempty" yaml:"system_dir,omitempty"`
}

// Variant is another build of a plugin's bundle, e.g. for an accelerator.
type Variant struct {
	Accelerator string `json:"accelerator,omitempty" yaml:"accelerator,omitempty"`
	URL         string `json:"url,omitempty" yaml:"url,omitempty"`
	SHA256      string `json:"sha256,omitempty" yaml:"sha256,omitempty"`
	SizeBytes   int64  `json:"size_bytes,omitempty" yaml:"size_bytes,omitempty"`
}

// ReadManifest reads and parses the manifest at path. A file over MaxSize is
// refused with ErrTooLarge without being read; one that is not a regular file (a
// folder, a named pipe) with fs.ErrInvalid. See ParseManifest for the rest.
func ReadManifest(path string) (*Manifest, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseManifest(path, data)
}

// ParseManifest parses data, the content of the manifest at path, as JSON when path
// ends in ".json" and as YAML otherwise. In YAML a scalar is read as written where
// a string is expected ("version: 1.0" is "1.0"). On failure it returns nil and an
// *Error:
//   - ErrTooLarge: data is over MaxSize bytes;
//   - ErrSyntax: not JSON or YAML (Detail gives the line), empty (or only
//     comments), not one object or mapping, more than one YAML document, invalid
//     UTF-8, a NUL byte, nesting past 100 levels, aliases expanding past 2^20
//     values or containing themselves, or a known field twice;
//   - ErrMissingField: a required field is absent or null;
//   - ErrInvalidField: a field of the wrong type, a required string that is empty,
//     or a value docs/formats.md refuses;
//   - ErrEscapes (Field "entrypoint"): the entrypoint is absolute or climbs out of
//     the bundle folder with ".."; plugwatch reports it as outside_root.
//
// Unknown fields are ignored. The first problem found is returned: syntax, then
// types and nested required fields in the order of the file, then missing fields,
// then values, and ErrEscapes last.
func ParseManifest(path string, data []byte) (*Manifest, error) {
	if err := checkText(path, data); err != nil {
		return nil, err
	}
	d := &decoder{path: path, json: strings.HasSuffix(path, ".json")}
	parse := parseYAML
	if d.json {
		parse = parseJSON
	}
	root, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	m := Manifest{SchemaVersion: 1}
	if err := d.object("", root, reflect.ValueOf(&m).Elem()); err != nil {
		return nil, err
	}
	if err := m.check(path); err != nil {
		return nil, err
	}
	return &m, nil
}

// check applies the rules of docs/formats.md to the values of a decoded manifest.
func (m *Manifest) check(path string) error {
	if err := checkKinds(path, m.NodeKind, m.Kind); err != nil {
		return err
	}
	ep := m.Entrypoint
	switch clean := filepath.Clean(ep); {
	case strings.IndexByte(ep, 0) >= 0:
		return errorf(path, "entrypoint", ErrInvalidField, "it contains a NUL byte")
	case filepath.IsAbs(ep) || strings.HasPrefix(ep, "/"):
		return errorf(path, "entrypoint", ErrEscapes, "%s is an absolute path", quote(ep))
	case !filepath.IsLocal(clean):
		return errorf(path, "entrypoint", ErrEscapes, "%s climbs out of it with \"..\"", quote(ep))
	case clean == ".":
		return errorf(path, "entrypoint", ErrInvalidField, "%s names the bundle folder itself, not a library in it", quote(ep))
	}
	return nil
}
