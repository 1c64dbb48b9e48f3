package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// inspected is the document `inspect --json` prints (docs/cli.md).
type inspected struct {
	Library string `json:"library"`
	native.Metadata
}

func inspectCommand(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the metadata as JSON")
	return func(ctx context.Context, a *app, args []string) int {
		lib, err := filepath.Abs(args[0])
		if err != nil {
			return a.fail("inspect %s: %v", args[0], err)
		}
		meta, err := a.prober().Probe(ctx, lib)
		if err != nil {
			p := state.ProbeProblem(lib, err)
			return a.fail("inspect %s: %s: %s", lib, p.Code, p.Message)
		}
		kind, err := manifest.NormalizeKind(meta.Kind)
		if err != nil {
			return a.fail("inspect %s: %s: library reports kind %q: %v", lib, state.InvalidKind, meta.Kind, err)
		}
		meta.Kind = layout.KindPrefix + kind
		doc := inspected{Library: lib, Metadata: meta}
		if *asJSON {
			err = writeJSON(a.Stdout, doc)
		} else {
			err = writeInspected(a.Stdout, doc)
		}
		if err != nil {
			return a.fail("writing the metadata: %v", err)
		}
		return exitOK
	}
}

func writeInspected(w io.Writer, d inspected) error {
	m := d.Metadata
	fmt.Fprintf(w, "library      %s\nkind         %s\napi version  %d\ndescription  %s\n", d.Library, m.Kind, m.APIVersion, dash(m.Description))
	fmt.Fprintln(w, "inputs")
	for _, p := range m.Inputs {
		var types []string
		for _, t := range p.Types {
			types = append(types, typeString(t))
		}
		fmt.Fprintf(w, "  %-10s %s\n", p.Name, strings.Join(types, ", "))
	}
	fmt.Fprintln(w, "outputs")
	for _, p := range m.Outputs {
		fmt.Fprintf(w, "  %-10s %s\n", p.Name, typeString(p.Type))
	}
	fmt.Fprintf(w, "categories   %s\n", dash(strings.Join(m.Categories, ", ")))
	fmt.Fprintf(w, "param schema%s\n", schemaText(m.ParamSchema))
	return nil
}

// schemaText is the param schema as inspect's text prints it after its label: an
// empty schema ("{}" or "[]") on the same line; other JSON indented by two spaces per
// level on the lines below, two spaces in; text that is not JSON as it is, quoted.
func schemaText(s native.Schema) string {
	var b bytes.Buffer
	if json.Indent(&b, bytes.TrimSpace([]byte(s)), "  ", "  ") != nil {
		return fmt.Sprintf(" %q (not JSON)", string(s))
	}
	if b.Len() <= 2 {
		return " " + b.String()
	}
	return "\n  " + b.String()
}

func typeString(t native.TypeInfo) string {
	s := t.Type.String()
	if f := t.AudioFormat; f != nil {
		format := map[int32]string{0: "f32", 1: "s16le"}[f.SampleFormat]
		if format == "" {
			format = fmt.Sprintf("format %d", f.SampleFormat)
		}
		s += fmt.Sprintf(" (%s Hz, %s ch, %s)", anyZero(uint64(f.SampleRate)), anyZero(uint64(f.Channels)), format)
	}
	if t.CustomTypeID != "" {
		s += " " + t.CustomTypeID
	}
	return s
}

func anyZero(n uint64) string {
	if n == 0 {
		return "any"
	}
	return fmt.Sprint(n)
}
