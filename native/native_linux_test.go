//go:build linux && (amd64 || arm64)

package native_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
)

// gain is the well-formed test plugin of the given API version.
func gain(abi int) plugintest.Spec {
	return plugintest.Spec{Kind: "gain", ABI: abi, Description: "Adjusts volume"}
}

// wantError checks that err is a *native.Error matching sentinel whose detail contains
// detail.
func wantError(t *testing.T, err error, sentinel error, detail string) {
	t.Helper()
	t.Log(err)
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	var e *native.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T, want *native.Error", err)
	}
	if !strings.Contains(e.Detail, detail) {
		t.Errorf("detail %q does not contain %q", e.Detail, detail)
	}
}

func TestProbeVersions(t *testing.T) {
	for _, v := range []int{1, 2, 3, 5, 6, 8, 9} {
		md, err := native.Probe(plugintest.Build(t, gain(v)), native.DefaultRange())
		if err != nil {
			t.Fatalf("ABI %d: %v", v, err)
		}
		if want := wantMetadata(uint32(v)); !reflect.DeepEqual(md, want) {
			t.Errorf("ABI %d metadata:\n%+v\nwant\n%+v", v, md, want)
		}
	}
}

func TestProbeDefaults(t *testing.T) {
	// No description: "". The kind is reported as it is, not normalised.
	md, err := native.Probe(plugintest.Build(t, plugintest.Spec{Kind: "plugin::native::Gain X"}), native.DefaultRange())
	if err != nil {
		t.Fatal(err)
	}
	if md.Kind != "plugin::native::Gain X" || md.Description != "" || md.APIVersion != 6 {
		t.Errorf("got kind %q, description %q, version %d", md.Kind, md.Description, md.APIVersion)
	}
}

func TestOpen(t *testing.T) {
	path := plugintest.Build(t, gain(6))
	l, err := native.Open(path, native.DefaultRange())
	if err != nil {
		t.Fatal(err)
	}
	if l.Path() != path {
		t.Errorf("Path() = %q, want %q", l.Path(), path)
	}
	if l.API() == 0 {
		t.Error("API() = 0 on an open library")
	}
	md := l.Metadata()
	md.Inputs[0].Name = "changed"
	md.Inputs[0].Types[0].AudioFormat.SampleRate = 1
	md.Categories[0] = "changed"
	if !reflect.DeepEqual(l.Metadata(), wantMetadata(6)) {
		t.Error("changing a copy of the metadata changed the library's")
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.API() != 0 {
		t.Error("API() != 0 after Close")
	}
	if !reflect.DeepEqual(l.Metadata(), wantMetadata(6)) {
		t.Error("metadata changed by Close")
	}
	wantError(t, l.Close(), native.ErrClosed, "")
}

// A name without a slash is the file in the working directory, not a search of the
// library path.
func TestOpenRelative(t *testing.T) {
	dir := t.TempDir()
	plugintest.Install(t, gain(6), filepath.Join(dir, "libgain.so"))
	t.Chdir(dir)
	md, err := native.Probe("libgain.so", native.DefaultRange())
	if err != nil {
		t.Fatal(err)
	}
	if md.Kind != "gain" {
		t.Errorf("kind %q", md.Kind)
	}
}

func TestABIVersion(t *testing.T) {
	_, err := native.Probe(plugintest.Build(t, gain(12)), native.DefaultRange())
	wantError(t, err, native.ErrABIVersion, "reports API version 12; accepted range is 1-9")

	_, err = native.Probe(plugintest.Build(t, gain(2)), native.Range{Min: 6, Max: 9})
	wantError(t, err, native.ErrABIVersion, "reports API version 2; accepted range is 6-9")

	// A range wider than 1-9 still rejects version 12.
	_, err = native.Probe(plugintest.Build(t, gain(12)), native.Range{Min: 1, Max: 20})
	wantError(t, err, native.ErrABIVersion, "reports API version 12; accepted range is 1-9")
}

func TestInvalidKind(t *testing.T) {
	_, err := native.Probe(plugintest.Build(t, plugintest.Spec{NullKind: true}), native.DefaultRange())
	wantError(t, err, native.ErrInvalidKind, "kind is NULL")

	// Never truncated.
	_, err = native.Probe(plugintest.Build(t, plugintest.Spec{Kind: strings.Repeat("k", 64<<10+1)}), native.DefaultRange())
	wantError(t, err, native.ErrInvalidKind, "kind is over 64 KiB")
}

func TestStringLimits(t *testing.T) {
	long := strings.Repeat("d", 64<<10)
	md, err := native.Probe(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: long}), native.DefaultRange())
	if err != nil || md.Description != long {
		t.Errorf("a 64 KiB description: %d bytes, %v", len(md.Description), err)
	}
	_, err = native.Probe(plugintest.Build(t, plugintest.Spec{Kind: "gain", Description: long + "d"}), native.DefaultRange())
	wantError(t, err, native.ErrMetadata, "description is over 64 KiB")
}

func TestNoEntry(t *testing.T) {
	path := plugintest.Build(t, plugintest.Spec{Kind: "gain", NoSymbol: true})
	_, err := native.Probe(path, native.DefaultRange())
	wantError(t, err, native.ErrNoEntry, "")
	if !strings.Contains(err.Error(), "streamkit_native_plugin_api") || !strings.Contains(err.Error(), path) {
		t.Errorf("%v does not name the symbol and the path", err)
	}
}

func TestLoaderRefuses(t *testing.T) {
	_, err := native.Probe(plugintest.Build(t, plugintest.Spec{Kind: "gain", Bad: "unresolved_symbol"}), native.DefaultRange())
	wantError(t, err, native.ErrLoader, "sk_symbol_nobody_defines")
}

func TestBadMetadata(t *testing.T) {
	details := map[string]string{
		"null_api":            "streamkit_native_plugin_api returned NULL",
		"null_metadata":       "get_metadata returned NULL",
		"too_many_pins":       "inputs: count 1025 is over 1024",
		"null_pin_name":       "input pin 1: name is NULL",
		"raw_audio_no_format": `input pin 0 "in": raw_audio without audio_format`,
		"custom_no_type_id":   `input pin 1 "ctl": custom without custom_type_id`,
		"huge_schema":         "param_schema is over 1 MiB",
		"unknown_type":        `output pin 1 "text": unknown packet type 42`,
	}
	for _, bad := range plugintest.BadVariants() {
		detail, ok := details[bad]
		if !ok {
			continue // not a metadata variant
		}
		for _, abi := range []int{2, 6} {
			_, err := native.Probe(plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: abi, Bad: bad}), native.DefaultRange())
			wantError(t, err, native.ErrMetadata, detail)
		}
	}
}

func TestIncomplete(t *testing.T) {
	s := gain(6)
	full, err := os.ReadFile(plugintest.Build(t, s))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []int{0, 3, 10, 63, 64, 100, len(full) / 2, len(full) - 1} {
		path := plugintest.Truncated(t, s, filepath.Join(dir, "libgain.so"), n)
		wantError(t, native.Check(path), native.ErrIncomplete, "")
		_, err := native.Probe(path, native.DefaultRange())
		wantError(t, err, native.ErrIncomplete, "")
	}
}

func TestNotLoadable(t *testing.T) {
	dir := t.TempDir()
	lib, err := os.ReadFile(plugintest.Build(t, gain(6)))
	if err != nil {
		t.Fatal(err)
	}
	patched := func(name string, off int, b ...byte) string {
		data := append([]byte(nil), lib...)
		copy(data[off:], b)
		return writeFile(t, filepath.Join(dir, name), data)
	}
	text := writeFile(t, filepath.Join(dir, "libtext.so"), []byte("this is not a library\n"))
	for path, detail := range map[string]string{
		plugintest.ForeignArch(t, gain(6), filepath.Join(dir, "libforeign.so")): "ELF machine",
		text:                            "no ELF magic",
		patched("lib32.so", 4, 1):       "ELFCLASS32",
		patched("libbig.so", 5, 2):      "ELFDATA2MSB",
		patched("libexec.so", 16, 2, 0): "ET_EXEC",
		// A 5-byte prefix is enough to tell a 32-bit file.
		writeFile(t, filepath.Join(dir, "libtiny32.so"), []byte("\x7fELF\x01")): "ELFCLASS32",
		dir: "not a regular file",
	} {
		wantError(t, native.Check(path), native.ErrNotLoadable, detail)
		_, err := native.Probe(path, native.DefaultRange())
		wantError(t, err, native.ErrNotLoadable, detail)
	}
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	if err := native.Check(plugintest.Build(t, gain(6))); err != nil {
		t.Errorf("Check of a library: %v", err)
	}
	err := native.Check(filepath.Join(t.TempDir(), "missing.so"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check of a missing file: %v", err)
	}
}

// Libraries may be probed from many goroutines at once.
func TestProbeConcurrent(t *testing.T) {
	paths := []string{plugintest.Build(t, gain(2)), plugintest.Build(t, gain(9))}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := native.Probe(paths[i%2], native.DefaultRange()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkProbe(b *testing.B) {
	path := plugintest.Build(b, gain(6))
	for b.Loop() {
		if _, err := native.Probe(path, native.DefaultRange()); err != nil {
			b.Fatal(err)
		}
	}
}
