package plugintest

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// HelperLibrary compiles testdata/helper.c of the given version straight to out: a
// helper library a plugin loads from its folder (libskhelper.so).
func HelperLibrary(t testing.TB, version int, out string) {
	t.Helper()
	cc, err := compiler()
	if err != nil {
		t.Fatal(err)
	}
	src, err := source("helper.c")
	if err != nil {
		t.Fatal(err)
	}
	run(t, exec.Command(cc[0], slices.Concat(cc[1:], []string{"-shared", "-fPIC", "-O1", "-o", out, src,
		"-DSK_HELPER_VERSION=" + strconv.Itoa(version)})...))
}

// UsesHelper compiles testdata/uses_helper.c straight to out: the plugin of Build
// reporting kind and description, that needs libskhelper.so from its own folder
// ($ORIGIN). The folder of out must hold libskhelper.so already (to link against).
func UsesHelper(t testing.TB, kind, description, out string) {
	t.Helper()
	UsesHelperAt(t, kind, description, out, "$ORIGIN")
}

// UsesHelperAt is UsesHelper with the given run path (an absolute path to the
// folder of out, say) in place of $ORIGIN.
func UsesHelperAt(t testing.TB, kind, description, out, runpath string) {
	t.Helper()
	cc, err := compiler()
	if err != nil {
		t.Fatal(err)
	}
	src, err := source("uses_helper.c")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-shared", "-fPIC", "-O1", "-o", out, src, "-DSK_ABI=6", "-DSK_KIND=" + cString(kind),
		"-L" + filepath.Dir(out), "-lskhelper", "-Wl,-rpath," + runpath}
	if description != "" {
		args = append(args, "-DSK_DESCRIPTION="+cString(description))
	}
	run(t, exec.Command(cc[0], slices.Concat(cc[1:], args)...))
}

func run(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("plugintest: %s: %v\n%s", cmd, err, out)
	}
}
