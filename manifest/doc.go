// Package manifest reads the two kinds of metadata file plugwatch finds under a
// StreamKit plugins root: active records (active/<plugin_id>.json, docs/formats.md)
// and bundle manifests (plugin.yml and its variants, or a marketplace manifest.json,
// docs/formats.md). It also holds the two name rules the rest of plugwatch shares:
// [NormalizeKind] (docs/formats.md) and [SafeComponent] (docs/formats.md).
//
// Parsing is bounded whatever the input (docs/files.md): a file over [MaxSize] is
// refused unread; the text must be UTF-8 without NUL bytes; nesting deeper than
// 100 levels, YAML alias expansion past 2^20 values, self-referencing anchors and
// more than one YAML document are refused. The worst case, a 1 MiB file of tiny
// values, takes a few hundred milliseconds and about 170 MB of short-lived
// allocations, mostly the parser's node tree (about 160 bytes per byte of input).
//
// Field names are matched exactly (case-sensitive) and unknown fields are ignored,
// as StreamKit's serde structs do. A known field that appears twice in one object is
// an error. YAML merge keys (<<) are unknown fields, ignored as StreamKit ignores
// them. A JSON or YAML null counts as absent.
//
// Every failure is an [*Error] wrapping one of the sentinel errors (ErrTooLarge,
// ErrSyntax, ErrMissingField, ErrInvalidField, ErrEscapes, ErrInvalidKind), or, when
// the file could not be opened or read, the cause from the operating system; match
// them with [errors.Is] and [errors.As], never by their text.
//
// The package has no global mutable state; every function is safe to call
// concurrently.
package manifest
