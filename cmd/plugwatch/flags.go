package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// The command line's flags: parsing them, the global ones, their value types, and
// the usage errors parsing reports.

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
