package manifest

import (
	"reflect"
	"strings"
	"testing"
)

const (
	ymlPath  = "/r/.plugins/native/gain/plugin.yml"
	jsonPath = "/r/.plugins/bundles/gain/1.2.0/manifest.json"
)

var goodManifest = doc{
	{"id", "gain"},
	{"version", "1.2.0"},
	{"node_kind", "gain"},
	{"kind", "native"},
	{"entrypoint", "libgain.so"},
}

var goodManifestJSON = doc{
	{"id", `"gain"`},
	{"version", `"1.2.0"`},
	{"node_kind", `"gain"`},
	{"kind", `"native"`},
	{"entrypoint", `"libgain.so"`},
}

func TestParseManifestMinimal(t *testing.T) {
	want := &Manifest{SchemaVersion: 1, ID: "gain", Version: "1.2.0", NodeKind: "gain", Kind: "native", Entrypoint: "libgain.so"}
	for path, data := range map[string][]byte{ymlPath: goodManifest.yaml(), jsonPath: goodManifestJSON.json()} {
		m, err := ParseManifest(path, data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("%s: got %+v\nwant %+v", path, m, want)
		}
	}
}

func TestParseManifestAccepts(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		data  []byte
		check func(*Manifest) bool
	}{
		// YAML scalars are read as written where a string is expected.
		{"version 1.0", ymlPath, goodManifest.with("version=1.0").yaml(), func(m *Manifest) bool { return m.Version == "1.0" }},
		{"version 1.10", ymlPath, goodManifest.with("version=1.10").yaml(), func(m *Manifest) bool { return m.Version == "1.10" }},
		{"version 1", ymlPath, goodManifest.with("version=1").yaml(), func(m *Manifest) bool { return m.Version == "1" }},
		{"version 1e3", ymlPath, goodManifest.with("version=1e3").yaml(), func(m *Manifest) bool { return m.Version == "1e3" }},
		{"version 0x10", ymlPath, goodManifest.with("version=0x10").yaml(), func(m *Manifest) bool { return m.Version == "0x10" }},
		{"version date", ymlPath, goodManifest.with("version=2024-01-02").yaml(), func(m *Manifest) bool { return m.Version == "2024-01-02" }},
		{"id 007", ymlPath, goodManifest.with("id=007").yaml(), func(m *Manifest) bool { return m.ID == "007" }},
		{"id true", ymlPath, goodManifest.with("id=true").yaml(), func(m *Manifest) bool { return m.ID == "true" }},
		{"quoted", ymlPath, goodManifest.with(`version="1.0"`, `id='gain'`).yaml(), func(m *Manifest) bool { return m.Version == "1.0" && m.ID == "gain" }},
		{"quoted null", ymlPath, goodManifest.with(`id="null"`).yaml(), func(m *Manifest) bool { return m.ID == "null" }},
		{"folded description", ymlPath, goodManifest.with("description=>\n  one\n  two").yaml(), func(m *Manifest) bool { return m.Description == "one two\n" }},
		{"tagged string", ymlPath, goodManifest.with("version=!!str 1.0").yaml(), func(m *Manifest) bool { return m.Version == "1.0" }},
		{"anchors and aliases", ymlPath, goodManifest.with("id=&name gain", "name=*name").yaml(), func(m *Manifest) bool { return m.Name == "gain" }},
		{"flow mapping", ymlPath, []byte("{id: gain, version: 1.2.0, node_kind: gain, kind: native, entrypoint: libgain.so}"),
			func(m *Manifest) bool { return m.ID == "gain" }},
		{"document markers", ymlPath, []byte("%YAML 1.1\n---\n" + string(goodManifest.yaml()) + "...\n"), func(m *Manifest) bool { return m.ID == "gain" }},
		{"comments", ymlPath, []byte("# gain\n" + string(goodManifest.yaml()) + "# end\n"), func(m *Manifest) bool { return m.ID == "gain" }},
		{"byte order mark", ymlPath, append([]byte("\xef\xbb\xbf"), goodManifest.yaml()...), func(m *Manifest) bool { return m.ID == "gain" }},
		{"CRLF", ymlPath, []byte(strings.ReplaceAll(string(goodManifest.yaml()), "\n", "\r\n")), func(m *Manifest) bool { return m.Entrypoint == "libgain.so" }},

		// Optional fields.
		{"schema_version absent", ymlPath, goodManifest.yaml(), func(m *Manifest) bool { return m.SchemaVersion == 1 }},
		{"schema_version null", ymlPath, goodManifest.with("schema_version=~").yaml(), func(m *Manifest) bool { return m.SchemaVersion == 1 }},
		{"schema_version 2", ymlPath, goodManifest.with("schema_version=2").yaml(), func(m *Manifest) bool { return m.SchemaVersion == 2 }},
		{"schema_version hex", ymlPath, goodManifest.with("schema_version=0x2").yaml(), func(m *Manifest) bool { return m.SchemaVersion == 2 }},
		{"metadata", ymlPath, goodManifest.with("name=Gain", "description=Adjusts volume", "license=MIT",
			"license_url=https://x/LICENSE", "homepage=https://x", "repository=https://x/git").yaml(),
			func(m *Manifest) bool {
				return m.Name == "Gain" && m.Description == "Adjusts volume" && m.License == "MIT" &&
					m.LicenseURL == "https://x/LICENSE" && m.Homepage == "https://x" && m.Repository == "https://x/git"
			}},
		{"bundle", ymlPath, goodManifest.with("bundle={url: https://x/b.tar.zst, sha256: abc, size_bytes: 12}").yaml(),
			func(m *Manifest) bool {
				return *m.Bundle == Bundle{URL: "https://x/b.tar.zst", SHA256: "abc", SizeBytes: 12}
			}},
		{"bundle null", ymlPath, goodManifest.with("bundle=~").yaml(), func(m *Manifest) bool { return m.Bundle == nil }},
		{"compatibility", ymlPath, goodManifest.with("compatibility={streamkit: '>=0.5', os: [linux, macos], arch: [x86_64]}").yaml(),
			func(m *Manifest) bool {
				return reflect.DeepEqual(m.Compatibility, &Compatibility{StreamKit: ">=0.5", OS: []string{"linux", "macos"}, Arch: []string{"x86_64"}})
			}},
		{"empty lists", ymlPath, goodManifest.with("models=[]", "assets=[]", "variants=[]").yaml(),
			func(m *Manifest) bool {
				return m.Models != nil && len(m.Models) == 0 && m.Assets != nil && len(m.Assets) == 0 && m.Variants != nil
			}},
		{"asset without extensions", ymlPath, goodManifest.with("assets=[{type_id: t, label: T, extensions: []}]").yaml(),
			func(m *Manifest) bool { return len(m.Assets) == 1 && m.Assets[0].Extensions != nil }},
		{"numeric extension", ymlPath, goodManifest.with("assets=[{type_id: t, label: T, extensions: [3gp]}]").yaml(),
			func(m *Manifest) bool { return m.Assets[0].Extensions[0] == "3gp" }},
		{"model default false", ymlPath, goodManifest.with("models=[{id: m, default: false}]").yaml(),
			func(m *Manifest) bool { return len(m.Models) == 1 && !m.Models[0].Default && m.Models[0].ID == "m" }},
		{"wasm", ymlPath, goodManifest.with("kind=wasm").yaml(), func(m *Manifest) bool { return m.Kind == "wasm" }},
		{"namespaced node_kind kept as written", ymlPath, goodManifest.with("node_kind=plugin::native::gain").yaml(),
			func(m *Manifest) bool { return m.NodeKind == "plugin::native::gain" }},

		// Unknown fields, merge keys and field name case.
		{"unknown fields", ymlPath, goodManifest.with("artifact=target/plugins/release/libgain.so", "x={a: [1, {b: c}]}").yaml(),
			func(m *Manifest) bool { return m.ID == "gain" }},
		{"unknown field twice", ymlPath, []byte("x: 1\nx: 2\n" + string(goodManifest.yaml())), func(m *Manifest) bool { return m.ID == "gain" }},
		{"merge key ignored", ymlPath, []byte("<<: {name: Merged}\n" + string(goodManifest.yaml())), func(m *Manifest) bool { return m.Name == "" }},
		{"case-sensitive names", ymlPath, goodManifest.with("Name=Gain").yaml(), func(m *Manifest) bool { return m.Name == "" }},
		{"complex key", ymlPath, []byte("? [a, b]\n: c\n" + string(goodManifest.yaml())), func(m *Manifest) bool { return m.ID == "gain" }},

		// Entrypoints inside the bundle folder.
		{"entrypoint in a subfolder", ymlPath, goodManifest.with("entrypoint=lib/libgain.so").yaml(), func(m *Manifest) bool { return m.Entrypoint == "lib/libgain.so" }},
		{"entrypoint dot slash", ymlPath, goodManifest.with("entrypoint=./libgain.so").yaml(), func(m *Manifest) bool { return m.Entrypoint == "./libgain.so" }},
		{"entrypoint down and up", ymlPath, goodManifest.with("entrypoint=a/../libgain.so").yaml(), func(m *Manifest) bool { return m.Entrypoint == "a/../libgain.so" }},
		{"entrypoint dots in name", ymlPath, goodManifest.with("entrypoint=..libgain.so").yaml(), func(m *Manifest) bool { return m.Entrypoint == "..libgain.so" }},

		// JSON.
		{"JSON metadata", jsonPath, goodManifestJSON.with(`schema_version=1`, `models=null`, `bundle={"url": "u", "sha256": "s"}`).json(),
			func(m *Manifest) bool { return m.Models == nil && m.Bundle.URL == "u" }},
		{"JSON unknown fields", jsonPath, goodManifestJSON.with(`artifact="x"`, `x={"a": [1, null]}`).json(), func(m *Manifest) bool { return m.ID == "gain" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(tc.path, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(m) {
				t.Errorf("unexpected manifest %+v", *m)
			}
		})
	}
}

func TestParseManifestRejects(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		data     []byte
		sentinel error
		field    string
	}{
		// Required fields.
		{"no id", ymlPath, goodManifest.with("-id").yaml(), ErrMissingField, "id"},
		{"no version", ymlPath, goodManifest.with("-version").yaml(), ErrMissingField, "version"},
		{"no node_kind", ymlPath, goodManifest.with("-node_kind").yaml(), ErrMissingField, "node_kind"},
		{"no kind", ymlPath, goodManifest.with("-kind").yaml(), ErrMissingField, "kind"},
		{"no entrypoint", ymlPath, goodManifest.with("-entrypoint").yaml(), ErrMissingField, "entrypoint"},
		{"version with no value", ymlPath, goodManifest.with("version=").yaml(), ErrMissingField, "version"},
		{"version null", ymlPath, goodManifest.with("version=null").yaml(), ErrMissingField, "version"},
		{"version tilde", ymlPath, goodManifest.with("version=~").yaml(), ErrMissingField, "version"},
		{"empty id", ymlPath, goodManifest.with(`id=""`).yaml(), ErrInvalidField, "id"},
		{"empty version", ymlPath, goodManifest.with(`version=''`).yaml(), ErrInvalidField, "version"},
		{"empty node_kind", ymlPath, goodManifest.with(`node_kind=""`).yaml(), ErrInvalidField, "node_kind"},
		{"empty kind", ymlPath, goodManifest.with(`kind=""`).yaml(), ErrInvalidField, "kind"},
		{"empty entrypoint", ymlPath, goodManifest.with(`entrypoint=""`).yaml(), ErrInvalidField, "entrypoint"},
		{"JSON no id", jsonPath, goodManifestJSON.with("-id").json(), ErrMissingField, "id"},
		{"JSON null entrypoint", jsonPath, goodManifestJSON.with("entrypoint=null").json(), ErrMissingField, "entrypoint"},
		{"JSON empty entrypoint", jsonPath, goodManifestJSON.with(`entrypoint=""`).json(), ErrInvalidField, "entrypoint"},

		// Wrong types.
		{"list version", ymlPath, goodManifest.with("version=[1]").yaml(), ErrInvalidField, "version"},
		{"mapping id", ymlPath, goodManifest.with("id={a: b}").yaml(), ErrInvalidField, "id"},
		{"block list description", ymlPath, goodManifest.with("description=\n  - a").yaml(), ErrInvalidField, "description"},
		{"string schema_version", ymlPath, goodManifest.with(`schema_version="1"`).yaml(), ErrInvalidField, "schema_version"},
		{"fractional schema_version", ymlPath, goodManifest.with("schema_version=1.5").yaml(), ErrInvalidField, "schema_version"},
		{"huge schema_version", ymlPath, goodManifest.with("schema_version=99999999999999999999").yaml(), ErrInvalidField, "schema_version"},
		{"scalar bundle", ymlPath, goodManifest.with("bundle=https://x").yaml(), ErrInvalidField, "bundle"},
		{"list compatibility", ymlPath, goodManifest.with("compatibility=[linux]").yaml(), ErrInvalidField, "compatibility"},
		{"scalar os", ymlPath, goodManifest.with("compatibility={os: linux}").yaml(), ErrInvalidField, "compatibility.os"},
		{"mapping models", ymlPath, goodManifest.with("models={id: m}").yaml(), ErrInvalidField, "models"},
		{"scalar model", ymlPath, goodManifest.with("models=[m]").yaml(), ErrInvalidField, "models[0]"},
		{"null model", ymlPath, goodManifest.with("models=[~]").yaml(), ErrInvalidField, "models[0]"},
		{"model default yes", ymlPath, goodManifest.with("models=[{default: yes}]").yaml(), ErrInvalidField, "models[0].default"},
		{"model default string", ymlPath, goodManifest.with(`models=[{default: "true"}]`).yaml(), ErrInvalidField, "models[0].default"},
		{"model size float", ymlPath, goodManifest.with("models=[{expected_size_bytes: 1.5}]").yaml(), ErrInvalidField, "models[0].expected_size_bytes"},
		{"model files mapping", ymlPath, goodManifest.with("models=[{files: {a: b}}]").yaml(), ErrInvalidField, "models[0].files"},
		{"model file list", ymlPath, goodManifest.with("models=[{files: [[a]]}]").yaml(), ErrInvalidField, "models[0].files[0]"},
		{"variant size string", ymlPath, goodManifest.with("variants=[{size_bytes: big}]").yaml(), ErrInvalidField, "variants[0].size_bytes"},
		{"bundle size string", ymlPath, goodManifest.with("bundle={url: u, sha256: s, size_bytes: '12'}").yaml(), ErrInvalidField, "bundle.size_bytes"},
		{"JSON numeric version", jsonPath, goodManifestJSON.with("version=1.0").json(), ErrInvalidField, "version"},
		{"JSON numeric id", jsonPath, goodManifestJSON.with("id=7").json(), ErrInvalidField, "id"},
		{"JSON boolean kind", jsonPath, goodManifestJSON.with("kind=true").json(), ErrInvalidField, "kind"},
		{"JSON string size", jsonPath, goodManifestJSON.with(`bundle={"url": "u", "sha256": "s", "size_bytes": "1"}`).json(), ErrInvalidField, "bundle.size_bytes"},
		{"JSON float size", jsonPath, goodManifestJSON.with(`bundle={"url": "u", "sha256": "s", "size_bytes": 1.0}`).json(), ErrInvalidField, "bundle.size_bytes"},
		{"JSON numeric extension", jsonPath, goodManifestJSON.with(`assets=[{"type_id": "t", "label": "l", "extensions": [1]}]`).json(), ErrInvalidField, "assets[0].extensions[0]"},

		// Nested required fields.
		{"bundle without url", ymlPath, goodManifest.with("bundle={sha256: s}").yaml(), ErrMissingField, "bundle.url"},
		{"bundle without sha256", ymlPath, goodManifest.with("bundle={url: u}").yaml(), ErrMissingField, "bundle.sha256"},
		{"bundle with empty url", ymlPath, goodManifest.with("bundle={url: '', sha256: s}").yaml(), ErrInvalidField, "bundle.url"},
		{"empty bundle", ymlPath, goodManifest.with("bundle={}").yaml(), ErrMissingField, "bundle.url"},
		{"asset without type_id", ymlPath, goodManifest.with("assets=[{label: L, extensions: [x]}]").yaml(), ErrMissingField, "assets[0].type_id"},
		{"asset without label", ymlPath, goodManifest.with("assets=[{type_id: t, extensions: [x]}]").yaml(), ErrMissingField, "assets[0].label"},
		{"asset without extensions", ymlPath, goodManifest.with("assets=[{type_id: t, label: L}]").yaml(), ErrMissingField, "assets[0].extensions"},
		{"second asset without label", ymlPath, goodManifest.with("assets=[{type_id: t, label: L, extensions: []}, {type_id: u, label: ~, extensions: []}]").yaml(), ErrMissingField, "assets[1].label"},
		{"asset with empty type_id", ymlPath, goodManifest.with("assets=[{type_id: '', label: L, extensions: [x]}]").yaml(), ErrInvalidField, "assets[0].type_id"},
		{"asset with scalar extensions", ymlPath, goodManifest.with("assets=[{type_id: t, label: L, extensions: slint}]").yaml(), ErrInvalidField, "assets[0].extensions"},
		{"asset with a null extension", ymlPath, goodManifest.with("assets=[{type_id: t, label: L, extensions: [a, ~]}]").yaml(), ErrInvalidField, "assets[0].extensions[1]"},
		{"JSON asset without label", jsonPath, goodManifestJSON.with(`assets=[{"type_id": "t", "extensions": []}]`).json(), ErrMissingField, "assets[0].label"},

		// Kinds.
		{"kind python", ymlPath, goodManifest.with("kind=python").yaml(), ErrInvalidField, "kind"},
		{"kind case", ymlPath, goodManifest.with("kind=Native").yaml(), ErrInvalidField, "kind"},
		{"node_kind core", ymlPath, goodManifest.with("node_kind=core:gain").yaml(), ErrInvalidField, "node_kind"},
		{"node_kind space", ymlPath, goodManifest.with("node_kind=a b").yaml(), ErrInvalidField, "node_kind"},
		{"node_kind double prefix", ymlPath, goodManifest.with("node_kind=plugin::native::plugin::native::x").yaml(), ErrInvalidField, "node_kind"},
		{"node_kind namespace only", ymlPath, goodManifest.with(`node_kind="plugin::native::"`).yaml(), ErrInvalidField, "node_kind"},
		{"node_kind tab", ymlPath, goodManifest.with(`node_kind="a\tb"`).yaml(), ErrInvalidField, "node_kind"},

		// Entrypoints.
		{"entrypoint NUL", ymlPath, goodManifest.with(`entrypoint="lib\0gain.so"`).yaml(), ErrInvalidField, "entrypoint"},
		{"entrypoint dot", ymlPath, goodManifest.with("entrypoint=.").yaml(), ErrInvalidField, "entrypoint"},
		{"entrypoint down and back", ymlPath, goodManifest.with("entrypoint=lib/..").yaml(), ErrInvalidField, "entrypoint"},
		{"entrypoint up", ymlPath, goodManifest.with("entrypoint=../libgain.so").yaml(), ErrEscapes, "entrypoint"},
		{"entrypoint dot dot", ymlPath, goodManifest.with("entrypoint=..").yaml(), ErrEscapes, "entrypoint"},
		{"entrypoint down and up twice", ymlPath, goodManifest.with("entrypoint=a/../../libgain.so").yaml(), ErrEscapes, "entrypoint"},
		{"entrypoint absolute", ymlPath, goodManifest.with("entrypoint=/libgain.so").yaml(), ErrEscapes, "entrypoint"},
		{"entrypoint absolute in the root", ymlPath, goodManifest.with("entrypoint=/r/.plugins/native/gain/libgain.so").yaml(), ErrEscapes, "entrypoint"},
		{"JSON entrypoint up", jsonPath, goodManifestJSON.with(`entrypoint="../../x.so"`).json(), ErrEscapes, "entrypoint"},

		// Which problem comes first: a missing field before an escape.
		{"escape and missing version", ymlPath, goodManifest.with("entrypoint=../x.so", "-version").yaml(), ErrMissingField, "version"},

		// Syntax.
		{"empty", ymlPath, []byte(""), ErrSyntax, ""},
		{"blank", ymlPath, []byte("\n \n"), ErrSyntax, ""},
		{"comments only", ymlPath, []byte("# nothing\n"), ErrSyntax, ""},
		{"document marker only", ymlPath, []byte("---\n"), ErrSyntax, ""},
		{"list", ymlPath, []byte("- id: gain\n"), ErrSyntax, ""},
		{"scalar", ymlPath, []byte("gain\n"), ErrSyntax, ""},
		{"unclosed flow list", ymlPath, goodManifest.with("x=[a, b").yaml(), ErrSyntax, ""},
		{"unclosed quote", ymlPath, goodManifest.with(`description="abc`).yaml(), ErrSyntax, ""},
		{"bad indentation", ymlPath, []byte("id: gain\n  version: 1\n node_kind: x\n"), ErrSyntax, ""},
		{"tab indentation", ymlPath, []byte("bundle:\n\turl: x\n"), ErrSyntax, ""},
		{"two documents", ymlPath, []byte(string(goodManifest.yaml()) + "---\n" + string(goodManifest.yaml())), ErrSyntax, ""},
		{"empty second document", ymlPath, []byte(string(goodManifest.yaml()) + "---\n"), ErrSyntax, ""},
		{"unknown anchor", ymlPath, goodManifest.with("name=*nothing").yaml(), ErrSyntax, ""},
		{"id twice", ymlPath, []byte("id: other\n" + string(goodManifest.yaml())), ErrSyntax, "id"},
		{"nested field twice", ymlPath, goodManifest.with("bundle={url: a, url: b, sha256: s}").yaml(), ErrSyntax, "bundle.url"},
		{"control character", ymlPath, goodManifest.with("description=a\x01b").yaml(), ErrSyntax, ""},
		{"UTF-16", ymlPath, []byte("\xff\xfei\x00d\x00:\x00 \x00x\x00\n\x00"), ErrSyntax, ""},
		{"JSON in a .json file must be JSON", jsonPath, goodManifest.yaml(), ErrSyntax, ""},
		{"JSON array", jsonPath, []byte("[]"), ErrSyntax, ""},
		{"JSON trailing data", jsonPath, append(goodManifestJSON.json(), "]"...), ErrSyntax, ""},
		{"JSON id twice", jsonPath, []byte(`{"id": "x", ` + string(goodManifestJSON.json()[1:])), ErrSyntax, "id"},
		{"too large", ymlPath, append(goodManifest.yaml(), strings.Repeat("#", MaxSize)...), ErrTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(tc.path, tc.data)
			if m != nil {
				t.Errorf("got a manifest %+v with an error", *m)
			}
			checkErr(t, err, tc.path, tc.sentinel, tc.field)
		})
	}
}

// A YAML file is parsed as YAML whatever else its name says; only ".json" selects
// JSON.
func TestParseManifestFormatByName(t *testing.T) {
	for _, path := range []string{"plugin.yml", "plugin.yaml", "gain.plugin.yml", "manifest.JSON", "manifest.json.yml", ""} {
		if _, err := ParseManifest(path, goodManifest.yaml()); err != nil {
			t.Errorf("ParseManifest(%q, YAML) = %v", path, err)
		}
	}
	// JSON is YAML too, but .json files get JSON's stricter types.
	if _, err := ParseManifest("manifest.json", goodManifestJSON.with("version=1.0").json()); err == nil {
		t.Error("a numeric version in a .json file was accepted")
	}
	m, err := ParseManifest("manifest.yml", goodManifestJSON.with("version=1.0").json())
	if err != nil || m.Version != "1.0" {
		t.Errorf("JSON text in a .yml file: %+v, %v", m, err)
	}
}
