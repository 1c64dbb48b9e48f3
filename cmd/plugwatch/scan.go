package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/reconcile"
	"github.com/plugwatch/plugwatch/state"
)

func scanCommand(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the state document")
	strict := fs.Bool("strict", false, "exit 1 when there is any problem")
	smoke := fs.Bool("smoke", false, "try every library as run --smoke does")
	smokeParams := smokeParamsFlag(fs)
	return func(ctx context.Context, a *app, _ []string) int {
		opts := a.options()
		if *smoke {
			opts.Smoker = plugwatch.SmokeTester(a.prober(), smokeParams, a.log)
		}
		return scan(ctx, a, opts, *asJSON, *strict)
	}
}

// smokeParamsFlag defines --smoke-params KIND=JSON|@FILE (repeatable) on fs.
func smokeParamsFlag(fs *flag.FlagSet) map[string][]byte {
	params := map[string][]byte{}
	fs.Func("smoke-params", "params for one kind's smoke test, JSON or @FILE (repeatable)", func(v string) error {
		kind, value, ok := strings.Cut(v, "=")
		if !ok || kind == "" {
			return errors.New("want KIND=JSON or KIND=@FILE")
		}
		where := ""
		if file, isFile := strings.CutPrefix(value, "@"); isFile {
			data, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("reading %s: %w", file, cause(err))
			}
			value, where = string(data), " in "+file
		}
		if !json.Valid([]byte(value)) {
			return fmt.Errorf("the params of %s%s are not JSON", kind, where)
		}
		params[kind] = []byte(value)
		return nil
	})
	return params
}

func scan(ctx context.Context, a *app, opts reconcile.Options, asJSON, strict bool) int {
	st, err := reconcile.Scan(ctx, opts)
	var re *reconcile.RootError
	switch {
	case errors.As(err, &re):
		return a.fail("%v", err)
	case err != nil:
		return a.fail("scan %s: %v", a.g.root, err)
	}
	if asJSON {
		err = writeJSON(a.Stdout, st)
	} else {
		raw, _ := json.Marshal(st) // for the fields the table reads from the document
		err = writeState(a.Stdout, st, raw)
	}
	if err != nil {
		return a.fail("writing the state: %v", err)
	}
	if strict && len(st.Problems) > 0 {
		return exitFailed
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeState prints a state document for a person: a summary line, then tables of
// plugins, skipped libraries and problems, with paths relative to the root. raw is
// the document's JSON, from which the table reads each plugin's smoke result when it
// has one. A stale plugin (the old version still loaded after its new files failed)
// is marked "(stale)" after its version and counted in the summary; a SMOKE column
// appears when any plugin carries a smoke result.
func writeState(w io.Writer, st *state.State, raw []byte) error {
	rel := func(p string) string {
		if r, err := filepath.Rel(st.Root, p); err == nil && filepath.IsLocal(r) {
			return r
		}
		return p
	}
	smokes := smokesOf(raw)
	stale := 0
	for _, p := range st.Plugins {
		if p.Stale {
			stale++
		}
	}
	plugins := plural(len(st.Plugins), "plugin")
	if stale > 0 {
		plugins += fmt.Sprintf(" (%d stale)", stale)
	}
	fmt.Fprintf(w, "%s: %s, %s, %s\n", st.Root, plugins,
		plural(len(st.Skipped), "skipped library", "skipped libraries"), plural(len(st.Problems), "problem"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(st.Plugins) > 0 {
		smokeCol := ""
		if len(smokes) > 0 {
			smokeCol = "\tSMOKE"
		}
		fmt.Fprintln(tw, "\nKIND\tID\tVERSION\tSOURCE\tAPI\tLIBRARY"+smokeCol)
		for _, p := range st.Plugins {
			version := dash(p.Version)
			if p.Stale {
				version += " (stale)"
			}
			smoke := ""
			if len(smokes) > 0 {
				smoke = "\t" + smokes[[2]string{p.Kind, p.Library}].String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s%s\n", p.Kind, p.ID, version, p.Source, p.APIVersion, rel(p.Library), smoke)
		}
	}
	if len(st.Skipped) > 0 {
		fmt.Fprintln(tw, "\nSKIPPED\tID\tVERSION\tREASON\tLIBRARY\tWINNER")
		for _, s := range st.Skipped {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(s.Kind), s.ID, dash(s.Version), s.Reason, rel(s.Library), dash(rel(s.Winner)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Problems) > 0 {
		fmt.Fprintln(w, "\nPROBLEMS")
		for _, p := range st.Problems {
			fmt.Fprintf(w, "%-5s %s %s: %s\n", p.Level, p.Code, rel(p.Path), p.Message)
		}
	}
	return nil
}

// smoke is a plugin's "smoke" object in the state document: the smoke test its
// library passed under --smoke.
type smoke struct {
	Result       string            `json:"result"`
	ProcessP50us float64           `json:"process_p50_us"`
	Outputs      map[string]uint64 `json:"outputs"`
}

// String is the SMOKE cell: the result, the median process time and the packets of
// each output pin, as "ok 3.1 µs out=50"; "-" for a plugin without a smoke result.
func (s *smoke) String() string {
	if s == nil {
		return "-"
	}
	parts := []string{dash(s.Result), strconv.FormatFloat(s.ProcessP50us, 'f', -1, 64) + " µs"}
	for _, name := range slices.Sorted(maps.Keys(s.Outputs)) {
		parts = append(parts, fmt.Sprintf("%s=%d", name, s.Outputs[name]))
	}
	return strings.Join(parts, " ")
}

// smokesOf returns the smoke results of a state document's plugins, by kind and
// library; empty when none has one, or when raw is not a state document.
func smokesOf(raw []byte) map[[2]string]*smoke {
	var doc struct {
		Plugins []struct {
			Kind    string `json:"kind"`
			Library string `json:"library"`
			Smoke   *smoke `json:"smoke"`
		} `json:"plugins"`
	}
	out := map[[2]string]*smoke{}
	if json.Unmarshal(raw, &doc) != nil {
		return out
	}
	for _, p := range doc.Plugins {
		if p.Smoke != nil {
			out[[2]string{p.Kind, p.Library}] = p.Smoke
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one string, many ...string) string {
	switch {
	case n == 1:
		return "1 " + one
	case len(many) > 0:
		return fmt.Sprintf("%d %s", n, many[0])
	default:
		return fmt.Sprintf("%d %ss", n, one)
	}
}
