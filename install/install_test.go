package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/reconcile"
)

func TestCheckName(t *testing.T) {
	long := "lib" + strings.Repeat("x", 255-len("lib.so")) + ".so"
	require.Len(t, long, 255)
	for _, tc := range []struct {
		name, want string // want "" : refused
	}{
		{"libgain.so", "libgain.so"},
		{"  libgain.so\n", "libgain.so"},
		{"gain.so", "gain.so"},
		{"lib.so", "lib.so"},
		{"gain x.so", "gain x.so"},
		{"lib\u200egain.so", "lib\u200egain.so"}, // a mark, not an embedding, override or isolate
		{"lib gain.so", ""},                      // its folder " gain" could not be named to remove
		{"libgain .so", ""},                      // nor "gain "
		{"lib .so", ""},
		{"lib\u00a0gain.so", ""}, // a no-break space is white space too
		{"lib\u202egain.so", ""}, // bidirectional controls make a listing lie
		{"libgain\u202a.so", ""},
		{"lib\u202cgain.so", ""},
		{"lib\u2066gain.so", ""},
		{"lib\u2069gain.so", ""},
		{"fil\u202eter.wasm", ""},
		{"filter.wasm", "filter.wasm"},
		{long, long},
		{"", ""},
		{"   ", ""},
		{"x" + long, ""},
		{"dir/libgain.so", ""},
		{`dir\libgain.so`, ""},
		{"/libgain.so", ""},
		{"lib..so", ""},
		{"..so", ""},
		{"a..b.so", ""},
		{"..", ""},
		{".libgain.so", ""},
		{".wasm", ""},
		{"libfoo.so.1", ""},
		{"x.dll", ""},
		{"libgain.dylib", ""},
		{"libgain.SO", ""},
		{"x.WASM", ""},
		{"libgain", ""},
		{"lib\x00gain.so", ""},
		{"lib\ngain.so", ""},
		{"lib.x.so", ""},    // its folder would be hidden
		{"libx.tmp.so", ""}, // its folder would be ignored
		{"libgain.so~", ""}, // a backup file
		{"libgain.so.tmp", ""},
	} {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			got, err := CheckName(tc.name)
			if tc.want == "" {
				assertError(t, err, ErrBadName, "")
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestInstallBadNameTouchesNothing(t *testing.T) {
	root := newRoot(t)
	before := snapshot(t, root)
	for _, name := range []string{"lib..so", "x.dll", "../libgain.so", ".libgain.so"} {
		_, err := Install(t.Context(), opts(root), name, failReader{t}, -1, nil)
		assertError(t, err, ErrBadName, "")
	}
	unchanged(t, root, before)
}

func TestInstallLibrary(t *testing.T) {
	root := newRoot(t)
	data := lib(t, gainSpec)
	res, err := Install(t.Context(), opts(root), " libgain.so ", body(data), int64(len(data)), nil)
	require.NoError(t, err)
	assert.Equal(t, Result{Path: filepath.Join(root, "native", "gain", "libgain.so"), Kind: "plugin::native::gain"}, res)

	tree := snapshot(t, root)
	assert.Len(t, tree, 4, "., native, native/gain, native/gain/libgain.so: %v", tree)
	got := tree["native/gain/libgain.so"]
	assert.Equal(t, string(data), got.Content)
	assert.Zero(t, got.Mode&0o022, "group or others can write the library: %v", got.Mode)
	assert.True(t, got.Mode.IsRegular())

	// scan now reports it.
	st, err := reconcile.Scan(t.Context(), reconcile.Options{Root: root})
	require.NoError(t, err)
	require.Len(t, st.Plugins, 1)
	assert.Equal(t, res.Path, st.Plugins[0].Library)
}

func TestInstallLibNameIsItsOwnFolder(t *testing.T) {
	root := newRoot(t)
	res, err := Install(t.Context(), opts(root), "lib.so", body(lib(t, echoSpec)), -1, nil)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "native", "lib.so", "lib.so"), res.Path)
	assert.Equal(t, "plugin::native::echo", res.Kind)
}

func TestInstallIntoExistingFolder(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/gain/README", "notes")
	write(t, root, "native/gain/.libgain.so.plugwatch-1-1", "an old private copy")
	res, err := Install(t.Context(), opts(root), "libgain.so", body(lib(t, gainSpec)), -1, nil)
	require.NoError(t, err)
	assert.FileExists(t, res.Path)
	assert.FileExists(t, filepath.Join(root, "native/gain/README"))
	noStaging(t, root)
}

const gainManifest = `id: gain
name: Gain
version: 1.0.0
node_kind: gain
kind: native
entrypoint: libgain.so
`

func TestInstallWithManifest(t *testing.T) {
	root := newRoot(t)
	res, err := Install(t.Context(), opts(root), "libgain.so", body(lib(t, gainSpec)), -1, []byte(gainManifest))
	require.NoError(t, err)
	tree := snapshot(t, root)
	assert.Equal(t, gainManifest, tree["native/gain/plugin.yml"].Content)
	assert.Zero(t, tree["native/gain/plugin.yml"].Mode&0o022)
	assert.FileExists(t, res.Path)
	assert.Len(t, tree, 5)

	st, err := reconcile.Scan(t.Context(), reconcile.Options{Root: root})
	require.NoError(t, err)
	require.Len(t, st.Plugins, 1)
	assert.Equal(t, "1.0.0", st.Plugins[0].Version)
	assert.Equal(t, filepath.Join(root, "native/gain/plugin.yml"), st.Plugins[0].Manifest)
}

func TestInstallBadManifest(t *testing.T) {
	for name, m := range map[string]string{
		"other kind":       strings.Replace(gainManifest, "node_kind: gain", "node_kind: reverb", 1),
		"other entrypoint": strings.Replace(gainManifest, "entrypoint: libgain.so", "entrypoint: libother.so", 1),
		"wasm kind":        strings.Replace(gainManifest, "kind: native", "kind: wasm", 1),
		"missing version":  strings.Replace(gainManifest, "version: 1.0.0\n", "", 1),
		"not yaml":         "id: [",
	} {
		t.Run(name, func(t *testing.T) {
			root := newRoot(t)
			write(t, root, "native/other/libother.so", "not a library, not probed")
			before := snapshot(t, root)
			_, err := Install(t.Context(), opts(root), "libgain.so", body(lib(t, gainSpec)), -1, []byte(m))
			assertError(t, err, ErrInvalid, "libgain.so")
			unchanged(t, root, before)
		})
	}
}

func TestInstallKindAlreadyProvided(t *testing.T) {
	root := newRoot(t)
	installed := plugintest.Install(t, gainSpec, filepath.Join(root, "native", "gain", "libgain.so"))
	write(t, root, "native/gain/plugin.yml", gainManifest)
	before := snapshot(t, root)
	other := lib(t, plugintest.Spec{Kind: "gain", Description: "another build"})

	// Under another file name: the same kind is refused once probed.
	_, err := Install(t.Context(), opts(root), "libgain2.so", body(other), -1, nil)
	assertError(t, err, ErrKindProvided, "libgain2.so")
	assert.Contains(t, err.Error(), "kind plugin::native::gain is already provided by native/gain/libgain.so")
	unchanged(t, root, before)

	// "plugin::native::gain" is the same kind.
	_, err = Install(t.Context(), opts(root), "libgainns.so", body(lib(t, plugintest.Spec{Kind: "plugin::native::gain"})), -1, nil)
	assertError(t, err, ErrKindProvided, "libgainns.so")
	unchanged(t, root, before)

	// Under the same file name: the folder is occupied; the body is not even read.
	_, err = Install(t.Context(), opts(root), "libgain.so", failReader{t}, -1, nil)
	assertError(t, err, ErrOccupied, "libgain.so")
	assert.Contains(t, err.Error(), "native/gain already holds")
	unchanged(t, root, before)
	assert.Equal(t, before["native/gain/libgain.so"].Content, string(mustRead(t, installed)))
}

func TestInstallProvidedByDaemon(t *testing.T) {
	// A daemon's Provided also names loaded plugins that are no longer on disk.
	root := newRoot(t)
	before := snapshot(t, root)
	o := opts(root)
	o.Provided = func(context.Context) (map[string]string, error) {
		return map[string]string{"plugin::native::gain": filepath.Join(root, "bundles/gain/1.0.0/libgain.so")}, nil
	}
	_, err := Install(t.Context(), o, "libgain.so", body(lib(t, gainSpec)), -1, nil)
	assertError(t, err, ErrKindProvided, "libgain.so")
	assert.Contains(t, err.Error(), "already provided by bundles/gain/1.0.0/libgain.so")
	unchanged(t, root, before)

	o.Provided = func(context.Context) (map[string]string, error) { return nil, errors.New("daemon gone") }
	_, err = Install(t.Context(), o, "libgain.so", body(lib(t, gainSpec)), -1, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "daemon gone")
	unchanged(t, root, before)
}

func TestInstallOccupied(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T, root string){
		"a library":        func(t *testing.T, root string) { write(t, root, "native/gain/gain.so", "x") },
		"a manifest":       func(t *testing.T, root string) { write(t, root, "native/gain/plugin.yml", "x") },
		"a stem manifest":  func(t *testing.T, root string) { write(t, root, "native/gain/gain.plugin.yaml", "x") },
		"a file":           func(t *testing.T, root string) { write(t, root, "native/gain", "x") },
		"native is a file": func(t *testing.T, root string) { write(t, root, "native", "x") },
		"a symlinked folder": func(t *testing.T, root string) {
			write(t, root, "elsewhere/README", "x")
			require.NoError(t, os.MkdirAll(filepath.Join(root, "native"), 0o755))
			require.NoError(t, os.Symlink("../elsewhere", filepath.Join(root, "native", "gain")))
		},
	} {
		t.Run(name, func(t *testing.T) {
			root := newRoot(t)
			setup(t, root)
			before := snapshot(t, root)
			_, err := Install(t.Context(), opts(root), "libgain.so", failReader{t}, -1, nil)
			assertError(t, err, ErrOccupied, "libgain.so")
			unchanged(t, root, before)
		})
	}
}

func TestInstallInvalidLibrary(t *testing.T) {
	for name, data := range map[string][]byte{
		"text":      []byte("just text\n"),
		"empty":     nil,
		"truncated": lib(t, gainSpec)[:100],
		"no symbol": lib(t, plugintest.Spec{NoSymbol: true}),
		"null kind": lib(t, plugintest.Spec{NullKind: true}),
		"core kind": lib(t, plugintest.Spec{Kind: "core:gain"}),
		"abi 12":    lib(t, plugintest.Spec{Kind: "future", ABI: 12}),
	} {
		t.Run(name, func(t *testing.T) {
			root := newRoot(t)
			before := snapshot(t, root)
			_, err := Install(t.Context(), opts(root), "libnotes.so", body(data), -1, nil)
			assertError(t, err, ErrInvalid, "libnotes.so")
			unchanged(t, root, before)
		})
	}
}

func TestInstallProbeCrash(t *testing.T) {
	root := newRoot(t)
	write(t, root, "native/README", "keep")
	before := snapshot(t, root)
	o := opts(root)
	o.Prober = crashingProber()
	_, err := Install(t.Context(), o, "libboom.so", body(lib(t, gainSpec)), -1, nil)
	assertError(t, err, ErrInvalid, "libboom.so")
	assert.ErrorIs(t, err, errCrash, "the prober's error is kept")
	assert.Contains(t, err.Error(), "SIGSEGV")
	unchanged(t, root, before)
}

func TestInstallTooLarge(t *testing.T) {
	root := newRoot(t)
	before := snapshot(t, root)
	data := lib(t, gainSpec)
	_, err := Install(t.Context(), opts(root), "libgain.so", body(data), int64(len(data))-1, nil)
	assertError(t, err, ErrTooLarge, "libgain.so")
	unchanged(t, root, before)

	// An endless body is read only up to the limit.
	r := &countingReader{}
	_, err = Install(t.Context(), opts(root), "libgain.so", r, 1000, nil)
	assertError(t, err, ErrTooLarge, "libgain.so")
	assert.LessOrEqual(t, r.n, int64(1001))
	unchanged(t, root, before)

	// A body that refuses itself as too large (a declared size) is ErrTooLarge too.
	tooLarge := io.MultiReader(strings.NewReader("\x00asm"), errReader{fmt.Errorf("declared 10 bytes: %w", ErrTooLarge)})
	_, err = Install(t.Context(), opts(root), "f.wasm", tooLarge, -1, nil)
	assertError(t, err, ErrTooLarge, "f.wasm")
	unchanged(t, root, before)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestInstallBodyFails(t *testing.T) {
	root := newRoot(t)
	before := snapshot(t, root)
	broken := io.MultiReader(strings.NewReader("\x7fELF"), errReader{io.ErrUnexpectedEOF})
	_, err := Install(t.Context(), opts(root), "libgain.so", broken, -1, nil)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	unchanged(t, root, before)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Install(ctx, opts(root), "libgain.so", body(lib(t, gainSpec)), -1, nil)
	require.ErrorIs(t, err, context.Canceled)
	unchanged(t, root, before)
}

func TestInstallWasm(t *testing.T) {
	root := newRoot(t)
	module := "\x00asm\x01\x00\x00\x00"
	res, err := Install(t.Context(), opts(root), "filter.wasm", strings.NewReader(module), -1, nil)
	require.NoError(t, err)
	assert.Equal(t, Result{Path: filepath.Join(root, "wasm", "filter.wasm")}, res)
	tree := snapshot(t, root)
	assert.Equal(t, module, tree["wasm/filter.wasm"].Content)
	assert.Zero(t, tree["wasm/filter.wasm"].Mode&0o133, "a module is not executable nor writable by others")
	assert.Len(t, tree, 3)

	// It exists now: refused before the body is read.
	before := snapshot(t, root)
	_, err = Install(t.Context(), opts(root), "filter.wasm", failReader{t}, -1, nil)
	assertError(t, err, ErrOccupied, "filter.wasm")
	unchanged(t, root, before)

	// Bad magic, or too short.
	for _, content := range []string{"\x7fELF\x02\x01\x01", "\x00as", ""} {
		_, err = Install(t.Context(), opts(root), "other.wasm", strings.NewReader(content), -1, nil)
		assertError(t, err, ErrInvalid, "other.wasm")
		unchanged(t, root, before)
	}

	// A manifest goes with a library only.
	_, err = Install(t.Context(), opts(root), "other.wasm", strings.NewReader(module), -1, []byte(gainManifest))
	assertError(t, err, ErrInvalid, "other.wasm")
	unchanged(t, root, before)
}

func TestInstallWasmFolderCreatedAndRemoved(t *testing.T) {
	root := newRoot(t)
	before := snapshot(t, root)
	_, err := Install(t.Context(), opts(root), "bad.wasm", strings.NewReader("nope"), -1, nil)
	assertError(t, err, ErrInvalid, "bad.wasm")
	unchanged(t, root, before) // wasm/ was made by the install, and removed again
}

func TestInstallMissingRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "missing")
	_, err := Install(t.Context(), opts(root), "libgain.so", failReader{t}, -1, nil)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "does not exist")
	assert.NoDirExists(t, root)
}

// TestInstallInjectedFailures fails each step of an install in turn and checks that
// the root is left exactly as it was, whether the install made the folders or they
// were there before.
func TestInstallInjectedFailures(t *testing.T) {
	errIO := syscall.EIO
	failAfter := func(n int) func(*os.File) io.Writer {
		return func(f *os.File) io.Writer { return &brokenWriter{w: f, left: n} }
	}
	for _, tc := range []struct {
		name   string
		mod    func(*steps, *Options)
		want   error
		manife bool
	}{
		{name: "staging write", want: errIO, mod: func(s *steps, _ *Options) { s.writer = failAfter(0) }},
		{name: "staging write midway", want: errIO, mod: func(s *steps, _ *Options) { s.writer = failAfter(1000) }},
		{name: "probe", want: ErrInvalid, mod: func(_ *steps, o *Options) {
			o.Prober = reconcile.ProberFunc(func(context.Context, string) (native.Metadata, error) {
				return native.Metadata{}, &native.Error{Op: "open", Err: native.ErrLoader, Detail: "injected"}
			})
		}},
		{name: "rename", want: errIO, mod: func(s *steps, _ *Options) {
			s.move = func(string, string) error { return errIO }
		}},
		{name: "rename exists", want: ErrOccupied, mod: func(s *steps, _ *Options) {
			s.move = func(string, string) error { return fs.ErrExist }
		}},
		{name: "manifest rename", want: errIO, manife: true, mod: func(s *steps, _ *Options) {
			calls := 0
			s.move = func(from, to string) error {
				if calls++; calls == 2 {
					return errIO
				}
				return moveNoReplace(from, to)
			}
		}},
		{name: "manifest staging write", want: errIO, manife: true, mod: func(s *steps, _ *Options) {
			calls := 0
			s.writer = func(f *os.File) io.Writer {
				if calls++; calls == 2 {
					return &brokenWriter{w: f}
				}
				return f
			}
		}},
	} {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing folder %v", tc.name, existing), func(t *testing.T) {
				root := newRoot(t)
				if existing {
					write(t, root, "native/gain/README", "keep")
					write(t, root, "native/gain/.libgain.so.plugwatch-9-1", "someone's copy")
				}
				before := snapshot(t, root)
				st, o := defaultSteps(), opts(root)
				tc.mod(&st, &o)
				var m []byte
				if tc.manife {
					m = []byte(gainManifest)
				}
				_, err := install(t.Context(), o, "libgain.so", body(lib(t, gainSpec)), -1, m, st)
				assertError(t, err, tc.want, "libgain.so")
				unchanged(t, root, before)
			})
		}
	}
}

// brokenWriter writes left bytes, then fails with EIO.
type brokenWriter struct {
	w    io.Writer
	left int
}

func (b *brokenWriter) Write(p []byte) (int, error) {
	if len(p) <= b.left {
		b.left -= len(p)
		return b.w.Write(p)
	}
	n, _ := b.w.Write(p[:b.left])
	b.left = 0
	return n, syscall.EIO
}

// TestInstallRace runs installs of the same name at once, all probed before any
// moves: exactly one wins, the others are refused, and the file in place is the
// winner's, whole.
func TestInstallRace(t *testing.T) {
	const n = 4
	root := newRoot(t)
	datas := make([][]byte, n)
	for i := range datas {
		datas[i] = lib(t, plugintest.Spec{Kind: "gain", Description: fmt.Sprintf("build %d", i)})
	}
	// Every install stages and probes its file before any moves it into place. An
	// install that failed earlier counts as arrived, so that none waits forever.
	var probed sync.WaitGroup
	probed.Add(n)
	type arrive struct{}
	inner := reconcile.InProcess(native.DefaultRange())
	o := opts(root)
	o.Prober = reconcile.ProberFunc(func(ctx context.Context, path string) (native.Metadata, error) {
		m, err := inner.Probe(ctx, path)
		ctx.Value(arrive{}).(func())()
		probed.Wait()
		return m, err
	})
	o.Provided = func(context.Context) (map[string]string, error) { return nil, nil }

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			arrived := sync.OnceFunc(probed.Done)
			defer arrived()
			ctx := context.WithValue(t.Context(), arrive{}, arrived)
			_, errs[i] = Install(ctx, o, "libgain.so", body(datas[i]), -1, nil)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two installs won")
			winner = i
			continue
		}
		assertError(t, err, ErrOccupied, "libgain.so")
	}
	require.NotEqual(t, -1, winner, "no install won")
	tree := snapshot(t, root)
	assert.Equal(t, string(datas[winner]), tree["native/gain/libgain.so"].Content)
	assert.Len(t, tree, 4, "%v", tree)
}

func TestNoReplace(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	for name, rename := range map[string]func(string, string) error{
		"system":            renameNoReplace,
		"EINVAL: link":      func(string, string) error { return syscall.EINVAL },
		"ENOSYS: link":      func(string, string) error { return syscall.ENOSYS },
		"unsupported: link": func(string, string) error { return errors.ErrUnsupported },
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(from, []byte("new"), 0o644))
			require.NoError(t, os.WriteFile(to, []byte("old"), 0o644))
			err := noReplace(rename, from, to)
			require.ErrorIs(t, err, fs.ErrExist)
			assert.Equal(t, "old", string(mustRead(t, to)))
			assert.Equal(t, "new", string(mustRead(t, from)))

			require.NoError(t, os.Remove(to))
			require.NoError(t, noReplace(rename, from, to))
			assert.Equal(t, "new", string(mustRead(t, to)))
			assert.NoFileExists(t, from)
			require.NoError(t, os.Remove(to))
		})
	}
	// Another failure is not retried with link.
	require.NoError(t, os.WriteFile(from, []byte("new"), 0o644))
	err := noReplace(func(string, string) error { return syscall.EIO }, from, to)
	require.ErrorIs(t, err, syscall.EIO)
	assert.NoFileExists(t, to)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestInstallLongNameAndStagingCollision(t *testing.T) {
	root := newRoot(t)
	name := "lib" + strings.Repeat("g", 255-len("lib.so")) + ".so"
	res, err := Install(t.Context(), opts(root), name, body(lib(t, echoSpec)), -1, nil)
	require.NoError(t, err, "the staging name of a 255-byte name is shortened")
	assert.FileExists(t, res.Path)

	// A staging name that is taken is not reused: someone else's file stays.
	foreign := write(t, root, fmt.Sprintf("native/gain/.libgain.so.%d-aaaaaaaa.tmp", os.Getpid()), "someone else's")
	st := defaultSteps()
	names := []string{"aaaaaaaa", "aaaaaaaa", "bbbbbbbb"}
	st.random = func() string { n := names[0]; names = names[1:]; return n }
	res, err = install(t.Context(), opts(root), "libgain.so", body(lib(t, gainSpec)), -1, nil, st)
	require.NoError(t, err)
	assert.FileExists(t, res.Path)
	assert.Equal(t, "someone else's", string(mustRead(t, foreign)))
}

// TestInstallManifestIDNamesTheFolder: with a manifest, the folder is the
// manifest's id, so that remove finds what scan lists under that id.
func TestInstallManifestIDNamesTheFolder(t *testing.T) {
	root := newRoot(t)
	m := strings.NewReplacer("id: gain", "id: gain_c", "entrypoint: libgain.so", "entrypoint: libgain_plugin_c.so").Replace(gainManifest)
	res, err := Install(t.Context(), opts(root), "libgain_plugin_c.so", body(lib(t, gainSpec)), -1, []byte(m))
	require.NoError(t, err)
	assert.Equal(t, Result{Path: filepath.Join(root, "native", "gain_c", "libgain_plugin_c.so"), Kind: "plugin::native::gain"}, res)
	tree := snapshot(t, root)
	assert.Equal(t, m, tree["native/gain_c/plugin.yml"].Content)
	assert.Len(t, tree, 5, "%v", tree)

	st, err := reconcile.Scan(t.Context(), reconcile.Options{Root: root})
	require.NoError(t, err)
	require.Len(t, st.Plugins, 1)
	assert.Equal(t, "gain_c", st.Plugins[0].ID)

	removed, err := Remove(t.Context(), root, "gain_c")
	require.NoError(t, err)
	assert.Equal(t, []string{res.Path, filepath.Join(root, "native/gain_c/plugin.yml"), filepath.Join(root, "native/gain_c")}, removed)
	assert.Len(t, snapshot(t, root), 2) // the root and native/
}

// TestInstallManifestIDRules: the id must name a folder remove can be given and
// plugwatch scans; with a manifest, the file's stem no longer matters.
func TestInstallManifestIDRules(t *testing.T) {
	withID := func(id, entrypoint string) []byte {
		return []byte(strings.NewReplacer("id: gain", "id: "+id, "entrypoint: libgain.so", "entrypoint: "+entrypoint).Replace(gainManifest))
	}
	for _, id := range []string{`"a/b"`, `"a\\b"`, `" gain"`, `"gain "`, `".."`, `"."`, ".hidden", "gain.tmp", "gain~", `"ga\u202ein"`, `"ga\nin"`} {
		t.Run(id, func(t *testing.T) {
			root := newRoot(t)
			before := snapshot(t, root)
			_, err := Install(t.Context(), opts(root), "libgain.so", failReader{t}, -1, withID(id, "libgain.so"))
			assertError(t, err, ErrBadName, "libgain.so")
			assert.Contains(t, err.Error(), "the manifest's id names the folder")
			unchanged(t, root, before)
		})
	}

	// The folder the id names is checked like a stem's folder: occupied is refused
	// before the body is read.
	root := newRoot(t)
	write(t, root, "native/sp2/libother.so", "x")
	before := snapshot(t, root)
	_, err := Install(t.Context(), opts(root), "libgain.so", failReader{t}, -1, withID("sp2", "libgain.so"))
	assertError(t, err, ErrOccupied, "libgain.so")
	assert.Contains(t, err.Error(), "native/sp2 already holds libother.so")
	unchanged(t, root, before)

	// A file whose stem could not name a folder is fine in the id's folder.
	root = newRoot(t)
	res, err := Install(t.Context(), opts(root), "lib sp2.so", body(lib(t, gainSpec)), -1, withID("sp2", "lib sp2.so"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "native", "sp2", "lib sp2.so"), res.Path)
	_, err = Install(t.Context(), opts(root), "lib sp3.so", failReader{t}, -1, nil)
	assertError(t, err, ErrBadName, "lib sp3.so")
}

// TestInstallStagingName: the staged file is .<name>.<pid>-<random>.tmp in the
// target folder, and RemoveDeadStaging leaves it while this process runs.
func TestInstallStagingName(t *testing.T) {
	root := newRoot(t)
	inner := reconcile.InProcess(native.DefaultRange())
	var staged []string
	o := opts(root)
	o.Prober = reconcile.ProberFunc(func(ctx context.Context, path string) (native.Metadata, error) {
		staged = append(staged, path)
		assert.Zero(t, RemoveDeadStaging(root), "a live install's staging file was removed")
		assert.FileExists(t, path)
		return inner.Probe(ctx, path)
	})
	_, err := Install(t.Context(), o, "libgain.so", body(lib(t, gainSpec)), -1, nil)
	require.NoError(t, err)
	require.Len(t, staged, 1)
	assert.Equal(t, filepath.Join(root, "native", "gain"), filepath.Dir(staged[0]))
	assert.Regexp(t, fmt.Sprintf(`^\.libgain\.so\.%d-[0-9a-f]{8}\.tmp$`, os.Getpid()), filepath.Base(staged[0]))
	noStaging(t, root)
}
