// Package plugintest compiles StreamKit native test plugins for tests.
//
// The plugins come from testdata/ at the module root, configured by a [Spec]:
// testdata/plugin.c (metadata variants whose instances do nothing) by default, or
// another C file of testdata/ named by Spec.Source: the plugins that run ([Gain],
// [FaultyGain], [Upper], [Sine]) and the benchmark driver ([Driver]).
// Build needs a C compiler ($CC, else cc, else gcc) and compiles each distinct Spec
// once per test process into a private temporary folder, which [Main] removes when
// the tests end.
//
// Libraries built with a Crash spec kill or hang the process that opens them: open
// them only in a child process. FaultyGain's "crash" and "hang" libraries do so when
// an instance processes the packet its params name.
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Spec selects one test plugin. The zero Spec is a well-formed API version 6 library
// reporting the empty kind and no description.
type Spec struct {
	// Kind is the kind the library reports, e.g. "gain"; ignored when NullKind.
	Kind string
	// NullKind makes get_metadata report a NULL kind.
	NullKind bool
	// ABI is the API version the table reports (0 means 6). Out-of-range values
	// (e.g. 12) are reported as given, with the version 9 layout.
	ABI int
	// NoSymbol leaves streamkit_native_plugin_api out of the library.
	NoSymbol bool
	// Description is the reported description; "" reports NULL. Use it to make two
	// builds of the same kind differ.
	Description string
	// Bad is "" or one way of breaking a metadata limit of docs/abi.md:
	// "null_api", "null_metadata", "too_many_pins", "null_pin_name",
	// "raw_audio_no_format", "custom_no_type_id", "huge_schema", "unknown_type";
	// or "unresolved_symbol": the library needs a symbol nobody defines, so the
	// dynamic loader refuses it.
	Bad string
	// Crash is "" or "entry_segv" (SIGSEGV inside streamkit_native_plugin_api),
	// "ctor_abort" (abort in a constructor) or "ctor_hang" (a constructor that never
	// returns).
	Crash string
	// SlowMs makes a constructor sleep that many milliseconds: a library slow to load.
	SlowMs int
	// PadBytes adds that many bytes of read-only data, for real-size libraries
	// (16 MiB, say).
	PadBytes int

	// Source is "" for testdata/plugin.c, or the name of another C file of testdata/
	// (e.g. "gain.c"), compiled with -DSK_ABI (ABI, 0 meaning 6), -DSK_TICK_PAIRS,
	// -DSK_KIND when Kind is not "" (else the file's own kind), the macros of Defines
	// and -pthread -lm. The fields above but ABI and Kind apply to plugin.c only.
	Source string
	// Defines are extra macros for Source, separated by spaces, each NAME or
	// NAME=VALUE with NAME starting "SK_" (e.g. "SK_FAULT_CRASH").
	Defines string
}

// BadVariants returns every accepted value of Spec.Bad but "", in a new slice.
func BadVariants() []string {
	return []string{
		"null_api", "null_metadata", "too_many_pins", "null_pin_name",
		"raw_audio_no_format", "custom_no_type_id", "huge_schema", "unknown_type",
		"unresolved_symbol",
	}
}

// CrashVariants returns every accepted value of Spec.Crash but "", in a new slice.
func CrashVariants() []string { return []string{"entry_segv", "ctor_abort", "ctor_hang"} }

// The process-wide build cache: one compilation per distinct Spec. It is state of the
// test binary, not of the code under test.
var cache struct {
	mu     sync.Mutex
	dir    string // created on first use, removed by Main
	builds map[Spec]*build
}

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles s once per test process (safe for concurrent use) and returns the
// path of the library. The file is shared by every caller: copy it (Install) before
// changing or renaming it. Build fails the test when s is invalid, there is no C
// compiler, or the compiler fails.
func Build(t testing.TB, s Spec) string {
	t.Helper()
	p, err := buildCached(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Install copies Build(t, s) to dst and returns dst. It creates missing parent folders
// (mode 0o755) and gives the file mode 0o755. The copy is written under a temporary
// name beginning with "." in dst's folder and renamed over dst, so a watcher never
// sees a half-written dst and a library mapped from an older dst is not overwritten
// in place.
func Install(t testing.TB, s Spec, dst string) string {
	t.Helper()
	data := read(t, Build(t, s))
	write(t, dst, data)
	return dst
}

// Truncated writes the first n bytes of Build(t, s) to dst (as Install does) and
// returns dst. n must not exceed the library's size.
func Truncated(t testing.TB, s Spec, dst string, n int) string {
	t.Helper()
	data := read(t, Build(t, s))
	if n < 0 || n > len(data) {
		t.Fatalf("plugintest: Truncated: n = %d, library has %d bytes", n, len(data))
	}
	write(t, dst, data[:n])
	return dst
}

// ForeignArch writes a copy of Build(t, s) to dst (as Install does) whose ELF header
// names another machine: EM_X86_64 on arm64, EM_AARCH64 elsewhere. It returns dst.
func ForeignArch(t testing.TB, s Spec, dst string) string {
	t.Helper()
	data := read(t, Build(t, s))
	const eMachine = 18 // offset of e_machine in the ELF header, little-endian here
	if len(data) < eMachine+2 {
		t.Fatalf("plugintest: ForeignArch: %d-byte library", len(data))
	}
	machine := uint16(183) // EM_AARCH64
	if runtime.GOARCH == "arm64" {
		machine = 62 // EM_X86_64
	}
	data[eMachine], data[eMachine+1] = byte(machine), byte(machine>>8)
	write(t, dst, data)
	return dst
}

// Main runs the tests and then removes the build folder; it returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	cache.mu.Lock()
	dir := cache.dir
	cache.dir, cache.builds = "", nil
	cache.mu.Unlock()
	if dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, "plugintest:", err)
		}
	}
	return code
}

func buildCached(s Spec) (string, error) {
	// Specs that select the same library share one build (and one file).
	if s.ABI == 0 {
		s.ABI = 6
	}
	if s.NullKind {
		s.Kind = ""
	}
	cache.mu.Lock()
	if cache.builds == nil {
		cache.builds = make(map[Spec]*build)
	}
	b := cache.builds[s]
	if b == nil {
		b = new(build)
		cache.builds[s] = b
	}
	if cache.dir == "" {
		dir, err := os.MkdirTemp("", "plugintest-")
		if err != nil {
			cache.mu.Unlock()
			return "", fmt.Errorf("plugintest: %w", err)
		}
		cache.dir = dir
	}
	dir := cache.dir
	cache.mu.Unlock()

	b.once.Do(func() { b.path, b.err = compile(s, dir) })
	return b.path, b.err
}

// compile builds s into dir and returns the library's path.
func compile(s Spec, dir string) (string, error) {
	defines, err := s.defines()
	if err != nil {
		return "", err
	}
	cc, err := compiler()
	if err != nil {
		return "", err
	}
	src, err := source(s.file())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(s.file() + "\x00" + strings.Join(defines, "\x00")))
	out := filepath.Join(dir, "libsk-"+hex.EncodeToString(sum[:8])+".so")

	// Compile under a temporary name: out appears whole or not at all.
	tmp := out + ".tmp"
	args := slices.Concat(cc[1:], []string{"-shared", "-fPIC", "-O1", "-o", tmp, src}, defines)
	if s.Source != "" {
		args = append(args, "-pthread", "-lm")
	}
	cmd := exec.Command(cc[0], args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("plugintest: compiling %+v: %s %s: %v\n%s",
			s, cc[0], strings.Join(args, " "), err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("plugintest: %w", err)
	}
	return out, nil
}

// defines returns the -D flags of plugin.c that select s.
func (s Spec) defines() ([]string, error) {
	abi := s.ABI
	if abi == 0 {
		abi = 6
	}
	d := []string{"-DSK_ABI=" + strconv.Itoa(abi)}
	if s.Source != "" {
		return s.sourceDefines(d)
	}
	if s.Defines != "" {
		return nil, fmt.Errorf("plugintest: Defines %q apply to a Source, not plugin.c", s.Defines)
	}
	if s.NullKind {
		d = append(d, "-DSK_NULL_KIND")
	} else {
		d = append(d, "-DSK_KIND="+cString(s.Kind))
	}
	if s.Description != "" {
		d = append(d, "-DSK_DESCRIPTION="+cString(s.Description))
	}
	if s.NoSymbol {
		d = append(d, "-DSK_NO_SYMBOL")
	}
	if s.Bad != "" {
		if !slices.Contains(BadVariants(), s.Bad) {
			return nil, fmt.Errorf("plugintest: unknown Bad variant %q (want one of %s)", s.Bad, strings.Join(BadVariants(), ", "))
		}
		d = append(d, "-DSK_BAD_"+strings.ToUpper(s.Bad))
	}
	if s.Crash != "" {
		if !slices.Contains(CrashVariants(), s.Crash) {
			return nil, fmt.Errorf("plugintest: unknown Crash variant %q (want one of %s)", s.Crash, strings.Join(CrashVariants(), ", "))
		}
		d = append(d, "-DSK_CRASH_"+strings.ToUpper(s.Crash))
	}
	if s.SlowMs > 0 {
		d = append(d, "-DSK_SLOW_CTOR_MS="+strconv.Itoa(s.SlowMs))
	}
	if s.PadBytes > 0 {
		d = append(d, "-DSK_PAD_BYTES="+strconv.Itoa(s.PadBytes))
	}
	return d, nil
}

// CompileCommand returns the command that compiles s straight to out with the
// machine's C compiler, as a developer's build does (the linker deletes out, then
// writes it in pieces). The test runs it.
func CompileCommand(t testing.TB, s Spec, out string) *exec.Cmd {
	t.Helper()
	defines, err := s.defines()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := compiler()
	if err != nil {
		t.Fatal(err)
	}
	src, err := source("plugin.c")
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(cc[0], slices.Concat(cc[1:], []string{"-shared", "-fPIC", "-O1", "-o", out, src}, defines)...)
}

// compiler returns the C compiler command: $CC (split on white space), else cc, else gcc.
func compiler() ([]string, error) {
	if cc := strings.Fields(os.Getenv("CC")); len(cc) > 0 {
		return cc, nil
	}
	for _, name := range []string{"cc", "gcc"} {
		if p, err := exec.LookPath(name); err == nil {
			return []string{p}, nil
		}
	}
	return nil, fmt.Errorf("plugintest: no C compiler: set CC or install gcc")
}

// source returns the path of the C file name of testdata/ at the module root, found
// relative to this file or, when the binary was built with -trimpath, by looking for
// go.mod from the working directory up (go test runs in the package's folder).
func source(name string) (string, error) {
	rel := "testdata/" + name
	if _, file, _, ok := runtime.Caller(0); ok {
		src := filepath.Join(filepath.Dir(file), "..", "..", rel)
		if _, err := os.Stat(src); err == nil {
			return src, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("plugintest: locating %s: %w", rel, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			src := filepath.Join(dir, rel)
			if _, err := os.Stat(src); err != nil {
				return "", fmt.Errorf("plugintest: test plugin source: %w", err)
			}
			return src, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("plugintest: cannot find %s beside go.mod", rel)
		}
		dir = parent
	}
}

// cString returns s as a C string literal. Everything but printable ASCII (and the
// characters that could end or escape the literal or form a trigraph) is written as an
// octal escape, so any byte string survives.
func cString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return data
}

// write puts data at dst through a temporary file in the same folder and a rename.
func write(t testing.TB, dst string, data []byte) {
	t.Helper()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		t.Fatalf("plugintest: writing %s: %v", dst, err)
	}
}

// Compile is Build for code that has no testing.TB, such as examples: it returns
// the path of the compiled library, or why it could not be compiled.
func Compile(s Spec) (string, error) { return buildCached(s) }
