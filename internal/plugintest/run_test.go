package plugintest

import (
	"slices"
	"strings"
	"testing"
)

// Every runnable plugin compiles in each version it supports, exporting the entry
// point; none is opened here (FaultyGain's crash would kill the test once run).
func TestRunnablesCompile(t *testing.T) {
	var specs []Spec
	for abi := 1; abi <= 9; abi++ {
		specs = append(specs, Gain(abi), Upper(abi))
		if abi >= 3 {
			specs = append(specs, Sine(abi))
		}
	}
	for _, fault := range Faults() {
		specs = append(specs, FaultyGain(2, fault), FaultyGain(6, fault))
	}
	specs = append(specs, Spec{Source: "gain.c", ABI: 6, Kind: "loud"})
	for _, s := range specs {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			if p := Build(t, s); !slices.Contains(exports(t, p), entry) {
				t.Errorf("%+v: %s does not export %s", s, p, entry)
			}
		})
	}
	if Build(t, Gain(6)) == Build(t, Upper(6)) || Build(t, Gain(6)) == Build(t, FaultyGain(6, "crash")) {
		t.Error("different sources or defines gave the same library")
	}
	if d := Build(t, Driver()); !slices.Contains(exports(t, d), "drive") {
		t.Errorf("the driver %s does not export drive", d)
	}
}

func TestBadSource(t *testing.T) {
	for s, want := range map[Spec]string{
		{Source: "../plugin.c"}:                         "is not the name of a C file",
		{Source: "plugin.c"}:                            "is not the name of a C file",
		{Source: "gain.h"}:                              "is not the name of a C file",
		{Source: "missing.c"}:                           "missing.c",
		{Source: "gain.c", Bad: "null_api"}:             "only ABI, Kind and Defines apply",
		{Source: "gain.c", Defines: "NOT_SK"}:           `"NOT_SK" is not NAME or NAME=VALUE`,
		{Source: "gain.c", Defines: "SK_X -include /x"}: `"-include" is not NAME`,
		{Kind: "gain", Defines: "SK_FAULT_CRASH"}:       "apply to a Source, not plugin.c",
	} {
		_, err := buildCached(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err = %v, want %q", s, err, want)
		}
	}
}
