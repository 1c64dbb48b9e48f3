package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/state"
)

// These tests keep the documentation in docs/ and README.md true: its links resolve
// inside the repository, it names every problem code, command and flag, and the
// JSON Schemas docs/state.schema.json and docs/try.schema.json accept what plugwatch
// really prints (and reject what it must not).

// repoRoot is the repository's top folder, seen from cmd/plugwatch.
const repoRoot = "../.."

// docFiles returns README.md and every docs/*.md, relative to repoRoot.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	md, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, md, "no docs/*.md")
	for _, p := range md {
		rel, err := filepath.Rel(repoRoot, p)
		require.NoError(t, err)
		files = append(files, rel)
	}
	return files
}

func readDoc(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	require.NoError(t, err)
	return string(b)
}

var (
	fence      = regexp.MustCompile("(?ms)^```.*?^```[ \t]*$")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	mdLink     = regexp.MustCompile(`\]\(([^()\s]*)\)`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$`)
	// outside is text that points outside the repository: the shared contract, its
	// section numbers, a parent of the repository, or a web address that is not this
	// machine's.
	outside = regexp.MustCompile(`\.\./shared|SPEC\.md|\bSPEC( section)? ?[0-9]|https?://(?:[^1l/]|1[^2]|l[^o])`)
)

// anchors returns the GitHub anchors of the headings of a Markdown text: lower
// case, punctuation other than - and _ removed, spaces as -, repeats numbered.
func anchors(text string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// TestDocsLinks: every relative link of README.md and docs/*.md names a file of the
// repository (and a heading of it, when it has a #fragment); no link or text points
// outside the repository.
func TestDocsLinks(t *testing.T) {
	abs, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	for _, rel := range docFiles(t) {
		text := readDoc(t, rel)
		for i, line := range strings.Split(text, "\n") {
			for _, m := range outside.FindAllString(line, -1) {
				t.Errorf("%s:%d points outside the repository (%q): say what the rule is instead", rel, i+1, m)
			}
		}
		prose := inlineCode.ReplaceAllString(fence.ReplaceAllString(text, ""), "")
		for _, m := range mdLink.FindAllStringSubmatch(prose, -1) {
			target := m[1]
			path, frag, _ := strings.Cut(target, "#")
			switch {
			case strings.Contains(path, ":"):
				t.Errorf("%s: link %q leaves the repository", rel, target)
				continue
			case path == "":
				path = rel // a heading of the same file
			default:
				path = filepath.Join(filepath.Dir(rel), path)
			}
			full := filepath.Join(abs, path)
			if r, err := filepath.Rel(abs, full); err != nil || !filepath.IsLocal(r) {
				t.Errorf("%s: link %q leaves the repository", rel, target)
				continue
			}
			if _, err := os.Stat(full); err != nil {
				t.Errorf("%s: link %q: %s does not exist", rel, target, path)
				continue
			}
			if frag != "" && strings.HasSuffix(path, ".md") && !anchors(readDoc(t, path))[frag] {
				t.Errorf("%s: link %q: %s has no heading #%s", rel, target, path, frag)
			}
		}
	}
}

// TestReadmeSetUp: the README gives the ways to get and run plugwatch.
func TestReadmeSetUp(t *testing.T) {
	readme := readDoc(t, "README.md")
	for _, want := range []string{"go install ./cmd/plugwatch", "go run ./cmd/plugwatch", "go test ./...", "(docs/README.md)"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}

// problemCodes are the problem codes of the state document, in their documented order.
var problemCodes = []state.Code{
	state.BareLibrary, state.NoManifest, state.VersionDiverged,
	state.BadRecord, state.BadManifest, state.MissingLibrary,
	state.OutsideRoot, state.Incomplete, state.LoadFailed,
	state.ABIVersion, state.InvalidKind, state.KindMismatch,
	state.Crashed, state.UnsafePermissions, state.Unreadable,
	"smoke_failed",
}

// TestDocsProblemCodes: docs/problems.md has a section for every problem code, and
// the state schema's enum is exactly the codes.
func TestDocsProblemCodes(t *testing.T) {
	problems := readDoc(t, "docs/problems.md")
	for _, c := range problemCodes {
		if !strings.Contains(problems, "\n## "+string(c)+"\n") {
			t.Errorf("docs/problems.md has no section ## %s", c)
		}
	}
	var schema struct {
		Defs struct {
			Problem struct {
				Properties struct {
					Code struct {
						Enum []state.Code `json:"enum"`
					} `json:"code"`
				} `json:"properties"`
			} `json:"problem"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal([]byte(readDoc(t, "docs/state.schema.json")), &schema))
	require.Equal(t, problemCodes, schema.Defs.Problem.Properties.Code.Enum, "docs/state.schema.json's problem codes")
}

// TestDocsCommandsAndFlags: docs/cli.md has a section for every command the help
// lists and names every flag, global or of a command.
func TestDocsCommandsAndFlags(t *testing.T) {
	cli := readDoc(t, "docs/cli.md")
	check := func(fs *flag.FlagSet, where string) {
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(cli, "`--"+f.Name) {
				t.Errorf("docs/cli.md does not name --%s (%s)", f.Name, where)
			}
		})
	}
	check(globalFlags(), "global")
	for _, e := range helpEntries() {
		if !strings.Contains(cli, "\n### "+e.name+"\n") {
			t.Errorf("docs/cli.md has no section ### %s", e.name)
		}
		check(e.flags, e.name)
	}
}

// TestHelpPending: help.go lists commands and flags still being built; once one is
// defined, its entry there must go (the real definition is the help text now).
func TestHelpPending(t *testing.T) {
	for _, p := range pending {
		if findCommand(p.name) != nil {
			t.Errorf("command %s is defined now: delete its entry from pending in help.go", p.name)
		}
	}
	for name, more := range pendingFlags {
		c := findCommand(name)
		if c == nil {
			t.Errorf("pendingFlags names %s, which is no command", name)
			continue
		}
		real := flag.NewFlagSet(name, flag.ContinueOnError)
		c.flags(real)
		extra := flag.NewFlagSet(name, flag.ContinueOnError)
		more(extra)
		extra.VisitAll(func(f *flag.Flag) {
			if real.Lookup(f.Name) != nil {
				t.Errorf("%s --%s is defined now: delete it from pendingFlags in help.go", name, f.Name)
			}
		})
	}
}

// compileSchema compiles one of docs/*.schema.json with a maintained JSON Schema
// library, loading what it refers to from docs/ too.
func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(repoRoot, "docs", name))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(path)
	require.NoError(t, err, "compiling %s", name)
	return s
}

// validate reports whether doc is valid against s, and why not.
func validate(t *testing.T, s *jsonschema.Schema, doc []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	require.NoError(t, err, "not JSON:\n%s", doc)
	return s.Validate(v)
}

func mustValidate(t *testing.T, s *jsonschema.Schema, what string, doc []byte) {
	t.Helper()
	if err := validate(t, s, doc); err != nil {
		t.Errorf("%s is not valid: %v\n%s", what, err, doc)
	}
}

// firstJSONBlock returns the first ```json block of a docs file.
func firstJSONBlock(t *testing.T, rel string) []byte {
	t.Helper()
	text := readDoc(t, rel)
	_, rest, ok := strings.Cut(text, "```json\n")
	require.True(t, ok, "%s has no json block", rel)
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	return []byte(block)
}

// edit returns doc decoded, changed by f, and encoded again.
func edit(t *testing.T, doc []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(doc, &m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func first(m map[string]any, array string) map[string]any {
	return m[array].([]any)[0].(map[string]any)
}

// TestStateSchemaExamples: the schema accepts the documented example and the
// optional fields, and refuses what the document never holds.
func TestStateSchemaExamples(t *testing.T) {
	s := compileSchema(t, "state.schema.json")
	example := firstJSONBlock(t, "docs/state.md")
	mustValidate(t, s, "the example of docs/state.md", example)
	mustValidate(t, s, "a stale plugin that passed its smoke test", edit(t, example, func(m map[string]any) {
		p := first(m, "plugins")
		p["stale"] = true
		p["smoke"] = map[string]any{"result": "ok", "process_p50_us": 3.1, "outputs": map[string]any{"out": 50}}
	}))
	mustValidate(t, s, "an unsupported wasm record", edit(t, example, func(m map[string]any) {
		m["skipped"] = []any{map[string]any{"kind": "", "id": "vad", "version": "0.4.0", "source": "active",
			"library": "/r/.plugins/wasm/vad.wasm", "reason": "unsupported"}}
	}))
	mustValidate(t, s, "an empty document", []byte(`{"root":"/r","generation":1,"reconciled_at":"2026-01-02T03:04:05.678Z","plugins":[],"skipped":[],"problems":[]}`))

	for what, f := range map[string]func(m map[string]any){
		"an unknown top-level field": func(m map[string]any) { m["extra"] = 1 },
		"null plugins":               func(m map[string]any) { m["plugins"] = nil },
		"generation 0":               func(m map[string]any) { m["generation"] = 0 },
		"a time without ms":          func(m map[string]any) { m["reconciled_at"] = "2026-11-24T19:30:00Z" },
		"a local time":               func(m map[string]any) { m["reconciled_at"] = "2026-11-24T19:30:00.123+01:00" },
		"a relative root":            func(m map[string]any) { m["root"] = ".plugins" },
		"stale false":                func(m map[string]any) { first(m, "plugins")["stale"] = false },
		"an empty description":       func(m map[string]any) { first(m, "plugins")["description"] = "" },
		"an unknown source":          func(m map[string]any) { first(m, "plugins")["source"] = "marketplace" },
		"a kind without namespace":   func(m map[string]any) { first(m, "plugins")["kind"] = "gain" },
		"a core: kind":               func(m map[string]any) { first(m, "plugins")["kind"] = "plugin::native::core:gain" },
		"a kind with ::":             func(m map[string]any) { first(m, "plugins")["kind"] = "plugin::native::a::b" },
		"API version 10":             func(m map[string]any) { first(m, "plugins")["api_version"] = 10 },
		"an active plugin without its record": func(m map[string]any) {
			delete(first(m, "plugins"), "manifest")
		},
		"a plugin field of another entry": func(m map[string]any) { first(m, "plugins")["reason"] = "shadowed" },
		"a smoke result not ok": func(m map[string]any) {
			first(m, "plugins")["smoke"] = map[string]any{"result": "failed", "process_p50_us": 1, "outputs": map[string]any{}}
		},
		"a smoke without outputs": func(m map[string]any) {
			first(m, "plugins")["smoke"] = map[string]any{"result": "ok", "process_p50_us": 1}
		},
		"an unknown reason":            func(m map[string]any) { first(m, "skipped")["reason"] = "disabled" },
		"shadowed without its winner":  func(m map[string]any) { delete(first(m, "skipped"), "winner") },
		"a shadowed marketplace entry": func(m map[string]any) { first(m, "skipped")["source"] = "active" },
		"unsupported with a kind":      func(m map[string]any) { first(m, "skipped")["reason"] = "unsupported" },
		"an unknown code":              func(m map[string]any) { first(m, "problems")["code"] = "oops" },
		"bare_library as an error":     func(m map[string]any) { m["problems"].([]any)[1].(map[string]any)["level"] = "error" },
		"a problem without a message":  func(m map[string]any) { delete(first(m, "problems"), "message") },
		"a message of two lines":       func(m map[string]any) { first(m, "problems")["message"] = "a\nb" },
		"an unknown level":             func(m map[string]any) { first(m, "problems")["level"] = "info" },
	} {
		if validate(t, s, edit(t, example, f)) == nil {
			t.Errorf("the schema accepts %s", what)
		}
	}
	// kind_mismatch is an error for a record and a warning for a bundle.
	for _, level := range []string{"warn", "error"} {
		mustValidate(t, s, "kind_mismatch at "+level, edit(t, example, func(m map[string]any) {
			p := first(m, "problems")
			p["code"], p["level"] = "kind_mismatch", level
		}))
	}
}

// specTryExample is the example document of `try --json` as plugwatch's contract
// gives it. It shows every field at once: an error beside "result": "ok", which
// the rules of the same contract exclude (error is omitted when the result is ok).
const specTryExample = `{
  "library": "/abs/libgain.so", "kind": "plugin::native::gain", "api_version": 2,
  "result": "ok",
  "error": {"call": "process_packet", "packet": 17, "message": "…"},
  "input": {"pin": "in", "type": "raw_audio", "packets": 50, "sample_rate": 48000,
            "channels": 1, "frames": 48000, "rms_dbfs": -9.03, "peak_dbfs": -6.02},
  "outputs": [{"pin": "out", "type": "raw_audio", "packets": 50, "sample_rate": 48000,
               "channels": 1, "frames": 48000, "rms_dbfs": -15.05, "peak_dbfs": -12.04,
               "texts": [], "custom_types": [], "bytes": 0}],
  "timings_us": {"create_instance": 12.0, "process_packet": {"count": 50, "p50": 3.1, "p99": 9.8, "max": 11.2}, "flush": 1.0},
  "logs": [{"level": "info", "target": "gain", "message": "…"}]
}`

// TestTrySchema: the schema of `try --json` accepts the contract's example read
// either way it can be (ok without the error, failed with it), the documented
// example, and each kind of result; and refuses what the rules exclude.
func TestTrySchema(t *testing.T) {
	s := compileSchema(t, "try.schema.json")
	spec := []byte(specTryExample)
	if validate(t, s, spec) == nil {
		t.Errorf("the schema accepts an error beside result ok")
	}
	ok := edit(t, spec, func(m map[string]any) { delete(m, "error") })
	mustValidate(t, s, "the contract's example, ok", ok)
	mustValidate(t, s, "the contract's example, failed at packet 17", edit(t, spec, func(m map[string]any) { m["result"] = "failed" }))
	mustValidate(t, s, "the example of docs/running-plugins.md", firstJSONBlock(t, "docs/running-plugins.md"))

	for what, f := range map[string]func(m map[string]any){
		"crashed": func(m map[string]any) {
			m["result"] = "crashed"
			m["error"] = map[string]any{"call": "process_packet", "packet": 3, "message": "the helper died of SIGSEGV"}
		},
		"hung in flush": func(m map[string]any) {
			m["result"] = "hung"
			m["error"] = map[string]any{"call": "flush", "message": "flush did not return within 10s"}
		},
		"create_instance returned NULL": func(m map[string]any) {
			m["result"] = "failed"
			m["error"] = map[string]any{"call": "create_instance", "message": "create_instance returned NULL"}
			delete(m, "input")
			m["timings_us"] = map[string]any{"create_instance": 40.5}
			m["outputs"].([]any)[0].(map[string]any)["packets"] = 0
		},
		"a source": func(m map[string]any) {
			delete(m, "input")
			m["timings_us"] = map[string]any{"create_instance": 12.0, "tick": map[string]any{"count": 50, "p50": 2, "p99": 3, "max": 4}, "flush": 1.0}
		},
		"a text plugin": func(m map[string]any) {
			m["input"] = map[string]any{"pin": "in", "type": "text", "packets": 1}
			m["outputs"] = []any{map[string]any{"pin": "out", "type": "text", "packets": 1, "texts": []any{"HELLO"}}}
		},
		"a custom output": func(m map[string]any) {
			m["outputs"] = []any{map[string]any{"pin": "ctl", "type": "custom", "packets": 2,
				"custom_types": []any{"streamkit.gain.ctl"}, "custom_json": map[string]any{"gain_db": -6}}}
		},
		"silence": func(m map[string]any) {
			in := m["input"].(map[string]any)
			in["rms_dbfs"], in["peak_dbfs"] = nil, nil
		},
	} {
		mustValidate(t, s, what, edit(t, ok, f))
	}
	mustValidate(t, s, "a library that cannot be probed", []byte(`{"library": "/abs/libfuture.so", "result": "failed",
		"error": {"call": "probe", "code": "abi_version", "message": "reports API version 12; accepted range is 1-9"}}`))

	for what, f := range map[string]func(m map[string]any){
		"failed without an error": func(m map[string]any) { m["result"] = "failed" },
		"an unknown result":       func(m map[string]any) { m["result"] = "partial" },
		"an unknown field":        func(m map[string]any) { m["extra"] = true },
		"a relative library":      func(m map[string]any) { m["library"] = "libgain.so" },
		"no outputs":              func(m map[string]any) { delete(m, "outputs") },
		"no timings":              func(m map[string]any) { delete(m, "timings_us") },
		"no create_instance time": func(m map[string]any) { delete(m["timings_us"].(map[string]any), "create_instance") },
		"both process and tick": func(m map[string]any) {
			m["timings_us"].(map[string]any)["tick"] = m["timings_us"].(map[string]any)["process_packet"]
		},
		"audio input without rate": func(m map[string]any) { delete(m["input"].(map[string]any), "sample_rate") },
		"a positive dBFS":          func(m map[string]any) { m["input"].(map[string]any)["peak_dbfs"] = 3.0 },
		"an unknown log level":     func(m map[string]any) { m["logs"].([]any)[0].(map[string]any)["level"] = "fatal" },
		"a packet index for flush": func(m map[string]any) {
			m["result"] = "failed"
			m["error"] = map[string]any{"call": "flush", "packet": 2, "message": "x"}
		},
		"a problem code for a call": func(m map[string]any) {
			m["result"] = "failed"
			m["error"] = map[string]any{"call": "create_instance", "code": "load_failed", "message": "x"}
		},
		"a probe failure without its code": func(m map[string]any) {
			m["result"] = "failed"
			m["error"] = map[string]any{"call": "probe", "message": "x"}
		},
		"an unknown packet type": func(m map[string]any) { m["outputs"].([]any)[0].(map[string]any)["type"] = "midi" },
	} {
		if validate(t, s, edit(t, ok, f)) == nil {
			t.Errorf("the schema accepts %s", what)
		}
	}
}

// stateRoot makes a root with plugins, skipped claimants and problems of most codes
// (unreadable needs a user who cannot read, smoke_failed --smoke), and returns it.
func stateRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), ".plugins")
	put := func(rel, text string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	lib := func(spec plugintest.Spec, rel string) string {
		return plugintest.Install(t, spec, filepath.Join(root, rel))
	}
	manifest := func(dir, id, version, kind, entry string) {
		put(dir+"/plugin.yml", fmt.Sprintf("id: %s\nversion: %s\nnode_kind: %s\nkind: native\nentrypoint: %s\n", id, version, kind, entry))
	}
	record := func(id, version, kind, recordKind, entry string) {
		put("active/"+id+".json", fmt.Sprintf(`{"plugin_id":%q,"version":%q,"node_kind":%q,"kind":%q,"entrypoint":%q,"installed_at_ms":1764590400000}`,
			id, version, kind, recordKind, entry))
	}
	gain := plugintest.Spec{Kind: "gain", ABI: 6, Description: "Adjusts volume"}
	echo := plugintest.Spec{Kind: "echo", ABI: 2, Description: "Repeats what it hears"}

	// A marketplace plugin, and a local bundle of the same kind it shadows.
	lib(gain, "bundles/gain/1.2.0/libgain.so")
	record("gain", "1.2.0", "gain", "native", ".plugins/bundles/gain/1.2.0/libgain.so")
	lib(gain, "native/gain/libgain.so")
	manifest("native/gain", "gain", "1.1.0", "gain", "libgain.so")
	// A local bundle, and a second one of its kind without a manifest: conflict.
	lib(echo, "native/echo/libecho.so")
	manifest("native/echo", "echo", "0.3.0", "echo", "libecho.so")
	lib(echo, "native/echo2/libecho.so")
	// A WebAssembly record: unsupported.
	put("wasm/vad.wasm", "\x00asm\x01\x00\x00\x00")
	record("vad", "0.4.0", "vad", "wasm", ".plugins/wasm/vad.wasm")
	// Problems.
	lib(gain, "native/libstray.so")
	put("active/broken.json", `{"plugin_id":"broken","version":"1.0.0","node_kind":"x","kind":"native","entrypoint":"x.so"}`)
	put("native/bad/plugin.yml", "id: [unclosed\n")
	manifest("native/missing", "missing", "1.0.0", "missing", "libmissing.so")
	manifest("native/escape", "escape", "1.0.0", "escape", "../../libescape.so")
	lib(plugintest.Spec{Kind: "future", ABI: 12}, "native/future/libfuture.so")
	lib(plugintest.Spec{NullKind: true, ABI: 6}, "native/nokind/libnokind.so")
	plugintest.Truncated(t, gain, filepath.Join(root, "native/trunc/libtrunc.so"), 100)
	put("native/text/libtext.so", "not a library")
	lib(plugintest.Spec{Kind: "reverb", ABI: 9, Description: "Adds a room"}, "native/reverb/libreverb.so")
	manifest("native/reverb", "reverb", "1.0.0", "hall", "libreverb.so")
	lib(echo, "bundles/mismatch/1.0.0/libecho.so")
	record("mismatch", "1.0.0", "other", "native", ".plugins/bundles/mismatch/1.0.0/libecho.so")
	lib(plugintest.Spec{Kind: "segv", Crash: "entry_segv"}, "native/segv/libsegv.so")
	require.NoError(t, os.Chmod(lib(plugintest.Spec{Kind: "open", ABI: 6}, "native/open/libopen.so"), 0o777))
	return root
}

// codes returns the problem codes of a state document.
func codes(st *state.State) []state.Code {
	var cs []state.Code
	for _, p := range st.Problems {
		if !slices.Contains(cs, p.Code) {
			cs = append(cs, p.Code)
		}
	}
	slices.Sort(cs)
	return cs
}

// TestStateSchemaRealOutput: the document plugwatch prints validates against
// docs/state.schema.json: scan --json of a root with plugins, skipped entries and
// problems, then the same root's GET /v1/state and status --json from a running
// daemon.
func TestStateSchemaRealOutput(t *testing.T) {
	s := compileSchema(t, "state.schema.json")
	root := stateRoot(t)

	cmd := exec.Command("plugwatch", "scan", "--json", "--root", root)
	cmd.Dir = filepath.Dir(root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "plugwatch scan --json: %s", stderr.String())
	mustValidate(t, s, "scan --json", out)
	var st state.State
	require.NoError(t, json.Unmarshal(out, &st))
	want := []state.Code{
		state.ABIVersion, state.BadManifest, state.BadRecord, state.BareLibrary,
		state.Crashed, state.Incomplete, state.InvalidKind, state.KindMismatch,
		state.LoadFailed, state.MissingLibrary, state.NoManifest, state.OutsideRoot,
		state.UnsafePermissions, state.VersionDiverged,
	}
	require.Equal(t, want, codes(&st), "the problems of the scan:\n%s", out)
	var reasons []state.Reason
	for _, sk := range st.Skipped {
		reasons = append(reasons, sk.Reason)
	}
	slices.Sort(reasons)
	require.Equal(t, []state.Reason{state.Conflict, state.Shadowed, state.Unsupported}, reasons, "the skipped of the scan:\n%s", out)
	require.GreaterOrEqual(t, len(st.Plugins), 3, "the plugins of the scan:\n%s", out)

	// The daemon's first pass does not wait for slow probes (a crash is checked
	// again alone before it is blamed): wait until it found what scan found.
	d := startDaemon(t, root)
	d.waitFor("the problems scan found", func(st *state.State) bool { return slices.Equal(codes(st), want) })
	resp, body := d.get("/v1/state")
	require.Equal(t, 200, resp.StatusCode)
	mustValidate(t, s, "GET /v1/state", body)
	status := exec.Command("plugwatch", "status", "--json", "--addr", d.addr)
	out, err = status.Output()
	require.NoError(t, err, "plugwatch status --json")
	mustValidate(t, s, "status --json", out)
	require.NoError(t, json.Unmarshal(out, &st))
	require.Equal(t, want, codes(&st), "the daemon's problems:\n%s", out)
}

// TestDocsJSONIsJSON: every ```json block of the docs parses (a block of several
// lines of JSON, as event streams show, parses line by line).
func TestDocsJSONIsJSON(t *testing.T) {
	block := regexp.MustCompile("(?ms)^```json\n(.*?)^```")
	for _, rel := range docFiles(t) {
		for _, m := range block.FindAllStringSubmatch(readDoc(t, rel), -1) {
			text := strings.TrimSpace(m[1])
			if strings.HasPrefix(text, `"`) {
				text = "{" + text + "}" // a field shown on its own
			}
			if json.Valid([]byte(text)) {
				continue
			}
			for _, line := range strings.Split(text, "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("%s: a json block is not JSON:\n%s", rel, m[1])
					break
				}
			}
		}
	}
}

// The schema files are JSON Schema documents of their own.
func TestSchemasCompile(t *testing.T) {
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(path string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".schema.json") {
			compileSchema(t, filepath.Base(path))
		}
		return err
	})
	require.NoError(t, err)
}

// sourceOutside is text in code, scripts and test data that points at the shared
// contract rather than at the repository's own docs/ (web addresses in test data
// are data, not pointers).
var sourceOutside = regexp.MustCompile(`\.\./shared|SPEC\.md|\bSPEC( section)? ?[0-9]`)

// TestSourcesPointInside: no file of the repository but the Markdown ones (checked
// above) cites the shared contract; a clone has only docs/.
func TestSourcesPointInside(t *testing.T) {
	self, err := filepath.Abs("docs_test.go")
	require.NoError(t, err)
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir() || strings.HasSuffix(path, ".md"):
			return nil
		}
		if abs, _ := filepath.Abs(path); abs == self {
			return nil // holds the pattern
		}
		b, err := os.ReadFile(path)
		if err != nil || bytes.IndexByte(b, 0) >= 0 {
			return err // binary files are skipped
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := sourceOutside.FindString(line); m != "" {
				rel, _ := filepath.Rel(repoRoot, path)
				t.Errorf("%s:%d: %q points outside the repository; cite docs/ instead", rel, i+1, m)
			}
		}
		return nil
	})
	require.NoError(t, err)
}
