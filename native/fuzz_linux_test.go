package native

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// FuzzCheck feeds arbitrary files to the ELF check that guards dlopen: it must never
// panic, and must answer nil, ErrIncomplete or ErrNotLoadable. Seeds: real test
// plugins, their prefixes, another CPU's header and a text file.
//
//	go test ./native -run '^$' -fuzz FuzzCheck -fuzztime 60s
func FuzzCheck(f *testing.F) {
	lib, err := os.ReadFile(plugintest.Build(f, plugintest.Spec{Kind: "gain"}))
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []int{0, 4, 16, 64, 100, 1000, len(lib) / 2, len(lib) - 1, len(lib)} {
		f.Add(lib[:n])
	}
	foreign := append([]byte(nil), lib...)
	foreign[18], foreign[19] = 183, 0 // EM_AARCH64
	f.Add(foreign)
	f.Add([]byte("this is a text file named like a library\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "lib.so")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		err := Check(path)
		if err != nil && !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrNotLoadable) {
			t.Fatalf("Check: %v", err)
		}
	})
}
