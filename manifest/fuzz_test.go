package manifest

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// The seed corpora are in testdata/fuzz/<target>/: the samples, valid documents and
// hostile ones (alias bombs, deep nesting, invalid UTF-8, NUL bytes).

func FuzzParseRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "/fuzz/active/x.json"
		r, err := ParseRecord(path, data)
		if err != nil {
			checkFuzzErr(t, path, r != nil, err)
			return
		}
		if !json.Valid(data) {
			t.Errorf("accepted a record that is not valid JSON")
		}
		if err := SafeComponent(r.PluginID); err != nil {
			t.Errorf("accepted plugin_id: %v", err)
		}
		if err := SafeComponent(r.Version); err != nil {
			t.Errorf("accepted version: %v", err)
		}
		assertKinds(t, r.NodeKind, r.Kind)
		if r.Entrypoint == "" || strings.IndexByte(r.Entrypoint, 0) >= 0 {
			t.Errorf("accepted entrypoint %q", r.Entrypoint)
		}
		if r.InstalledAtMs < 0 {
			t.Errorf("accepted installed_at_ms %d", r.InstalledAtMs)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, path := range []string{"/fuzz/native/x/plugin.yml", "/fuzz/bundles/x/1/manifest.json"} {
			m, err := ParseManifest(path, data)
			if err != nil {
				checkFuzzErr(t, path, m != nil, err)
				continue
			}
			if strings.HasSuffix(path, ".json") && !json.Valid(data) {
				t.Errorf("accepted a manifest.json that is not valid JSON")
			}
			if m.ID == "" || m.Version == "" {
				t.Errorf("accepted id %q, version %q", m.ID, m.Version)
			}
			assertKinds(t, m.NodeKind, m.Kind)
			clean := filepath.Clean(m.Entrypoint)
			if m.Entrypoint == "" || strings.IndexByte(m.Entrypoint, 0) >= 0 || !filepath.IsLocal(clean) || clean == "." {
				t.Errorf("accepted entrypoint %q", m.Entrypoint)
			}
			if b := m.Bundle; b != nil && (b.URL == "" || b.SHA256 == "") {
				t.Errorf("accepted bundle %+v", *b)
			}
			for _, a := range m.Assets {
				if a.TypeID == "" || a.Label == "" || a.Extensions == nil {
					t.Errorf("accepted asset %+v", a)
				}
			}
		}
	})
}

// checkFuzzErr asserts that a failure is a well-formed *Error.
func checkFuzzErr(t *testing.T, path string, gotResult bool, err error) {
	t.Helper()
	if gotResult {
		t.Errorf("a result came with error %v", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Err == nil || e.Path != path {
		t.Errorf("malformed error %+v", *e)
	}
	msg := e.Error()
	if strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, path+": ") {
		t.Errorf("message %q", msg)
	}
	sentinels := []error{ErrTooLarge, ErrSyntax, ErrMissingField, ErrInvalidField, ErrEscapes}
	found := false
	for _, s := range sentinels {
		found = found || errors.Is(err, s)
	}
	if !found {
		t.Errorf("error %v wraps no sentinel of the parser", err)
	}
}

// assertKinds asserts the kind rules every accepted document meets.
func assertKinds(t *testing.T, nodeKind, kind string) {
	t.Helper()
	if _, err := NormalizeKind(nodeKind); err != nil {
		t.Errorf("accepted node_kind: %v", err)
	}
	if kind != "native" && kind != "wasm" {
		t.Errorf("accepted kind %q", kind)
	}
}
