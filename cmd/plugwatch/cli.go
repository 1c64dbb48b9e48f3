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
	"net"
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

// parseFlags sets the flags of fs that args name, as --name VALUE, --name=VALUE or
// --name for a boolean (one dash works too), and returns the other arguments. With
// interleaved, flags and positional arguments may come in any order and "--" makes
// every later argument positional; without, the flags end at the first positional
// argument, which starts rest. -h and --help return a *helpRequest for fs's command.
// An undefined flag is an *unknownFlagError, a value its flag refuses a
// *flagValueError, a missing value a *missingValueError.
func parseFlags(fs *flag.FlagSet, args []string, interleaved bool) (positional, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			if interleaved {
				return append(positional, args[i+1:]...), nil, nil
			}
			return positional, args[i+1:], nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			if !interleaved {
				return positional, args[i:], nil
			}
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		f := fs.Lookup(name)
		switch {
		case f == nil && (name == "h" || name == "help"):
			return nil, nil, &helpRequest{command: fs.Name()}
		case f == nil:
			return nil, nil, &unknownFlagError{flag: name, command: fs.Name()}
		case isBool(f):
			if !hasValue {
				value = "true"
			}
		case !hasValue:
			if i+1 == len(args) {
				left, _ := flagHelp(f)
				return nil, nil, &missingValueError{flag: name, usage: left, command: fs.Name()}
			}
			i++
			value = args[i]
		}
		if err := fs.Set(name, value); err != nil {
			return nil, nil, &flagValueError{flag: f, value: value, err: err, command: fs.Name()}
		}
	}
	return positional, nil, nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// commandsWithFlag returns the names of the commands that define the flag name.
func commandsWithFlag(name string) []string {
	var names []string
	for _, c := range commands {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		if fs.Lookup(name) != nil {
			names = append(names, c.name)
		}
	}
	return names
}

// flagSet returns a FlagSet named name holding the global flags, whose defaults are
// their current values so that parsing twice keeps what the first parse read.
func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	defineGlobals(fs, &a.g)
	return fs
}

// defineGlobals defines the global flags on fs, storing into g. Their usage strings
// are the help text of `plugwatch help`.
func defineGlobals(fs *flag.FlagSet, g *globals) {
	fs.StringVar(&g.root, "root", g.root, "plugins root (default $PLUGWATCH_ROOT or .plugins)")
	fs.StringVar(&g.workdir, "workdir", g.workdir, "StreamKit's working dir (default: the root's parent)")
	fs.Func("trust", "trust libraries inside this folder too (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("name a folder")
		}
		g.trust = append(g.trust, s)
		return nil
	})
	fs.Var(rangeFlag{&g.abi}, "abi", "the plugin API versions accepted")
	fs.DurationVar(&g.probeTimeout, "probe-timeout", g.probeTimeout, "time limit of one library's probe")
	fs.StringVar(&g.logFormat, "log-format", g.logFormat, "text or json")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "debug, info, warn or error")
}

// addrValue is a flag holding a TCP address, host:port (port 0 picks a free one),
// or "off" when offOK. An address that is not host:port is bad usage; one that
// cannot be bound fails later, when it is bound.
type addrValue struct {
	p     *string
	offOK bool
}

// addrFlag defines an address flag on fs.
func addrFlag(fs *flag.FlagSet, name, value, usage string, offOK bool) *string {
	p := new(string)
	*p = value
	fs.Var(addrValue{p, offOK}, name, usage)
	return p
}

func (v addrValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v addrValue) Set(s string) error {
	if v.offOK && s == "off" {
		*v.p = s
		return nil
	}
	if _, port, err := net.SplitHostPort(s); err == nil && port != "" {
		if _, err := net.LookupPort("tcp", port); err == nil {
			*v.p = s
			return nil
		}
	}
	hint := "not host:port; use an address such as 127.0.0.1:7676 (port 0 picks a free port)"
	if v.offOK {
		hint += ", or off"
	}
	return errors.New(hint)
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
		d := native.DefaultRange()
		return fmt.Errorf("use MIN-MAX with %d <= MIN <= MAX <= %d, such as 6-9", d.Min, d.Max)
	}
	*f.r = r
	return nil
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

// The errors of parse. Each is bad usage (exit status 2) and names the command whose
// help the line points to ("" for plugwatch's own).

// usageError is bad usage that no flag's definition caught.
type usageError struct{ msg, command string }

func (e *usageError) Error() string { return e.msg }

// helpRequest asks for the help of command ("": of plugwatch); it is no failure.
type helpRequest struct{ command string }

func (e *helpRequest) Error() string { return "help requested" }

// Is makes a helpRequest match flag.ErrHelp, the flag package's word for it.
func (e *helpRequest) Is(target error) bool { return target == flag.ErrHelp }

// unknownFlagError is a flag that neither command nor the global flags define.
// commands names the commands that do define it, when the flag came before one.
type unknownFlagError struct {
	flag, command string
	commands      []string
}

func (e *unknownFlagError) Error() string {
	switch {
	case e.command != "":
		return fmt.Sprintf("%s has no flag --%s", e.command, e.flag)
	case len(e.commands) > 0:
		names := strings.Join(e.commands, ", ")
		if i := strings.LastIndex(names, ", "); i >= 0 {
			names = names[:i] + " and " + names[i+2:]
		}
		return fmt.Sprintf("--%s is a flag of %s, not a global flag: put it after the command's name", e.flag, names)
	default:
		return fmt.Sprintf("unknown flag --%s", e.flag)
	}
}

// missingValueError is a flag that needs a value given none; usage is how it is
// given ("--root DIR").
type missingValueError struct{ flag, usage, command string }

func (e *missingValueError) Error() string {
	return fmt.Sprintf("--%s needs a value: %s", e.flag, e.usage)
}

// flagValueError is a value its flag refuses.
type flagValueError struct {
	flag    *flag.Flag
	value   string
	err     error // the flag's own error
	command string
}

func (e *flagValueError) Error() string {
	return fmt.Sprintf("invalid --%s %q: %s", e.flag.Name, e.value, valueHint(e.flag, e.err))
}

func (e *flagValueError) Unwrap() error { return e.err }

// valueHint says what a valid value of f looks like. The flag package's own
// types answer "parse error" whatever went wrong, so their hint comes from the type
// of their value; plugwatch's own flag types say it in their error.
func valueHint(f *flag.Flag, err error) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return "not a duration; use a number with a unit, such as 100ms, 2s or 1m"
		case bool:
			return "use true or false"
		case int, int64, uint, uint64:
			return "use a whole number"
		case float64:
			return "use a number"
		}
	}
	return err.Error()
}

// helpCommand is the help command an error's line points to.
func helpCommand(err error) string {
	var command string
	var (
		ue *usageError
		uf *unknownFlagError
		mv *missingValueError
		fv *flagValueError
	)
	switch {
	case errors.As(err, &ue):
		command = ue.command
	case errors.As(err, &uf):
		command = uf.command
	case errors.As(err, &mv):
		command = mv.command
	case errors.As(err, &fv):
		command = fv.command
	}
	if command == "" || command == "help" {
		return programName + " help"
	}
	return programName + " help " + command
}
