package trial

import (
	"bytes"
	"encoding/json"
	"slices"
)

// DefaultParams returns the params a try gives a plugin without --params: a JSON
// object of the "default" values of the top-level "properties" of its param_schema,
// keys in sorted order, or nil (NULL) when there are none or the schema is not a
// JSON object.
func DefaultParams(schema string) []byte {
	var s struct {
		Properties map[string]map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal([]byte(schema), &s) != nil {
		// Properties that are not objects: read them one by one below.
		var loose struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if json.Unmarshal([]byte(schema), &loose) != nil {
			return nil
		}
		s.Properties = map[string]map[string]json.RawMessage{}
		for name, raw := range loose.Properties {
			var p map[string]json.RawMessage
			if json.Unmarshal(raw, &p) == nil {
				s.Properties[name] = p
			}
		}
	}
	var names []string
	for name, p := range s.Properties {
		if _, ok := p["default"]; ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		if err := json.Compact(&b, s.Properties[name]["default"]); err != nil {
			return nil
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// isNull reports whether params is the JSON null.
func isNull(params []byte) bool { return string(bytes.TrimSpace(params)) == "null" }
