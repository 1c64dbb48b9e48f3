//go:build linux && (amd64 || arm64)

package probe_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plugwatch/plugwatch/internal/lockedbuf"
	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
)

// helpers records the helpers a Prober starts: the test binary itself, with extra
// environment.
type helpers struct {
	env  []string
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (h *helpers) command() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), h.env...)
	h.mu.Lock()
	h.cmds = append(h.cmds, cmd)
	h.mu.Unlock()
	return cmd
}

// commands returns the commands made so far.
func (h *helpers) commands() []*exec.Cmd {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.cmds)
}

func (h *helpers) started() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.cmds)
}

// newProber returns a Prober closed when the test ends. (TestMain checks that no
// goroutine is left; TestClose checks helpers too.)
func newProber(t *testing.T, opts probe.Options) *probe.Prober {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p := probe.New(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// inProcess probes path in this process.
func inProcess(t *testing.T, path string) native.Metadata {
	t.Helper()
	md, err := native.Probe(path, native.DefaultRange())
	if err != nil {
		t.Fatal(err)
	}
	return md
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGoodLibrary(t *testing.T) {
	p := newProber(t, probe.Options{})
	for _, abi := range []int{1, 2, 3, 6, 8, 9} {
		lib := plugintest.Build(t, plugintest.Spec{Kind: "gain", ABI: abi, Description: "Adjusts volume"})
		got, err := p.Probe(ctxFor(t), lib)
		if err != nil {
			t.Fatalf("ABI %d: %v", abi, err)
		}
		if want := inProcess(t, lib); !reflect.DeepEqual(got, want) {
			t.Errorf("ABI %d: through the helper\n%+v\nin process\n%+v", abi, got, want)
		}
	}
}

func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	plugintest.Install(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libgain.so"))
	t.Chdir(dir)
	p := newProber(t, probe.Options{Workers: 1})
	got, err := p.Probe(ctxFor(t), "libgain.so")
	if err != nil {
		t.Fatal(err)
	}
	if want := inProcess(t, "libgain.so"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// Each crash variant is ErrCrashed, while good libraries probed at the same time in
// the same Prober (some queued behind the crashing ones) all succeed.
func TestCrashes(t *testing.T) {
	const timeout = 2 * time.Second // a good library takes milliseconds, even on a busy machine
	h := &helpers{}
	p := newProber(t, probe.Options{Timeout: timeout, Workers: 2, Command: h.command})
	want := map[string]string{
		"entry_segv": "killed by signal SIGSEGV",
		"ctor_abort": "aborted (SIGABRT)",
		"ctor_hang":  "hung for more than " + timeout.String(),
	}
	var good []string
	for i, abi := range []int{2, 6, 9, 2, 6, 9} {
		good = append(good, plugintest.Install(t, plugintest.Spec{Kind: "gain", ABI: abi},
			filepath.Join(t.TempDir(), "libgood"+string(rune('a'+i))+".so")))
	}
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	for crash, detail := range want {
		lib := plugintest.Build(t, plugintest.Spec{Kind: "bad", Crash: crash})
		wg.Go(func() {
			_, err := p.Probe(ctx, lib)
			if !errors.Is(err, native.ErrCrashed) {
				t.Errorf("%s: got %v, want ErrCrashed", crash, err)
				return
			}
			ne, ok := errors.AsType[*native.Error](err)
			if !ok || ne.Op != "probe" || ne.Path != lib || ne.Detail != detail {
				t.Errorf("%s: got %#v, want Op probe, Path %s, Detail %q", crash, err, lib, detail)
			}
		})
	}
	for _, lib := range good {
		wg.Go(func() {
			got, err := p.Probe(ctx, lib)
			if err != nil {
				t.Errorf("%s: %v", lib, err)
			} else if want := inProcess(t, lib); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %+v, want %+v", lib, got, want)
			}
		})
	}
	wg.Wait()
	// Every crash variant ended the helper it was probed in.
	if n := h.started(); n < len(want) {
		t.Errorf("%d helpers started, want at least %d", n, len(want))
	}
}

// A library that hangs the first probe of a fresh helper was alone already: it is
// blamed at once, not probed (and waited for) again. One that hangs a helper after
// another library is probed again alone first.
func TestAloneIsNotTriedTwice(t *testing.T) {
	var logs lockedbuf.Buffer
	p := newProber(t, probe.Options{Timeout: 2 * time.Second, Workers: 1,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	hang := plugintest.Build(t, plugintest.Spec{Kind: "bad", Crash: "ctor_hang"})
	good := plugintest.Install(t, plugintest.Spec{Kind: "good"}, filepath.Join(t.TempDir(), "libgood.so"))
	const again = "probing the library again alone"

	if _, err := p.Probe(ctxFor(t), hang); !errors.Is(err, native.ErrCrashed) {
		t.Fatalf("got %v, want ErrCrashed", err)
	}
	if strings.Contains(logs.String(), again) {
		t.Errorf("a library alone in its helper was probed again:\n%s", logs.String())
	}
	rs := p.ProbeBatch(ctxFor(t), []string{good, hang})
	if rs[0].Err != nil || !errors.Is(rs[1].Err, native.ErrCrashed) {
		t.Fatalf("got %v, %v; want nil, ErrCrashed", rs[0].Err, rs[1].Err)
	}
	if !strings.Contains(logs.String(), again) {
		t.Errorf("a library after another in its helper was blamed without a try alone:\n%s", logs.String())
	}
}

// A helper that dies after a good library was probed in it (as one whose constructor
// started a thread that crashes later would) does not get the next library of the
// batch blamed, and the results it gave before are kept.
func TestRetryAlone(t *testing.T) {
	dir := t.TempDir()
	poison := plugintest.Install(t, plugintest.Spec{Kind: "poison"}, filepath.Join(dir, "libpoison.so"))
	die := plugintest.Install(t, plugintest.Spec{Kind: "die"}, filepath.Join(dir, "libdie.so"))
	good := plugintest.Install(t, plugintest.Spec{Kind: "good"}, filepath.Join(dir, "libgood.so"))
	h := &helpers{env: []string{probe.HookEnv + "=poison=libpoison,die=libdie"}}
	p := newProber(t, probe.Options{Workers: 1, Command: h.command})

	// The poisoned helper dies on good; good passes alone in a fresh one, and the
	// library after it is probed in another.
	rs := p.ProbeBatch(ctxFor(t), []string{good, poison, good, good})
	for i, r := range rs {
		if r.Err != nil {
			t.Errorf("library %d: %v", i, r.Err)
		} else if want := inProcess(t, []string{good, poison, good, good}[i]); !reflect.DeepEqual(r.Meta, want) {
			t.Errorf("library %d: got %+v, want %+v", i, r.Meta, want)
		}
	}

	// A library that kills every helper it is probed in is blamed after its second
	// try; the libraries before and after it in the batch are not.
	rs = p.ProbeBatch(ctxFor(t), []string{good, die, good})
	if rs[0].Err != nil || rs[2].Err != nil {
		t.Errorf("good libraries around libdie: %v, %v", rs[0].Err, rs[2].Err)
	}
	err := rs[1].Err
	if !errors.Is(err, native.ErrCrashed) || !errors.Is(err, native.ErrCrashed) || !strings.Contains(err.Error(), "killed by signal SIGKILL") {
		t.Errorf("die: got %v, want ErrCrashed killed by signal SIGKILL", err)
	}
	if n := h.started(); n < 5 {
		t.Errorf("%d helpers started, want at least 5 (two batches, and two retries alone)", n)
	}

	// The libraries sent to a helper after the one that killed it (the parent sends
	// a few ahead of the replies) are probed in the next helper, in order.
	batch := slices.Concat(slices.Repeat([]string{good}, 6), []string{die}, slices.Repeat([]string{good}, 9))
	rs = p.ProbeBatch(ctxFor(t), batch)
	for i, r := range rs {
		switch {
		case batch[i] == die && !errors.Is(r.Err, native.ErrCrashed):
			t.Errorf("library %d, libdie: got %v, want ErrCrashed", i, r.Err)
		case batch[i] == good && r.Err != nil:
			t.Errorf("library %d: %v", i, r.Err)
		case batch[i] == good && r.Meta.Kind != "good":
			t.Errorf("library %d: got kind %q, want good", i, r.Meta.Kind)
		}
	}
}

// Libraries queued behind one that hangs its helper are neither lost nor blamed,
// whether they come in the same batch or in calls of their own.
func TestQueuedBehindCrash(t *testing.T) {
	p := newProber(t, probe.Options{Workers: 1, Timeout: 2 * time.Second})
	ctx := ctxFor(t)
	hang := plugintest.Build(t, plugintest.Spec{Kind: "hang", Crash: "ctor_hang"})
	var good []string
	for i := range 4 {
		good = append(good, plugintest.Install(t, plugintest.Spec{Kind: "good"}, filepath.Join(t.TempDir(), "libgood"+string(rune('a'+i))+".so")))
	}
	rs := p.ProbeBatch(ctx, append([]string{hang}, good...))
	if !errors.Is(rs[0].Err, native.ErrCrashed) {
		t.Errorf("hang: got %v, want ErrCrashed", rs[0].Err)
	}
	for i, r := range rs[1:] {
		if r.Err != nil {
			t.Errorf("%s: %v", good[i], r.Err)
		}
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := p.Probe(ctx, hang); !errors.Is(err, native.ErrCrashed) {
			t.Errorf("hang: got %v, want ErrCrashed", err)
		}
	})
	for _, lib := range good {
		wg.Go(func() {
			if _, err := p.Probe(ctx, lib); err != nil {
				t.Errorf("%s: %v", lib, err)
			}
		})
	}
	wg.Wait()
}

// A batch gives one result per path, in order, each what the library gives alone.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, abi := range []int{1, 2, 3, 6, 8, 9, 6, 6, 6, 6} {
		paths = append(paths, plugintest.Install(t, plugintest.Spec{Kind: "gain", ABI: abi},
			filepath.Join(dir, "libgood"+string(rune('a'+i))+".so")))
	}
	abort := plugintest.Build(t, plugintest.Spec{Kind: "bad", Crash: "ctor_abort"})
	future := plugintest.Build(t, plugintest.Spec{Kind: "future", ABI: 12})
	paths = slices.Insert(paths, 3, abort, future)
	paths = append(paths, filepath.Join(dir, "libmissing.so"))
	p := newProber(t, probe.Options{Workers: 2, Timeout: 2 * time.Second})
	rs := p.ProbeBatch(ctxFor(t), paths)
	if len(rs) != len(paths) {
		t.Fatalf("%d results for %d paths", len(rs), len(paths))
	}
	for i, path := range paths {
		r := rs[i]
		switch path {
		case abort:
			if !errors.Is(r.Err, native.ErrCrashed) {
				t.Errorf("%d %s: got %v, want ErrCrashed", i, path, r.Err)
			}
			continue
		}
		md, err := native.Probe(path, native.DefaultRange())
		if !reflect.DeepEqual(r.Meta, md) || !reflect.DeepEqual(r.Err, err) {
			t.Errorf("%d %s: got %+v, %v; in process %+v, %v", i, path, r.Meta, r.Err, md, err)
		}
	}
	if rs := p.ProbeBatch(ctxFor(t), nil); len(rs) != 0 {
		t.Errorf("no paths: %d results", len(rs))
	}
}

// native's errors come through with their sentinel, Op, Path and Detail.
func TestNativeErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "libtext.so")
	if err := os.WriteFile(text, []byte("not a library\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		lib  string
		want error
	}{
		{"incomplete", plugintest.Truncated(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libtrunc.so"), 100), native.ErrIncomplete},
		{"not loadable", text, native.ErrNotLoadable},
		{"foreign", plugintest.ForeignArch(t, plugintest.Spec{Kind: "gain"}, filepath.Join(dir, "libforeign.so")), native.ErrNotLoadable},
		{"abi version", plugintest.Build(t, plugintest.Spec{Kind: "future", ABI: 12}), native.ErrABIVersion},
		{"no entry", plugintest.Build(t, plugintest.Spec{NoSymbol: true}), native.ErrNoEntry},
		{"loader", plugintest.Build(t, plugintest.Spec{Kind: "gain", Bad: "unresolved_symbol"}), native.ErrLoader},
		{"metadata", plugintest.Build(t, plugintest.Spec{Kind: "gain", Bad: "null_pin_name"}), native.ErrMetadata},
		{"invalid kind", plugintest.Build(t, plugintest.Spec{NullKind: true}), native.ErrInvalidKind},
		{"missing", filepath.Join(dir, "libmissing.so"), fs.ErrNotExist},
	}
	p := newProber(t, probe.Options{})
	ctx := ctxFor(t)
	for _, c := range cases {
		_, err := p.Probe(ctx, c.lib)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
			continue
		}
		_, want := native.Probe(c.lib, native.DefaultRange())
		if !reflect.DeepEqual(err, want) {
			t.Errorf("%s: through the helper %#v, in process %#v", c.name, err, want)
		}
	}
}

// A constructor that floods standard output and error with bytes that look like
// protocol messages changes nothing.
func TestNoisyConstructor(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatal("no C compiler (install gcc): ", err)
	}
	lib := filepath.Join(t.TempDir(), "libnoisy.so")
	out, err := exec.Command(cc, "-shared", "-fPIC", "-O1", "-o", lib,
		"../testdata/plugin.c", "testdata/noisy.c", "-DSK_ABI=6", `-DSK_KIND="noisy"`).CombinedOutput()
	if err != nil {
		t.Fatalf("compiling noisy.c: %v\n%s", err, out)
	}
	p := newProber(t, probe.Options{Workers: 1}) // the default Command: this executable
	ctx := ctxFor(t)
	quiet := plugintest.Build(t, plugintest.Spec{Kind: "noisy", ABI: 6})
	for range 2 { // and the helper is still in step afterwards
		got, err := p.Probe(ctx, lib)
		if err != nil {
			t.Fatal(err)
		}
		if want := inProcess(t, quiet); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if _, err := p.Probe(ctx, quiet); err != nil {
			t.Fatal(err)
		}
	}
}

// Close stops every helper (they are waited for and gone) and every goroutine.
func TestClose(t *testing.T) {
	h := &helpers{}
	p := probe.New(probe.Options{Workers: 2, Timeout: 10 * time.Second, Command: h.command})
	ctx := ctxFor(t)
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	hang := plugintest.Build(t, plugintest.Spec{Kind: "hang", Crash: "ctor_hang"})
	// A probe in flight (or still waiting) when Close comes returns ErrUnavailable at
	// once.
	hung := make(chan error)
	go func() {
		_, err := p.Probe(ctx, hang)
		hung <- err
	}()
	if _, err := p.Probe(ctx, good); err != nil { // in a second helper
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; !errors.Is(err, probe.ErrUnavailable) {
		t.Errorf("probe in flight: got %v, want ErrUnavailable", err)
	}
	for _, cmd := range h.commands() {
		if cmd.ProcessState == nil {
			t.Errorf("helper %d was not waited for", cmd.Process.Pid)
		}
		if err := syscall.Kill(cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("helper %d: kill 0: %v, want ESRCH", cmd.Process.Pid, err)
		}
	}
	if _, err := p.Probe(ctx, good); !errors.Is(err, probe.ErrUnavailable) {
		t.Errorf("after Close: got %v, want ErrUnavailable", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	goleak.VerifyNone(t)
}

// A probe whose context ends returns ctx.Err(); the library is not blamed and the
// Prober goes on.
func TestContext(t *testing.T) {
	h := &helpers{}
	p := newProber(t, probe.Options{Workers: 1, Timeout: 500 * time.Millisecond, Command: h.command})
	hang := plugintest.Build(t, plugintest.Spec{Kind: "hang", Crash: "ctor_hang"})
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Probe(cancelled, good); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}

	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.Probe(short, hang); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging library: got %v, want DeadlineExceeded", err)
	}
	// The abandoned probe's helper was stopped; the Prober goes on.
	if _, err := p.Probe(ctxFor(t), good); err != nil {
		t.Fatal(err)
	}

	// A batch whose context ends keeps the results it has.
	q := newProber(t, probe.Options{Workers: 1, Timeout: time.Minute, Command: h.command})
	// Long enough for a helper to start and probe the good one on a busy machine.
	short, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rs := q.ProbeBatch(short, []string{good, hang, good})
	if rs[0].Err != nil || !errors.Is(rs[1].Err, context.DeadlineExceeded) || !errors.Is(rs[2].Err, context.DeadlineExceeded) {
		t.Errorf("batch: got %v, %v, %v; want nil, then DeadlineExceeded twice", rs[0].Err, rs[1].Err, rs[2].Err)
	}
}

// A helper that never says hello is ErrUnavailable, not a crash of the library.
func TestUnavailable(t *testing.T) {
	good := plugintest.Build(t, plugintest.Spec{Kind: "gain"})
	p := newProber(t, probe.Options{Workers: 1, Command: func() *exec.Cmd { return exec.Command("true") }})
	_, err := p.Probe(ctxFor(t), good)
	if !errors.Is(err, probe.ErrUnavailable) || errors.Is(err, native.ErrCrashed) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}

	// A process that was itself started as a helper never starts helpers.
	t.Setenv("PLUGWATCH_PROBE_HELPER", "1")
	h := &helpers{}
	q := newProber(t, probe.Options{Workers: 1, Command: h.command})
	if _, err := q.Probe(ctxFor(t), good); !errors.Is(err, probe.ErrUnavailable) || h.started() != 0 {
		t.Errorf("in a helper: got %v and %d helpers started, want ErrUnavailable and none", err, h.started())
	}
}
