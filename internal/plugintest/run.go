package plugintest

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The plugins that run, compiled from the other C files of testdata/. Each file's
// comment says exactly what its instances do; in short:
//
//   - gain.c, kind "gain": input "in" and output "out" raw audio, multiplied by params
//     {"gain": x} (NULL params: 1; param_schema default 0.5). API versions 1 and 2 have
//     the shape of StreamKit's C header, 3-5 the Rust SDK's telemetry arguments, 6 and
//     later CNodeCallbacks. It logs from create_instance and destroy_instance (and
//     from a thread of its own with params {"thread_log": true}).
//   - text.c, kind "upper": text on "in" goes out upper-cased on "out"; any packet on
//     "echo" goes out unchanged on "echo"; flush sends "FLUSHED N".
//   - source.c, kind "sine" (version 3 and later): a source whose ticks send 20 ms of a
//     48 kHz mono sine on "out", done after params "max_ticks" (default 10) ticks.
//   - driver.c: not a plugin; exports double drive(const void *api, int n).

// Gain returns the gain plugin of API version abi (1-9).
func Gain(abi int) Spec { return Spec{Source: "gain.c", ABI: abi} }

// FaultyGain returns a gain plugin of API version abi that fails one way, at the
// 0-based packet index of its params "at" (default 0): "crash" (SIGSEGV in
// process_packet), "error" (process_packet returns "gain: failing at packet N", or a
// NULL message with params {"null_message": true}), "refuse" (create_instance logs
// why at error level and returns NULL) or "hang" (process_packet writes
// "gain: hanging at packet N" to stderr and never returns).
func FaultyGain(abi int, fault string) Spec {
	return Spec{Source: "gain.c", ABI: abi, Defines: "SK_FAULT_" + strings.ToUpper(fault)}
}

// Faults returns the faults of FaultyGain, in a new slice.
func Faults() []string { return []string{"crash", "error", "refuse", "hang"} }

// Upper returns the text plugin of API version abi (1-9).
func Upper(abi int) Spec { return Spec{Source: "text.c", ABI: abi} }

// Sine returns the source plugin of API version abi (3-9).
func Sine(abi int) Spec { return Spec{Source: "source.c", ABI: abi} }

// Driver returns the benchmark driver: a library exporting
// double drive(const void *api, int n), which creates an instance of the version 6+
// plugin whose API table is api with params {"gain":0.5}, sends it n 20 ms frames of
// 48 kHz stereo audio (1920 samples) on "in" and returns the mean nanoseconds per
// process_packet, or -1 on failure.
func Driver() Spec { return Spec{Source: "driver.c", ABI: 6} }

var defineRE = regexp.MustCompile(`^SK_[A-Z0-9_]+(=[^ ]*)?$`)

// file returns the C file of testdata/ that s compiles.
func (s Spec) file() string {
	if s.Source == "" {
		return "plugin.c"
	}
	return s.Source
}

// sourceDefines returns the flags of a Source spec, after d (-DSK_ABI).
func (s Spec) sourceDefines(d []string) ([]string, error) {
	if s.Source != filepath.Base(s.Source) || filepath.Ext(s.Source) != ".c" || s.Source == "plugin.c" {
		return nil, fmt.Errorf("plugintest: Source %q is not the name of a C file of testdata/ other than plugin.c", s.Source)
	}
	if s.NullKind || s.NoSymbol || s.Description != "" || s.Bad != "" || s.Crash != "" {
		return nil, fmt.Errorf("plugintest: %+v: only ABI, Kind and Defines apply to a Source", s)
	}
	d = append(d, "-DSK_TICK_PAIRS")
	if s.Kind != "" {
		d = append(d, "-DSK_KIND="+cString(s.Kind))
	}
	for _, m := range strings.Fields(s.Defines) {
		if !defineRE.MatchString(m) {
			return nil, fmt.Errorf("plugintest: Defines: %q is not NAME or NAME=VALUE with NAME starting SK_", m)
		}
		d = append(d, "-D"+m)
	}
	return slices.Clip(d), nil
}
