package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/reconcile"
)

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

// entry is one file, folder or symlink of a tree, as snapshot sees it.
type entry struct {
	Mode    fs.FileMode
	Content string // a file's bytes, a symlink's target
}

// snapshot returns every entry below root by its path relative to root: modes,
// file contents and symlink targets, so that two snapshots are equal only when
// nothing was created, removed or changed.
func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	tree := map[string]entry{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{Mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Content, err = os.Readlink(path)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(path)
			e.Content = string(b)
		}
		tree[rel] = e
		return err
	})
	require.NoError(t, err)
	return tree
}

// unchanged fails the test when root's tree is not before.
func unchanged(t *testing.T, root string, before map[string]entry) {
	t.Helper()
	after := snapshot(t, root)
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
	for p, e := range before {
		a, ok := after[p]
		switch {
		case !ok:
			t.Errorf("%s was removed", p)
		case a.Mode != e.Mode:
			t.Errorf("%s changed mode: %v -> %v", p, e.Mode, a.Mode)
		case a.Content != e.Content:
			t.Errorf("%s changed content", p)
		}
	}
}

// newRoot returns an empty plugins root.
func newRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), ".plugins")
	require.NoError(t, os.Mkdir(root, 0o755))
	return root
}

// write creates a file below root with the given content, and its folders.
func write(t *testing.T, root, rel, content string) string {
	t.Helper()
	path := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// lib returns the bytes of a compiled test plugin.
func lib(t *testing.T, s plugintest.Spec) []byte {
	t.Helper()
	b, err := os.ReadFile(plugintest.Build(t, s))
	require.NoError(t, err)
	return b
}

var (
	gainSpec = plugintest.Spec{Kind: "gain", Description: "Adjusts volume"}
	echoSpec = plugintest.Spec{Kind: "echo", ABI: 2}
)

// opts are the options of a CLI install: an in-process prober and scan's kinds.
func opts(root string) Options {
	prober := reconcile.InProcess(native.DefaultRange())
	return Options{Root: root, Prober: prober, Provided: func(ctx context.Context) (map[string]string, error) {
		st, err := reconcile.Scan(ctx, reconcile.Options{Root: root, Prober: prober})
		if err != nil {
			return nil, err
		}
		return st.Provided(), nil
	}}
}

// errCrash stands for what a crash-safe prober reports when the library took its
// helper down.
var errCrash = errors.New("probe crashed")

func crashingProber() reconcile.Prober {
	return reconcile.ProberFunc(func(context.Context, string) (native.Metadata, error) {
		return native.Metadata{}, errors.Join(errCrash, errors.New("helper killed by signal SIGSEGV"))
	})
}

// failReader fails the test when it is read: the body must not be read.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("the body was read")
	return 0, io.EOF
}

// countingReader is an endless body that counts what was read of it.
type countingReader struct {
	mu sync.Mutex
	n  int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n += int64(len(p))
	return len(p), nil
}

// assertError checks err is an *Error of op wrapping sentinel, whose one line
// names the file.
func assertError(t *testing.T, err error, sentinel error, name string) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Error(), name)
	assert.NotContains(t, e.Error(), "\n")
}

func body(b []byte) io.Reader { return bytes.NewReader(b) }

// noStaging fails when a staging file is left anywhere below root.
func noStaging(t *testing.T, root string) {
	t.Helper()
	for p := range snapshot(t, root) {
		if strings.HasSuffix(p, ".tmp") {
			t.Errorf("staging file left: %s", p)
		}
	}
}
