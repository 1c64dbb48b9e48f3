package manifest

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder fills a struct from a node tree made by parseJSON or parseYAML, field by
// field, so that every error names its field. It matches keys to the structs' json
// tags exactly and ignores unknown keys. It reads strings, booleans, int and int64,
// pointers to structs and slices of those; a null is absent. The tree was checked
// against maxDepth and maxValues, and the structs nest 3 deep, so the walk is
// bounded.
type decoder struct {
	path string
	// json: scalars must have their JSON type. In YAML any scalar is accepted
	// where a string is expected and read as written, so "version: 1.0" is "1.0".
	json bool
	// fields maps each struct type met to its field indexes by json name.
	fields map[reflect.Type]map[string]int
}

// required lists the fields of a struct that must be present (not null), in the
// order they are checked; required string fields must also be non-empty.
func required(t reflect.Type) []string {
	switch t {
	case reflect.TypeFor[Record]():
		return []string{"plugin_id", "version", "node_kind", "kind", "entrypoint", "installed_at_ms"}
	case reflect.TypeFor[Manifest]():
		return []string{"id", "version", "node_kind", "kind", "entrypoint"}
	case reflect.TypeFor[Bundle]():
		return []string{"url", "sha256"}
	case reflect.TypeFor[Asset]():
		return []string{"type_id", "label", "extensions"}
	}
	return nil
}

// index returns the field indexes of struct type t by json name.
func (d *decoder) index(t reflect.Type) map[string]int {
	if m, ok := d.fields[t]; ok {
		return m
	}
	if d.fields == nil {
		d.fields = make(map[reflect.Type]map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	d.fields[t] = m
	return m
}

// object fills the struct v from the mapping n; field is n's field name ("" at the
// top). The structs have fewer than 64 fields, so bit sets of field indexes
// record which were seen and which were not null.
func (d *decoder) object(field string, n *yaml.Node, v reflect.Value) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return d.wrongType(field, n, d.word("an object", "a mapping"))
	}
	index := d.index(v.Type())
	var seen, present uint64
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			continue // not a field name: unknown
		}
		fi, known := index[k.Value]
		if !known {
			continue
		}
		name := join(field, k.Value)
		if seen&(1<<fi) != 0 {
			return errorf(d.path, name, ErrSyntax, "appears twice in one %s (line %d and line %d)",
				d.word("object", "mapping"), firstKey(n, k.Value).Line, k.Line)
		}
		seen |= 1 << fi
		if isNull(val) {
			continue
		}
		present |= 1 << fi
		if err := d.value(name, val, v.Field(fi)); err != nil {
			return err
		}
	}
	for _, key := range required(v.Type()) {
		name := join(field, key)
		fi := index[key]
		if present&(1<<fi) == 0 {
			return &Error{Path: d.path, Field: name, Err: ErrMissingField}
		}
		if f := v.Field(fi); f.Kind() == reflect.String && f.String() == "" {
			return errorf(d.path, name, ErrInvalidField, "it must not be empty")
		}
	}
	return nil
}

// firstKey returns the first key of mapping n named key.
func firstKey(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return k
		}
	}
	return n
}

// value fills v from n, which is not null.
func (d *decoder) value(field string, n *yaml.Node, v reflect.Value) error {
	n = resolve(n)
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode || d.json && n.ShortTag() != "!!str" {
			return d.wrongType(field, n, "a string")
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return d.wrongType(field, n, "true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			return d.wrongType(field, n, "an integer")
		}
		i, err := d.integer(n)
		if err != nil || v.OverflowInt(i) {
			return errorf(d.path, field, ErrInvalidField, "%s is not a whole number that fits in 64 bits%s", quote(n.Value), where(n))
		}
		v.SetInt(i)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.object(field, n, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.wrongType(field, n, d.word("an array", "a list"))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			name := fmt.Sprintf("%s[%d]", field, i)
			var err error
			switch {
			case isNull(item):
				err = d.wrongType(name, item, d.want(s.Index(i)))
			case s.Index(i).Kind() == reflect.Struct:
				err = d.object(name, item, s.Index(i))
			default:
				err = d.value(name, item, s.Index(i))
			}
			if err != nil {
				return err
			}
		}
		v.Set(s)
	default:
		panic("manifest: decoder cannot fill a " + v.Type().String())
	}
	return nil
}

// integer reads an !!int scalar: JSON's in decimal, YAML's in any form YAML 1.2
// allows (0x1f, 0o17).
func (d *decoder) integer(n *yaml.Node) (int64, error) {
	if d.json {
		return strconv.ParseInt(n.Value, 10, 64)
	}
	var i int64
	err := n.Decode(&i)
	return i, err
}

// want names the type v holds, for a message.
func (d *decoder) want(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Struct:
		return d.word("an object", "a mapping")
	}
	return "a value"
}

// wrongType reports that field holds n where want was expected.
func (d *decoder) wrongType(field string, n *yaml.Node, want string) error {
	return errorf(d.path, field, ErrInvalidField, "it must be %s, not %s%s", want, d.what(n), where(n))
}

// what describes n for a message.
func (d *decoder) what(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		return d.word("an array", "a list")
	case yaml.MappingNode:
		return d.word("an object", "a mapping")
	}
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return "the string " + quote(n.Value)
	case "!!int", "!!float":
		return "the number " + quote(n.Value)
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "null"
	default:
		return fmt.Sprintf("the %s value %s", strings.TrimPrefix(tag, "!!"), quote(n.Value))
	}
}

// word picks the JSON or the YAML name of a thing.
func (d *decoder) word(json, yaml string) string {
	if d.json {
		return json
	}
	return yaml
}

// where gives n's position for a message, or "".
func where(n *yaml.Node) string {
	if n.Line == 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d, column %d)", n.Line, n.Column)
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// isNull reports whether n is a null scalar (null, ~ or nothing in YAML).
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// join names a nested field.
func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}
