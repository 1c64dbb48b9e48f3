package plugintest

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

const entry = "streamkit_native_plugin_api"

func machine() elf.Machine {
	if runtime.GOARCH == "arm64" {
		return elf.EM_AARCH64
	}
	return elf.EM_X86_64
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func openELF(t *testing.T, path string) *elf.File {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// exports returns the names a library defines in its dynamic symbol table.
func exports(t *testing.T, path string) []string {
	t.Helper()
	syms, err := openELF(t, path).DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF {
			names = append(names, s.Name)
		}
	}
	return names
}

func TestBuild(t *testing.T) {
	p := Build(t, Spec{Kind: "gain"})
	f := openELF(t, p)
	if f.Type != elf.ET_DYN {
		t.Errorf("type %v, want ET_DYN", f.Type)
	}
	if (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && f.Machine != machine() {
		t.Errorf("machine %v, want %v", f.Machine, machine())
	}
	if !slices.Contains(exports(t, p), entry) {
		t.Errorf("%s does not export %s", p, entry)
	}
	if q := Build(t, Spec{Kind: "gain", ABI: 6}); q != p {
		t.Errorf("ABI 0 and 6 built twice: %s, %s", p, q)
	}
	if q := Build(t, Spec{Kind: "gain", Description: "v2"}); q == p {
		t.Errorf("another description gave the same library %s", q)
	}
	if slices.Contains(exports(t, Build(t, Spec{Kind: "gain", NoSymbol: true})), entry) {
		t.Errorf("NoSymbol library exports %s", entry)
	}
}

// Every variant compiles; none is opened here (the crash variants would kill the test).
func TestVariantsCompile(t *testing.T) {
	var specs []Spec
	for abi := 1; abi <= 9; abi++ {
		specs = append(specs, Spec{Kind: "gain", ABI: abi})
	}
	specs = append(specs, Spec{Kind: "gain", ABI: 12}, Spec{NullKind: true},
		Spec{Kind: `odd "kind"\ ??= é`, Description: "tab\tnewline\n"})
	for _, bad := range BadVariants() {
		specs = append(specs, Spec{Kind: "gain", Bad: bad}, Spec{Kind: "gain", ABI: 2, Bad: bad})
	}
	for _, crash := range CrashVariants() {
		specs = append(specs, Spec{Kind: "gain", Crash: crash})
	}
	for _, s := range specs {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(Build(t, s)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUnknownVariant(t *testing.T) {
	for _, s := range []Spec{{Kind: "gain", Bad: "nope"}, {Kind: "gain", Crash: "nope"}} {
		_, err := buildCached(s)
		if err == nil || !strings.Contains(err.Error(), `variant "nope"`) {
			t.Errorf("%+v: err = %v, want unknown variant", s, err)
		}
	}
}

func TestNoCompiler(t *testing.T) {
	t.Setenv("CC", "")
	t.Setenv("PATH", t.TempDir())
	_, err := compiler()
	const want = "plugintest: no C compiler: set CC or install gcc"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestInstall(t *testing.T) {
	s := Spec{Kind: "gain"}
	dst := filepath.Join(t.TempDir(), "native", "gain", "libgain.so")
	if got := Install(t, s, dst); got != dst {
		t.Errorf("Install returned %s, want %s", got, dst)
	}
	got := readFile(t, dst)
	if !bytes.Equal(got, readFile(t, Build(t, s))) {
		t.Error("installed file differs from the build")
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(dst))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the library", len(entries))
	}

	Install(t, Spec{Kind: "gain", Description: "v2"}, dst)
	if bytes.Equal(got, readFile(t, dst)) {
		t.Error("a second Install did not replace the file")
	}
}

func TestTruncated(t *testing.T) {
	s := Spec{Kind: "gain"}
	full := readFile(t, Build(t, s))
	for _, n := range []int{0, 10, len(full) / 2} {
		dst := Truncated(t, s, filepath.Join(t.TempDir(), "lib.so"), n)
		if got := readFile(t, dst); !bytes.Equal(got, full[:n]) {
			t.Errorf("Truncated(%d) wrote %d bytes, not the library's prefix", n, len(got))
		}
	}
}

func TestForeignArch(t *testing.T) {
	dst := ForeignArch(t, Spec{Kind: "gain"}, filepath.Join(t.TempDir(), "lib.so"))
	f := openELF(t, dst)
	if f.Machine == machine() || (f.Machine != elf.EM_X86_64 && f.Machine != elf.EM_AARCH64) {
		t.Errorf("machine %v, want the other of x86-64 and AArch64", f.Machine)
	}
}

func TestCString(t *testing.T) {
	for in, want := range map[string]string{
		"gain":        `"gain"`,
		"a\"b\\c?\té": `"a\042b\134c\077\011\303\251"`,
	} {
		if got := cString(in); got != want {
			t.Errorf("cString(%q) = %s, want %s", in, got, want)
		}
	}
}
