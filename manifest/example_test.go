package manifest_test

import (
	"errors"
	"fmt"

	"github.com/plugwatch/plugwatch/manifest"
)

func ExampleReadManifest() {
	m, err := manifest.ReadManifest("testdata/whisper.plugin.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	kind, err := manifest.NormalizeKind(m.NodeKind)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s provides plugin::native::%s from %s\n", m.ID, m.Version, kind, m.Entrypoint)
	for _, model := range m.Models {
		fmt.Printf("model %s (%d bytes, default %t)\n", model.ID, model.ExpectedSizeBytes, model.Default)
	}
	// Output:
	// whisper 0.1.1 provides plugin::native::whisper from libwhisper.so
	// model whisper-tiny-en-q5_1 (32166155 bytes, default true)
	// model whisper-base-en-q5_1 (59721011 bytes, default false)
	// model silero-vad (2327524 bytes, default true)
}

// A failure is an *Error: match its cause with errors.Is, read its file and field
// with errors.As.
func ExampleError() {
	_, err := manifest.ParseRecord("active/gain.json", []byte(`{"plugin_id": "gain", "node_kind": "gain"}`))
	var e *manifest.Error
	if errors.Is(err, manifest.ErrMissingField) && errors.As(err, &e) {
		fmt.Println("missing:", e.Field)
	}
	fmt.Println(err)

	_, err = manifest.ParseManifest("native/gain/plugin.yml", []byte("id: gain\nversion: 1.0\nnode_kind: gain\nkind: native\nentrypoint: ../libgain.so\n"))
	fmt.Println(errors.Is(err, manifest.ErrEscapes))
	// Output:
	// missing: version
	// active/gain.json: field "version" is missing; add it, or reinstall the plugin
	// true
}
