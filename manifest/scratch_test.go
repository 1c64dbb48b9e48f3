package manifest

import "testing"

func TestScratch(t *testing.T) {
	for _, s := range []string{
		"", "{", `{"a": tru}`, `{"a" 1}`, "{\n \"a\": 1,\n \"b\": [1,\n 2,,]}", `{"a":1} x`, `{"a":1}{}`, `[1]`,
		"{\"plugin_id\":\"a\",\n\"plugin_id\":\"b\"}", `{"version": 1.0}`, "{\n  \"installed_at_ms\": \"12\"}",
		`{"plugin_id":"a","version":"1","node_kind":"a b","kind":"native","entrypoint":"x","installed_at_ms":1}`,
		`{"plugin_id":"a/b","version":"1","node_kind":"ab","kind":"native","entrypoint":"x","installed_at_ms":1}`,
		`{"plugin_id":"a","version":"1","node_kind":"ab","kind":"native","entrypoint":"x","installed_at_ms":-4}`,
		`{"plugin_id":"a","node_kind":"ab","kind":"native","entrypoint":"x","installed_at_ms":-4}`,
		"{\"a\": \"\xff\"}", "\n\n  {\"a\": \"\x00\"}",
	} {
		_, err := ParseRecord("/r/.plugins/active/slint.json", []byte(s))
		t.Logf("%q\n    -> %v", s, err)
	}
	for _, s := range []string{
		"", "# only\n", "- a\n", "x\n", "a: [\n", "a: b\n---\nc: d\n", "id: \"x\n", "id: x\nid: y\n",
		"id: [1]\n", "id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: ../x.so\n",
		"id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: /x.so\n",
		"id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: .\n",
		"id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: x\nbundle: {url: u}\n",
		"id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: x\nassets: [{type_id: t, label: l, extensions: [a, ~]}]\n",
		"id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: x\nmodels: [{default: yes}]\n",
		"id: x\nversion: 1.0\nnode_kind: x\nkind: native\nentrypoint: x\nschema_version: 1.5\n",
		"a: &a [*a]\n", "a: *b\n", "\tid: x\n",
	} {
		_, err := ParseManifest("/r/.plugins/native/x/plugin.yml", []byte(s))
		t.Logf("%q\n    -> %v", s, err)
	}
}
