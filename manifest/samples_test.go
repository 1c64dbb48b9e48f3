package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// The samples in testdata are real manifests as StreamKit publishes them (copied
// from the shared streamkit-samples folder): every one must parse and keep every
// field it carries.
func TestSamples(t *testing.T) {
	tests := []struct {
		file string
		want Manifest
	}{
		{"slint.plugin.yml", Manifest{
			SchemaVersion: 1,
			ID:            "slint",
			Name:          "Slint",
			Version:       "0.3.0",
			NodeKind:      "slint",
			Kind:          "native",
			Entrypoint:    "libslint.so",
			Description:   "Slint UI rendering as a video source — render .slint files to RGBA8 frames at configurable resolution and frame rate",
			License:       "MPL-2.0",
			Assets: []Asset{{
				TypeID: "slint", Label: "Slint Files", Extensions: []string{"slint"},
				MaxSizeBytes: 1048576, ContentType: "text", IconHint: "code",
				NodeParam: "slint_file", SystemDir: "samples/slint/system",
			}},
		}},
		{"slint-0.5.0.manifest.json", Manifest{
			SchemaVersion: 1,
			ID:            "slint",
			Name:          "Slint",
			Version:       "0.5.0",
			NodeKind:      "slint",
			Kind:          "native",
			Description:   "Slint UI rendering as a video source \u2014 render .slint files to RGBA8 frames at configurable resolution and frame rate",
			License:       "MPL-2.0",
			Entrypoint:    "libslint.so",
			Bundle: &Bundle{
				URL:       "https://github.com/streamer45/streamkit/releases/download/plugin-slint-v0.5.0/slint-0.5.0-bundle.tar.zst",
				SHA256:    "745a44bca16bf66eac9738c7ca598f676b116726ae4194c84e47f829d4eb0216",
				SizeBytes: 9606193,
			},
			Models: []Model{},
			Assets: []Asset{{
				TypeID: "slint", Label: "Slint Files", Extensions: []string{"slint"},
				MaxSizeBytes: 1048576, ContentType: "text", IconHint: "code",
				NodeParam: "slint_file", SystemDir: "samples/slint/system",
			}},
		}},
		{"vad-0.4.0.manifest.json", Manifest{
			SchemaVersion: 1,
			ID:            "vad",
			Name:          "VAD",
			Version:       "0.4.0",
			NodeKind:      "vad",
			Kind:          "native",
			Description:   "Voice activity detection",
			License:       "MPL-2.0",
			Entrypoint:    "libvad.so",
			Bundle: &Bundle{
				URL:       "https://github.com/streamer45/streamkit/releases/download/plugin-vad-v0.4.0/vad-0.4.0-bundle.tar.zst",
				SHA256:    "5122e4a24598ad761b4dc385e7ebc2343cb7249f7714546a0d0a56d69ab9d957",
				SizeBytes: 7629384,
			},
			Variants: []Variant{{
				Accelerator: "cuda",
				URL:         "https://github.com/streamer45/streamkit/releases/download/plugin-vad-v0.4.0/vad-0.4.0-cuda-bundle.tar.zst",
				SHA256:      "c5c6143ca3129c642721a11dc8cee41f3dd800796da0eb6e2eac6c85b95f4d43",
				SizeBytes:   185134357,
			}},
			Models: []Model{{
				ID: "ten-vad", Name: "ten-vad", Default: true, Source: "huggingface",
				RepoID: "streamkit/vad-models", Revision: "main", Files: []string{"ten-vad.onnx"},
				ExpectedSizeBytes: 332211, License: "LicenseRef-ten-vad",
				LicenseURL: "https://github.com/TEN-framework/ten-vad",
				SHA256:     "718cb7eef47e3cf5ddbe7e967a7503f46b8b469c0706872f494dfa921b486206",
			}},
		}},
		{"whisper.plugin.yml", Manifest{
			SchemaVersion: 1,
			ID:            "whisper",
			Name:          "Whisper",
			Version:       "0.1.1",
			NodeKind:      "whisper",
			Kind:          "native",
			Entrypoint:    "libwhisper.so",
			Description:   "Streaming speech-to-text using whisper.cpp",
			License:       "MPL-2.0",
			Models: []Model{
				{
					ID: "whisper-tiny-en-q5_1", Name: "Whisper tiny.en (q5_1)", Default: true,
					Source: "huggingface", RepoID: "streamkit/whisper-models", Revision: "main",
					Files: []string{"ggml-tiny.en-q5_1.bin"}, ExpectedSizeBytes: 32166155,
					License: "MIT", LicenseURL: "https://github.com/openai/whisper/blob/main/LICENSE",
					SHA256: "c77c5766f1cef09b6b7d47f21b546cbddd4157886b3b5d6d4f709e91e66c7c2b",
				},
				{
					ID: "whisper-base-en-q5_1", Name: "Whisper base.en (q5_1)", Default: false,
					Source: "huggingface", RepoID: "streamkit/whisper-models", Revision: "main",
					Files: []string{"ggml-base.en-q5_1.bin"}, ExpectedSizeBytes: 59721011,
					License: "MIT", LicenseURL: "https://github.com/openai/whisper/blob/main/LICENSE",
					SHA256: "4baf70dd0d7c4247ba2b81fafd9c01005ac77c2f9ef064e00dcf195d0e2fdd2f",
				},
				{
					ID: "silero-vad", Name: "Silero VAD (v6.2)", Default: true,
					Source: "huggingface", RepoID: "streamkit/whisper-models", Revision: "main",
					Files: []string{"silero_vad.onnx"}, ExpectedSizeBytes: 2327524,
					License: "MIT", LicenseURL: "https://github.com/snakers4/silero-vad/blob/master/LICENSE",
					SHA256: "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
				},
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			m, err := ReadManifest(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*m, tc.want) {
				t.Errorf("ReadManifest(%s):\n got %+v\nwant %+v", path, *m, tc.want)
			}
		})
	}
}

// Every field of every sample survives: the sample's own fields, unmarshalled
// generically, equal those of the parsed Manifest marshalled back with its struct
// tags, except the fields Manifest deliberately drops (unknown ones) and empty
// lists, which omitempty leaves out. This also checks that the json and yaml tags
// match the names the parser reads.
func TestSamplesRoundTrip(t *testing.T) {
	ignored := map[string]bool{"artifact": true}
	files, err := filepath.Glob("testdata/*.*")
	if err != nil || len(files) != 4 {
		t.Fatalf("samples: %v, %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseManifest(path, data)
			if err != nil {
				t.Fatal(err)
			}
			var orig, back map[string]any
			if filepath.Ext(path) == ".json" {
				out, _ := json.Marshal(m)
				if err := json.Unmarshal(data, &orig); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(out, &back); err != nil {
					t.Fatal(err)
				}
			} else {
				out, _ := yaml.Marshal(m)
				if err := yaml.Unmarshal(data, &orig); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal(out, &back); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range orig {
				if l, ok := v.([]any); ok && len(l) == 0 {
					delete(orig, k)
				}
				if ignored[k] {
					delete(orig, k)
				}
			}
			if _, ok := orig["schema_version"]; !ok {
				delete(back, "schema_version") // the default, added by the parser
			}
			if !reflect.DeepEqual(orig, back) {
				t.Errorf("fields differ:\n file %v\n back %v", orig, back)
			}
		})
	}
}
