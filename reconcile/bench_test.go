package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/probe"
)

// BenchmarkScan measures computing the desired state of a root holding N directory
// bundles, each a manifest and its own copy of a library: "first" with a new Scanner
// (every library probed in-process), "first-helpers" probing in helper processes as
// plugwatch scan does, "unchanged" with a Scanner whose cache is warm (no library
// opened). Run it with:
//
//	go test ./reconcile -run '^$' -bench Scan -benchtime 3x
func BenchmarkScan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		root := bundles(b, n)
		b.Run(fmt.Sprintf("bundles=%d/first", n), func(b *testing.B) {
			for b.Loop() {
				s, err := NewScanner(Options{Root: root})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Desired(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("bundles=%d/first-helpers", n), func(b *testing.B) {
			// As scan does: every library probed in probe helper processes.
			for b.Loop() {
				helpers := probe.New(probe.Options{})
				s, err := NewScanner(Options{Root: root, Prober: helpers})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Desired(b.Context()); err != nil {
					b.Fatal(err)
				}
				helpers.Close()
			}
		})
		b.Run(fmt.Sprintf("bundles=%d/unchanged", n), func(b *testing.B) {
			s, err := NewScanner(Options{Root: root})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Desired(b.Context()); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Desired(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bundles makes a root with n bundles native/pNNNNN/ of one kind each (the first
// provides it, the others are conflicts: every library is still probed).
func bundles(b *testing.B, n int) string {
	b.Helper()
	lib, err := os.ReadFile(plugintest.Build(b, plugintest.Spec{Kind: "gain"}))
	if err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(b.TempDir(), ".plugins")
	for i := range n {
		dir := filepath.Join(root, "native", fmt.Sprintf("p%05d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		manifest := fmt.Sprintf("id: p%05d\nversion: 1.0.0\nnode_kind: gain\nkind: native\nentrypoint: libgain.so\n", i)
		if err := os.WriteFile(filepath.Join(dir, "plugin.yml"), []byte(manifest), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "libgain.so"), lib, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return root
}
