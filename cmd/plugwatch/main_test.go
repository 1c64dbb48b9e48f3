package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/probe"
)

func TestMain(m *testing.M) {
	probe.Main() // a probe helper started from a test (or from plugwatch under test)
	testscript.Main(cleanupM{m}, map[string]func(){
		"plugwatch": func() {
			probe.Main()
			os.Exit(Main(os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
		},
	})
}

// catalogue names the test plugins scripts can place with `plug NAME DEST`.
var catalogue = map[string]plugintest.Spec{
	"gain":       {Kind: "gain", ABI: 6, Description: "Adjusts volume"},
	"gain-new":   {Kind: "gain", ABI: 6, Description: "Adjusts volume, rebuilt"},
	"gain-ns":    {Kind: "plugin::native::gain", ABI: 6, Description: "Adjusts volume"},
	"echo":       {Kind: "echo", ABI: 2, Description: "Repeats what it hears"},
	"reverb":     {Kind: "reverb", ABI: 9, Description: "Adds a room"},
	"null-kind":  {NullKind: true, ABI: 6},
	"core-kind":  {Kind: "core:gain", ABI: 6},
	"no-symbol":  {NoSymbol: true},
	"abi12":      {Kind: "future", ABI: 12},
	"null-pin":   {Kind: "broken", ABI: 6, Bad: "null_pin_name"},
	"huge":       {Kind: "huge", ABI: 6, Bad: "huge_schema"},
	"many-pins":  {Kind: "many", ABI: 6, Bad: "too_many_pins"},
	"raw-nofmt":  {Kind: "raw", ABI: 6, Bad: "raw_audio_no_format"},
	"null-meta":  {Kind: "nometa", ABI: 6, Bad: "null_metadata"},
	"unknown-ty": {Kind: "unknown", ABI: 6, Bad: "unknown_type"},
	"entry-segv": {Kind: "segv", Crash: "entry_segv"},
	"ctor-abort": {Kind: "abort", Crash: "ctor_abort"},
	"ctor-hang":  {Kind: "hang", Crash: "ctor_hang"},
}

func TestScripts(t *testing.T) {
	built := map[string]string{}
	for name, spec := range catalogue {
		built[name] = plugintest.Build(t, spec)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		// UPDATE_SCRIPTS=1 go test ./cmd/plugwatch rewrites the expected files of cmp.
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(e *testscript.Env) error {
			e.Setenv("PLUGWATCH_ROOT", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"plug":      func(ts *testscript.TestScript, neg bool, args []string) { plug(ts, built, args) },
			"truncated": func(ts *testscript.TestScript, neg bool, args []string) { truncated(ts, built, args) },
			"mkhostile": mkhostile,
			"foreign":   func(ts *testscript.TestScript, neg bool, args []string) { foreign(ts, built, args) },
			"notime":    notime,
			"chmod":     chmod,
			"maxcols":   maxcols,
		},
	})
}

// plug NAME DEST: copy the test plugin NAME of the catalogue to DEST.
func plug(ts *testscript.TestScript, built map[string]string, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: plug NAME DEST")
	}
	src, ok := built[args[0]]
	if !ok {
		ts.Fatalf("no test plugin %q", args[0])
	}
	data, err := os.ReadFile(src)
	ts.Check(err)
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
	ts.Check(os.WriteFile(dst, data, 0o755))
}

// truncated NAME DEST N: write the first N bytes of the test plugin NAME to DEST.
func truncated(ts *testscript.TestScript, built map[string]string, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: truncated NAME DEST N")
	}
	data, err := os.ReadFile(built[args[0]])
	ts.Check(err)
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
	ts.Check(os.WriteFile(dst, data[:n], 0o755))
}

// foreign NAME DEST: the test plugin NAME with its ELF header naming another CPU.
func foreign(ts *testscript.TestScript, built map[string]string, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: foreign NAME DEST")
	}
	data, err := os.ReadFile(built[args[0]])
	ts.Check(err)
	machine := uint16(elf.EM_AARCH64)
	if binary.LittleEndian.Uint16(data[18:]) == uint16(elf.EM_AARCH64) {
		machine = uint16(elf.EM_X86_64)
	}
	binary.LittleEndian.PutUint16(data[18:], machine) // e_machine
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o755))
	ts.Check(os.WriteFile(dst, data, 0o755))
}

// mkhostile ROOT: hostile texts a txtar file cannot hold: a manifest with invalid
// UTF-8, one over 1 MiB, and a record with a NUL byte in its id.
func mkhostile(ts *testscript.TestScript, neg bool, args []string) {
	root := ts.MkAbs(args[0])
	write := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
		ts.Check(os.WriteFile(p, data, 0o644))
	}
	write("native/utf8/plugin.yml", []byte("id: \xff\xfe\nversion: 1.0.0\nnode_kind: x\nkind: native\nentrypoint: libx.so\n"))
	write("native/deep/plugin.yml", []byte("id: "+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+"\n"))
	write("native/big/plugin.yml", append([]byte("id: big\ndescription: "), bytes.Repeat([]byte("x"), 1<<20)...))
	write("active/nul.json", []byte(`{"plugin_id":"a\u0000b","version":"1.0.0","node_kind":"x","kind":"native","entrypoint":"x.so","installed_at_ms":1}`))
}

var timeField = regexp.MustCompile(`"(reconciled_at|loaded_at|at)": "[^"]*"`)

// notime FILE: replace the time fields of a JSON document with "TIME", in place,
// after checking the file is valid JSON.
func notime(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: notime FILE")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	if !json.Valid(data) {
		ts.Fatalf("%s is not valid JSON", args[0])
	}
	ts.Check(os.WriteFile(path, timeField.ReplaceAll(data, []byte(`"$1": "TIME"`)), 0o644))
}

// chmod MODE PATH: change a file's permission bits (octal).
func chmod(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: chmod MODE PATH")
	}
	mode, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	ts.Check(os.Chmod(ts.MkAbs(args[1]), os.FileMode(mode)))
}

// maxcols N FILE: fail when a line of FILE (stdout or stderr for the last
// command's) is wider than N columns, counting one column per rune; with !, when
// none is.
func maxcols(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: maxcols N FILE")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	var wide []string
	for i, line := range strings.Split(ts.ReadFile(args[1]), "\n") {
		if w := utf8.RuneCountInString(line); w > n {
			wide = append(wide, fmt.Sprintf("line %d has %d columns: %q", i+1, w, line))
		}
	}
	switch {
	case !neg && len(wide) > 0:
		ts.Fatalf("%s is wider than %d columns:\n%s", args[1], n, strings.Join(wide, "\n"))
	case neg && len(wide) == 0:
		ts.Fatalf("no line of %s is wider than %d columns", args[1], n)
	}
}

// cleanupM removes the built test plugins once the tests ran.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int { return plugintest.Main(c.m) }
