package manifest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Hostile text is parsed in bounded time and memory (docs/files.md). The bounds
// asserted here are loose, to hold under -race on a busy machine; each case takes
// milliseconds and a few MB normally. Without the limits, the alias cases would
// need gigabytes.
const (
	hostileMaxAlloc = 400 << 20
	hostileMaxTime  = 30 * time.Second
)

// bounded runs parse, reports its time and allocations, and fails when they pass
// the bounds.
func bounded(t *testing.T, parse func() error) error {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := parse()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%v, %d MB allocated", elapsed.Round(time.Millisecond), alloc>>20)
	if alloc > hostileMaxAlloc {
		t.Errorf("parsing allocated %d MB", alloc>>20)
	}
	if elapsed > hostileMaxTime {
		t.Errorf("parsing took %v", elapsed)
	}
	return err
}

// billionLaughs is the classic alias bomb: 9 levels of 9 aliases expand to 9^9
// values.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString(`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for c := 'b'; c <= 'i'; c++ {
		p := string(c - 1)
		fmt.Fprintf(&b, "%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, p, p, p, p, p, p, p, p, p)
	}
	return b.String()
}

// wideAliases expands through the decoder's own types: a model whose files list
// holds n strings, used n times; n*n values, in a file under 1 MiB.
func wideAliases(n int) string {
	var b strings.Builder
	b.WriteString(string(goodManifest.yaml()))
	b.WriteString("x: &m\n  files:\n")
	b.WriteString(strings.Repeat("  - f\n", n))
	b.WriteString("models:\n")
	b.WriteString(strings.Repeat("- *m\n", n))
	return b.String()
}

func TestHostileRefused(t *testing.T) {
	deepBlock := func(levels int) string {
		var b strings.Builder
		for i := range levels {
			fmt.Fprintf(&b, "%sa:\n", strings.Repeat(" ", i))
		}
		return b.String()
	}
	tests := []struct {
		name string
		path string
		data string
	}{
		{"billion laughs", ymlPath, billionLaughs()},
		{"billion laughs in a known field", ymlPath, string(goodManifest.yaml()) + strings.Replace(billionLaughs(), "i: &i", "models: &i", 1)},
		{"wide aliases", ymlPath, wideAliases(30000)},
		{"self-referencing anchor", ymlPath, "a: &a [*a]\n"},
		{"self-referencing mapping", ymlPath, "a: &a {b: *a}\n" + string(goodManifest.yaml())},
		{"self-referencing model", ymlPath, string(goodManifest.yaml()) + "models: &a [*a]\n"},
		{"YAML flow lists 100k deep", ymlPath, strings.Repeat("[", 100000)},
		{"YAML flow lists 100k deep, closed", ymlPath, "a: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"YAML flow mappings 100k deep", ymlPath, strings.Repeat("{a: ", 100000)},
		{"YAML block lists 100k deep", ymlPath, "a: " + strings.Repeat("- ", 100000) + "x"},
		{"YAML flow lists 101 deep", ymlPath, "a: " + strings.Repeat("[", 101) + strings.Repeat("]", 101)},
		{"YAML block mappings 150 deep", ymlPath, deepBlock(150)},
		{"JSON arrays 100k deep", jsonPath, `{"a": ` + strings.Repeat("[", 100000)},
		{"JSON arrays 100k deep, closed", jsonPath, `{"a": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "}"},
		{"JSON objects 100k deep", jsonPath, strings.Repeat(`{"a":`, 100000)},
		{"JSON arrays 101 deep", jsonPath, `{"a": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}"},
		{"record arrays 100k deep", recordPath, `{"a": ` + strings.Repeat("[", 100000)},
		{"invalid UTF-8", ymlPath, string(goodManifest.with("description=\xc3\x28").yaml())},
		{"invalid UTF-8 in JSON", jsonPath, string(goodManifestJSON.with("description=\"\xed\xa0\x80\"").json())}, // a UTF-16 surrogate
		{"NUL byte", ymlPath, string(goodManifest.yaml()) + "\x00"},
		{"NUL byte in JSON", jsonPath, string(goodManifestJSON.with("description=\"\x00\"").json())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) > MaxSize {
				t.Fatalf("test input is %d bytes, over MaxSize", len(tc.data))
			}
			err := bounded(t, func() error {
				if tc.path == recordPath {
					_, err := ParseRecord(tc.path, []byte(tc.data))
					return err
				}
				_, err := ParseManifest(tc.path, []byte(tc.data))
				return err
			})
			checkErr(t, err, tc.path, ErrSyntax, "")
		})
	}
}

// Large but well-formed documents, and aliases that expand within the limit, are
// accepted, still in bounded time and memory.
func TestHostileAccepted(t *testing.T) {
	big := func(prefix, item, suffix string) string {
		n := (MaxSize - len(prefix) - len(suffix) - 200) / len(item)
		return prefix + strings.Repeat(item, n) + suffix
	}
	yml := string(goodManifest.yaml())
	tests := []struct {
		name string
		path string
		data string
	}{
		{"1 MiB flow list", ymlPath, big(yml+"x: [", "a,", "a]\n")},
		{"1 MiB description", ymlPath, big(yml+"description: ", "x", "\n")},
		{"1 MiB JSON array", jsonPath, big(`{"id": "gain", "version": "1", "node_kind": "gain", "kind": "native", "entrypoint": "libgain.so", "x": [`, "0,", "0]}")},
		{"1 MiB of models", ymlPath, big(yml+"models:\n", "- {id: m, files: [a, b]}\n", "")},
		{"1 MiB of aliased models", ymlPath, big(yml+"x: &m {}\nmodels: [", "*m,", "*m]\n")},
		{"aliases within the limit", ymlPath, wideAliases(900)},
		{"flow lists 99 deep", ymlPath, yml + "a: " + strings.Repeat("[", 98) + strings.Repeat("]", 98)},
		{"JSON arrays 99 deep", jsonPath, `{"id": "gain", "version": "1", "node_kind": "gain", "kind": "native", "entrypoint": "libgain.so", "x": ` + strings.Repeat("[", 98) + strings.Repeat("]", 98) + "}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.data) > MaxSize {
				t.Fatalf("test input is %d bytes, over MaxSize", len(tc.data))
			}
			err := bounded(t, func() error {
				_, err := ParseManifest(tc.path, []byte(tc.data))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Data over MaxSize is refused whatever it holds, before it is looked at.
func TestParseTooLarge(t *testing.T) {
	data := []byte(strings.Repeat("\x00", MaxSize+1))
	_, err := ParseRecord(recordPath, data)
	checkErr(t, err, recordPath, ErrTooLarge, "")
	_, err = ParseManifest(ymlPath, data)
	checkErr(t, err, ymlPath, ErrTooLarge, "")
	if errors.Is(err, ErrSyntax) {
		t.Error("an oversized file was parsed")
	}
}

// Inputs that made yaml.v3 (or v2) panic in the past, from go-yaml issues #323,
// #560, #665, #666, #744 and #833: each is an error, not a panic.
func TestYAMLPastCrashers(t *testing.T) {
	for _, in := range []string{
		"#\n - - QI\xd7", "#\n - - QI", "#\n-\n-\n0", "a:\n.\n-\n", "0: [:!00 \xef", "0: [:!00 ",
		"! !00 \xf6", "! !00 ", "! !!0 \xf7", "{{},<<}", "\"\\0\\\r\n", "  0: [\n] 0", "? ? \"\n\" 0",
		"    - {\n000}0", "0:\n  0: [0\n] 0", " \ufeff\n", "? \ufeff: \ufeff\n", "0: \ufeff\n",
	} {
		_, err := ParseManifest(ymlPath, []byte(in))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseManifest(%q) = %v", in, err)
		}
	}
}

// A panic of the YAML parser, should a new one be found, is ErrSyntax.
func TestYAMLParserPanic(t *testing.T) {
	root, err := recoverSyntax(ymlPath, func() (*yaml.Node, error) { panic("internal error") })
	if root != nil {
		t.Error("got a tree")
	}
	checkErr(t, err, ymlPath, ErrSyntax, "")
}
