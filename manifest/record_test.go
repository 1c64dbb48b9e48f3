package manifest

import (
	"strings"
	"testing"
)

const recordPath = "/r/.plugins/active/slint.json"

var goodRecord = doc{
	{"plugin_id", `"slint"`},
	{"version", `"0.5.0"`},
	{"node_kind", `"slint"`},
	{"kind", `"native"`},
	{"entrypoint", `".plugins/bundles/slint/0.5.0/libslint.so"`},
	{"installed_at_ms", `1764012600123`},
	{"accelerator", `"cpu"`},
}

func TestParseRecord(t *testing.T) {
	r, err := ParseRecord(recordPath, goodRecord.json())
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		PluginID: "slint", Version: "0.5.0", NodeKind: "slint", Kind: "native",
		Entrypoint: ".plugins/bundles/slint/0.5.0/libslint.so", InstalledAtMs: 1764012600123,
		Accelerator: "cpu",
	}
	if *r != want {
		t.Errorf("got %+v\nwant %+v", *r, want)
	}
}

func TestParseRecordAccepts(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		check func(*Record) bool
	}{
		{"no accelerator", goodRecord.with("-accelerator").json(), func(r *Record) bool { return r.Accelerator == "" }},
		{"null accelerator", goodRecord.with("accelerator=null").json(), func(r *Record) bool { return r.Accelerator == "" }},
		{"empty accelerator", goodRecord.with(`accelerator=""`).json(), func(r *Record) bool { return r.Accelerator == "" }},
		{"wasm", goodRecord.with(`kind="wasm"`).json(), func(r *Record) bool { return r.Kind == "wasm" }},
		{"namespaced node_kind kept as written", goodRecord.with(`node_kind="plugin::native::slint"`).json(),
			func(r *Record) bool { return r.NodeKind == "plugin::native::slint" }},
		{"absolute entrypoint", goodRecord.with(`entrypoint="/opt/libslint.so"`).json(),
			func(r *Record) bool { return r.Entrypoint == "/opt/libslint.so" }},
		{"climbing entrypoint (containment is checked elsewhere)", goodRecord.with(`entrypoint="../libslint.so"`).json(),
			func(r *Record) bool { return r.Entrypoint == "../libslint.so" }},
		{"zero time", goodRecord.with("installed_at_ms=0").json(), func(r *Record) bool { return r.InstalledAtMs == 0 }},
		{"negative zero", goodRecord.with("installed_at_ms=-0").json(), func(r *Record) bool { return r.InstalledAtMs == 0 }},
		{"largest time", goodRecord.with("installed_at_ms=9223372036854775807").json(),
			func(r *Record) bool { return r.InstalledAtMs == 1<<63-1 }},
		{"unknown fields", goodRecord.with(`extra={"deep": [1, [2, {"x": null}]]}`, `Plugin_ID="other"`).json(),
			func(r *Record) bool { return r.PluginID == "slint" }},
		{"unknown field twice", []byte(`{"x": 1, "x": 2, ` + string(goodRecord.json()[1:])),
			func(r *Record) bool { return r.PluginID == "slint" }},
		{"escapes", goodRecord.with(`plugin_id="sl\u0069nt"`, `version="0.5.0-\u00e9"`).json(),
			func(r *Record) bool { return r.PluginID == "slint" && r.Version == "0.5.0-é" }},
		{"white space inside a version", goodRecord.with(`version="0.5 beta"`).json(),
			func(r *Record) bool { return r.Version == "0.5 beta" }},
		{"surrounding white space", []byte(" \n\t" + string(goodRecord.json()) + "\n\n "),
			func(r *Record) bool { return r.PluginID == "slint" }},
		{"one line", []byte(`{"plugin_id":"a","version":"1","node_kind":"a","kind":"native","entrypoint":"x","installed_at_ms":1}`),
			func(r *Record) bool { return r.PluginID == "a" && r.InstalledAtMs == 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRecord(recordPath, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Errorf("unexpected record %+v", *r)
			}
		})
	}
}

func TestParseRecordRejects(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		sentinel error
		field    string
	}{
		// Required fields: absent, null, or (strings) empty.
		{"no plugin_id", goodRecord.with("-plugin_id").json(), ErrMissingField, "plugin_id"},
		{"no version", goodRecord.with("-version").json(), ErrMissingField, "version"},
		{"no node_kind", goodRecord.with("-node_kind").json(), ErrMissingField, "node_kind"},
		{"no kind", goodRecord.with("-kind").json(), ErrMissingField, "kind"},
		{"no entrypoint", goodRecord.with("-entrypoint").json(), ErrMissingField, "entrypoint"},
		{"no installed_at_ms", goodRecord.with("-installed_at_ms").json(), ErrMissingField, "installed_at_ms"},
		{"null plugin_id", goodRecord.with("plugin_id=null").json(), ErrMissingField, "plugin_id"},
		{"null installed_at_ms", goodRecord.with("installed_at_ms=null").json(), ErrMissingField, "installed_at_ms"},
		{"field name case", goodRecord.with("-version", `Version="1"`).json(), ErrMissingField, "version"},
		{"empty object", []byte(`{}`), ErrMissingField, "plugin_id"},
		{"empty plugin_id", goodRecord.with(`plugin_id=""`).json(), ErrInvalidField, "plugin_id"},
		{"empty version", goodRecord.with(`version=""`).json(), ErrInvalidField, "version"},
		{"empty node_kind", goodRecord.with(`node_kind=""`).json(), ErrInvalidField, "node_kind"},
		{"empty kind", goodRecord.with(`kind=""`).json(), ErrInvalidField, "kind"},
		{"empty entrypoint", goodRecord.with(`entrypoint=""`).json(), ErrInvalidField, "entrypoint"},

		// Wrong JSON types.
		{"numeric plugin_id", goodRecord.with("plugin_id=1").json(), ErrInvalidField, "plugin_id"},
		{"numeric version", goodRecord.with("version=1.0").json(), ErrInvalidField, "version"},
		{"list node_kind", goodRecord.with(`node_kind=["slint"]`).json(), ErrInvalidField, "node_kind"},
		{"object kind", goodRecord.with(`kind={"native": true}`).json(), ErrInvalidField, "kind"},
		{"boolean entrypoint", goodRecord.with("entrypoint=true").json(), ErrInvalidField, "entrypoint"},
		{"numeric accelerator", goodRecord.with("accelerator=1").json(), ErrInvalidField, "accelerator"},
		{"string time", goodRecord.with(`installed_at_ms="1764012600123"`).json(), ErrInvalidField, "installed_at_ms"},
		{"fractional time", goodRecord.with("installed_at_ms=1.5").json(), ErrInvalidField, "installed_at_ms"},
		{"float time", goodRecord.with("installed_at_ms=1764012600123.0").json(), ErrInvalidField, "installed_at_ms"},
		{"exponent time", goodRecord.with("installed_at_ms=1e12").json(), ErrInvalidField, "installed_at_ms"},
		{"negative time", goodRecord.with("installed_at_ms=-1").json(), ErrInvalidField, "installed_at_ms"},
		{"huge time", goodRecord.with("installed_at_ms=9223372036854775808").json(), ErrInvalidField, "installed_at_ms"},
		{"boolean time", goodRecord.with("installed_at_ms=true").json(), ErrInvalidField, "installed_at_ms"},
		{"list time", goodRecord.with("installed_at_ms=[1]").json(), ErrInvalidField, "installed_at_ms"},

		// Unsafe path components.
		{"plugin_id leading space", goodRecord.with(`plugin_id=" slint"`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id trailing space", goodRecord.with(`plugin_id="slint "`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id slash", goodRecord.with(`plugin_id="a/b"`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id backslash", goodRecord.with(`plugin_id="a\\b"`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id dot", goodRecord.with(`plugin_id="."`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id dot dot", goodRecord.with(`plugin_id=".."`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id NUL", goodRecord.with(`plugin_id="sl\u0000int"`).json(), ErrInvalidField, "plugin_id"},
		{"plugin_id 256 bytes", goodRecord.with(`plugin_id="` + strings.Repeat("x", 256) + `"`).json(), ErrInvalidField, "plugin_id"},
		{"version climbing", goodRecord.with(`version="../0.5.0"`).json(), ErrInvalidField, "version"},
		{"version dot dot", goodRecord.with(`version=".."`).json(), ErrInvalidField, "version"},
		{"version newline", goodRecord.with(`version="0.5.0\n"`).json(), ErrInvalidField, "version"},

		// Kinds.
		{"node_kind core", goodRecord.with(`node_kind="core:x"`).json(), ErrInvalidField, "node_kind"},
		{"node_kind space", goodRecord.with(`node_kind="a b"`).json(), ErrInvalidField, "node_kind"},
		{"node_kind double prefix", goodRecord.with(`node_kind="plugin::native::plugin::native::x"`).json(), ErrInvalidField, "node_kind"},
		{"node_kind control", goodRecord.with(`node_kind="a\u0007"`).json(), ErrInvalidField, "node_kind"},
		{"kind python", goodRecord.with(`kind="python"`).json(), ErrInvalidField, "kind"},
		{"kind case", goodRecord.with(`kind="Native"`).json(), ErrInvalidField, "kind"},

		// Entrypoint.
		{"entrypoint NUL", goodRecord.with(`entrypoint="libslint.so\u0000.txt"`).json(), ErrInvalidField, "entrypoint"},

		// Syntax.
		{"empty file", []byte(""), ErrSyntax, ""},
		{"blank file", []byte(" \n\t\n"), ErrSyntax, ""},
		{"array", []byte(`[]`), ErrSyntax, ""},
		{"string", []byte(`"x"`), ErrSyntax, ""},
		{"null", []byte(`null`), ErrSyntax, ""},
		{"number", []byte(`1`), ErrSyntax, ""},
		{"half written", goodRecord.json()[:40], ErrSyntax, ""},
		{"open brace", []byte(`{`), ErrSyntax, ""},
		{"trailing comma", []byte(`{"plugin_id": "a",}`), ErrSyntax, ""},
		{"missing comma", []byte(`{"plugin_id": "a" "version": "1"}`), ErrSyntax, ""},
		{"single quotes", []byte(`{'plugin_id': 'a'}`), ErrSyntax, ""},
		{"comment", []byte("// record\n" + string(goodRecord.json())), ErrSyntax, ""},
		{"two objects", append(goodRecord.json(), goodRecord.json()...), ErrSyntax, ""},
		{"trailing garbage", append(goodRecord.json(), "x"...), ErrSyntax, ""},
		{"trailing brace", append(goodRecord.json(), "}"...), ErrSyntax, ""},
		{"YAML", goodRecord.yaml(), ErrSyntax, ""},
		{"byte order mark", append([]byte("\xef\xbb\xbf"), goodRecord.json()...), ErrSyntax, ""},
		{"raw NUL", []byte("{\"plugin_id\": \"a\x00\"}"), ErrSyntax, ""},
		{"invalid UTF-8 in a string", goodRecord.with("plugin_id=\"sl\xffint\"").json(), ErrSyntax, ""},
		{"invalid UTF-8 in an unknown field", goodRecord.with("x=\"\xc3\"").json(), ErrSyntax, ""},
		{"raw newline in a string", goodRecord.with("version=\"0.5\n\"").json(), ErrSyntax, ""},
		// A known field twice is an error (StreamKit's serde refuses it too).
		{"plugin_id twice", []byte(`{"plugin_id": "a", ` + string(goodRecord.json()[1:])), ErrSyntax, "plugin_id"},
		{"too large", append(goodRecord.json(), make([]byte, MaxSize)...), ErrTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRecord(recordPath, tc.data)
			if r != nil {
				t.Errorf("got a record %+v with an error", *r)
			}
			checkErr(t, err, recordPath, tc.sentinel, tc.field)
		})
	}
}

// The first problem found is returned: syntax, then types, then missing fields,
// then values.
func TestParseRecordOrder(t *testing.T) {
	_, err := ParseRecord(recordPath, goodRecord.with("-version", `kind="python"`, "installed_at_ms=1.5").json())
	checkErr(t, err, recordPath, ErrInvalidField, "installed_at_ms")
	_, err = ParseRecord(recordPath, goodRecord.with("-version", `kind="python"`).json())
	checkErr(t, err, recordPath, ErrMissingField, "version")
}
