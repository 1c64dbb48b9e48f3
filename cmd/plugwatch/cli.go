package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lmittmann/tint"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/reconcile"
)

// Exit statuses (SPEC 7.1).
const (
	exitOK      = 0
	exitFailed  = 1 // the command could not do its job, or --strict found problems
	exitUsage   = 2
	programName = "plugwatch"
)

// version is plugwatch's version, printed by `plugwatch version`.
const version = "0.1.0"

// Env is what a run of the command line sees of its process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// globals are the flags every command takes, before or after its name.
type globals struct {
	root, workdir string
	trust         []string
	abi           native.Range
	probeTimeout  time.Duration
	logFormat     string
	logLevel      string
}

// app is one invocation: its environment, its global flags and its logger.
type app struct {
	Env
	g      globals
	log    *slog.Logger
	probes *probe.Prober // made on first use; closed when the command ends
}

// command is one subcommand: its flags, and what it does with its arguments.
type command struct {
	name    string
	usage   string // arguments and flags, for the help text
	summary string
	args    func(n int) bool // whether n positional arguments are right
	// flags registers the command's flags on fs and returns what runs it, which
	// reads the flags' values once fs is parsed.
	flags func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments and returns the exit status.
type runFunc func(ctx context.Context, a *app, args []string) int

func exactly(n int) func(int) bool { return func(k int) bool { return k == n } }

// usageError is bad usage: one line, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Main runs the command line with args (without the program name) and returns the
// exit status.
func Main(args []string, env Env) int {
	a := &app{Env: env}
	cmd, rest, err := a.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		a.help(env.Stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v; see '%s help'\n", programName, err, programName)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if a.probes != nil {
			a.probes.Close()
		}
	}()
	return cmd(ctx, a, rest)
}

// parse reads the global flags, the command name, then the command's flags and
// arguments in any order (`inspect LIB --json`). A "--" ends the flags.
func (a *app) parse(args []string) (runFunc, []string, error) {
	root := a.Getenv("PLUGWATCH_ROOT")
	if root == "" {
		root = ".plugins"
	}
	a.g = globals{root: root, abi: native.DefaultRange(), probeTimeout: 5 * time.Second, logFormat: "text", logLevel: "info"}

	fs := a.flagSet("")
	if err := fs.Parse(args); err != nil {
		if len(args) > 0 && args[0] != "run" && strings.HasPrefix(err.Error(), "flag provided but not defined") {
			// run is the default command: `plugwatch --listen ADDR` means
			// `plugwatch run --listen ADDR`.
			if run, rest, rerr := a.parse(append([]string{"run"}, args...)); rerr == nil {
				return run, rest, nil
			}
		}
		return nil, nil, err
	}
	name, rest := "run", fs.Args()
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "help" {
		return nil, nil, flag.ErrHelp
	}
	cmd := findCommand(name)
	if cmd == nil {
		return nil, nil, &usageError{fmt.Sprintf("unknown command %q", name)}
	}
	fs = a.flagSet(name)
	run := cmd.flags(fs)
	var positional []string
	for len(rest) > 0 {
		in := rest
		if err := fs.Parse(in); err != nil {
			return nil, nil, err
		}
		rest = fs.Args()
		if used := len(in) - len(rest); used > 0 && in[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) > 0 {
			positional, rest = append(positional, rest[0]), rest[1:]
		}
	}
	if !cmd.args(len(positional)) {
		return nil, nil, &usageError{fmt.Sprintf("wrong arguments for %s: usage: %s %s %s", name, programName, name, cmd.usage)}
	}
	if err := a.setup(); err != nil {
		return nil, nil, err
	}
	return run, positional, nil
}

// flagSet returns a FlagSet holding the global flags, whose defaults are their
// current values so that parsing twice keeps what the first parse read.
func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.g.root, "root", a.g.root, "plugins root")
	fs.StringVar(&a.g.workdir, "workdir", a.g.workdir, "StreamKit's working directory")
	fs.Func("trust", "trusted folder outside the root (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("--trust needs a folder")
		}
		a.g.trust = append(a.g.trust, s)
		return nil
	})
	fs.Var(rangeFlag{&a.g.abi}, "abi", "accepted API versions MIN-MAX")
	fs.DurationVar(&a.g.probeTimeout, "probe-timeout", a.g.probeTimeout, "time limit of one probe")
	fs.StringVar(&a.g.logFormat, "log-format", a.g.logFormat, "text or json")
	fs.StringVar(&a.g.logLevel, "log-level", a.g.logLevel, "debug, info, warn or error")
	return fs
}

type rangeFlag struct{ r *native.Range }

func (f rangeFlag) String() string {
	if f.r == nil {
		return ""
	}
	return f.r.String()
}

func (f rangeFlag) Set(s string) error {
	r, err := native.ParseRange(s)
	if err != nil {
		return err
	}
	*f.r = r
	return nil
}

// setup checks the global flags and makes the logger.
func (a *app) setup() error {
	if a.g.probeTimeout <= 0 {
		return &usageError{"--probe-timeout must be positive"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.g.logLevel)); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(a.g.logLevel)) {
		return &usageError{fmt.Sprintf("invalid --log-level %q: use debug, info, warn or error", a.g.logLevel)}
	}
	switch a.g.logFormat {
	case "text":
		a.log = slog.New(tint.NewHandler(a.Stderr, &tint.Options{Level: level, NoColor: !isTerminal(a.Stderr), TimeFormat: time.TimeOnly}))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	default:
		return &usageError{fmt.Sprintf("invalid --log-format %q: use text or json", a.g.logFormat)}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// options are the reconcile options the global flags select, probing libraries in
// helper processes (SPEC 8.4).
func (a *app) options() reconcile.Options {
	return reconcile.Options{Root: a.g.root, Workdir: a.g.workdir, Trust: a.g.trust, ABI: a.g.abi, Prober: a.prober()}
}

// prober is the command's probe helper pool: a library's constructors never run in
// plugwatch's own process before they passed a probe there.
func (a *app) prober() *probe.Prober {
	if a.probes == nil {
		a.probes = probe.New(probe.Options{ABI: a.g.abi, Timeout: a.g.probeTimeout, Logger: a.log})
	}
	return a.probes
}

// fail prints one line for a failure the command could not get past and returns
// exit status 1.
func (a *app) fail(format string, args ...any) int {
	fmt.Fprintf(a.Stderr, programName+": "+format+"\n", args...)
	return exitFailed
}

// usage prints one line for bad usage and returns exit status 2.
func (a *app) usage(format string, args ...any) int {
	fmt.Fprintf(a.Stderr, programName+": "+format+"; see '"+programName+" help'\n", args...)
	return exitUsage
}

// parseSize reads a size in bytes, or with a KiB, MiB or GiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

// cause strips an *fs.PathError down to its cause: the line names the file already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
