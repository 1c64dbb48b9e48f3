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

// Exit statuses, as docs/cli.md states them.
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
	name      string
	argsUsage string           // the positional arguments, for the help text ("LIB"); "" for none
	summary   string           // one line for the list of commands
	args      func(n int) bool // whether n positional arguments are right
	// flags registers the command's flags on fs and returns what runs it, which
	// reads the flags' values once fs is parsed. A flag's usage string is its one
	// line of help (see flagHelp).
	flags func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments and returns the exit status.
type runFunc func(ctx context.Context, a *app, args []string) int

func exactly(n int) func(int) bool { return func(k int) bool { return k == n } }

// Main runs the command line with args (without the program name) and returns the
// exit status.
func Main(args []string, env Env) int {
	a := &app{Env: env}
	cmd, rest, err := a.parse(args)
	var help *helpRequest
	if errors.As(err, &help) {
		if err := writeHelp(env.Stdout, help.command); err != nil {
			return a.fail("writing the help: %v", err)
		}
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v; see '%s'\n", programName, err, helpCommand(err))
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
// arguments in any order (`inspect LIB --json`). A "--" ends the flags. Every error
// it returns is bad usage (exit status 2); a *helpRequest asks for help instead.
func (a *app) parse(args []string) (runFunc, []string, error) {
	a.g = defaultGlobals(a.Getenv)

	_, rest, err := parseFlags(a.flagSet(""), args, false)
	var unknown *unknownFlagError
	if errors.As(err, &unknown) && (len(args) == 0 || args[0] != "run") {
		// run is the default command: `plugwatch --listen ADDR` means
		// `plugwatch run --listen ADDR`.
		run, rest, rerr := a.parse(append([]string{"run"}, args...))
		var (
			help *helpRequest
			bad  *flagValueError
			miss *missingValueError
		)
		if rerr == nil || errors.As(rerr, &help) || errors.As(rerr, &bad) || errors.As(rerr, &miss) {
			return run, rest, rerr // run knows the flag
		}
		unknown.commands = commandsWithFlag(unknown.flag)
		return nil, nil, unknown
	}
	if err != nil {
		return nil, nil, err
	}
	name := "run"
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "help" {
		return nil, nil, a.parseHelp(rest)
	}
	cmd := findCommand(name)
	if cmd == nil {
		if p := findPending(name); p != nil {
			if _, _, err := parseFlags(p.flagSet(a), rest, true); err != nil {
				return nil, nil, err
			}
			return nil, nil, &usageError{msg: fmt.Sprintf("%s is not available in this build of plugwatch yet", name), command: name}
		}
		return nil, nil, &usageError{msg: fmt.Sprintf("unknown command %q", name)}
	}
	fs := a.flagSet(name)
	run := cmd.flags(fs)
	positional, _, err := parseFlags(fs, rest, true)
	if err != nil {
		return nil, nil, err
	}
	if !cmd.args(len(positional)) {
		given := "none given"
		if len(positional) > 0 {
			given = fmt.Sprintf("%q given", positional)
		}
		return nil, nil, &usageError{msg: fmt.Sprintf("wrong arguments for %s (%s): usage: %s", name, given, synopsis(cmd.name, cmd.argsUsage)), command: name}
	}
	if err := a.setup(); err != nil {
		return nil, nil, err
	}
	return run, positional, nil
}

// defaultGlobals returns the global flags' defaults: the root is $PLUGWATCH_ROOT
// when set, else .plugins.
func defaultGlobals(getenv func(string) string) globals {
	root := getenv("PLUGWATCH_ROOT")
	if root == "" {
		root = ".plugins"
	}
	return globals{root: root, abi: native.DefaultRange(), probeTimeout: 5 * time.Second, logFormat: "text", logLevel: "info"}
}

// parseHelp reads the arguments of `plugwatch help [COMMAND]`.
func (a *app) parseHelp(args []string) error {
	positional, _, err := parseFlags(a.flagSet("help"), args, true)
	switch {
	case err != nil:
		return err
	case len(positional) == 0:
		return &helpRequest{}
	case len(positional) > 1:
		return &usageError{msg: "wrong arguments for help: usage: " + synopsis("help", "[COMMAND]")}
	case findCommand(positional[0]) == nil && findPending(positional[0]) == nil && positional[0] != "help":
		return &usageError{msg: fmt.Sprintf("unknown command %q", positional[0])}
	}
	return &helpRequest{command: positional[0]}
}

// setup checks the global flags and makes the logger.
func (a *app) setup() error {
	if a.g.probeTimeout <= 0 {
		return &usageError{msg: "--probe-timeout must be positive"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.g.logLevel)); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(a.g.logLevel)) {
		return &usageError{msg: fmt.Sprintf("invalid --log-level %q: use debug, info, warn or error", a.g.logLevel)}
	}
	switch a.g.logFormat {
	case "text":
		a.log = slog.New(tint.NewHandler(a.Stderr, &tint.Options{Level: level, NoColor: !isTerminal(a.Stderr), TimeFormat: time.TimeOnly}))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	default:
		return &usageError{msg: fmt.Sprintf("invalid --log-format %q: use text or json", a.g.logFormat)}
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
// helper processes, never in plugwatch's own before they passed there.
func (a *app) options() reconcile.Options {
	opts := a.rootOptions()
	opts.Prober = a.prober()
	return opts
}

// rootOptions are options without a Prober, for a daemon, which makes its own pool.
func (a *app) rootOptions() reconcile.Options {
	return reconcile.Options{Root: a.g.root, Workdir: a.g.workdir, Trust: a.g.trust, ABI: a.g.abi}
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

// usage prints one line for bad usage of command, pointing to its help, and returns
// exit status 2.
func (a *app) usage(command, format string, args ...any) int {
	fmt.Fprintf(a.Stderr, programName+": "+format+"; see '"+programName+" help "+command+"'\n", args...)
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
