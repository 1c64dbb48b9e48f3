package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// HostileVariants returns the accepted variants of [Hostile], in a new slice:
//
//	bind_port    a constructor listens on 127.0.0.1:$HOSTILE_PORT, keeps the socket
//	             open and aborts when the port is taken;
//	flock        a constructor takes flock(LOCK_EX) on the file $HOSTILE_LOCK, keeps
//	             it and aborts when it is held;
//	fork         a constructor forks a child;
//	daemon       a constructor forks a child that calls setsid, forks a grandchild
//	             and exits, and waits for that child: only the grandchild is left,
//	             out of the process group and session;
//	close_fds    a constructor closes descriptors 3 to 1023, which it does not own;
//	chatter      a constructor writes 256 KiB of lines to standard error and aborts;
//	big_types    1,024 input pins accepting the same 1,024 types each: metadata
//	             within every limit on one item, over 4 MiB in total;
//	big_strings  1,024 categories of 8 KiB each: the same, with strings;
//	late_crash   a constructor starts a thread that aborts the process 1.5 s later
//	             ($HOSTILE_LATE_MS milliseconds when set), unless the variable
//	             $HOSTILE_LATE_UNLESS names is set in the process;
//	host_hang    a constructor that does not return until the file
//	             $HOSTILE_HANG_UNTIL exists (never, without it), unless the
//	             variable $HOSTILE_HANG_UNLESS names is set in the process; it
//	             creates the file $HOSTILE_HANG_MARK (when set) as it begins to hang.
//
// The process that fork and daemon leave appends its pid to the file
// $HOSTILE_PIDFILE (when set) as a line and then waits forever; the constructor
// returns once it has.
func HostileVariants() []string {
	return []string{"bind_port", "flock", "fork", "daemon", "close_fds", "chatter", "big_types", "big_strings", "late_crash", "host_hang"}
}

// The hostile builds, one per variant and test process, in the folder of Build's.
var hostile struct {
	mu     sync.Mutex
	builds map[string]*build
}

// Hostile compiles testdata/hostile.c once per test process for the variant (one of
// HostileVariants) and returns the library's path: the well-formed API version 6
// plugin of Build, reporting the variant as its kind, with one hostile behaviour. The
// file is shared, as Build's are. Open the libraries of the constructor variants
// only in a child process.
func Hostile(t testing.TB, variant string) string {
	t.Helper()
	if !slices.Contains(HostileVariants(), variant) {
		t.Fatalf("plugintest: unknown hostile variant %q (want one of %s)", variant, strings.Join(HostileVariants(), ", "))
	}
	hostile.mu.Lock()
	if hostile.builds == nil {
		hostile.builds = make(map[string]*build)
	}
	b := hostile.builds[variant]
	if b == nil {
		b = new(build)
		hostile.builds[variant] = b
	}
	hostile.mu.Unlock()
	b.once.Do(func() { b.path, b.err = compileHostile(variant) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// CompileHostile is Hostile for a program that is not a test (the soak): it returns
// the library's path, or the error compiling it gave.
func CompileHostile(variant string) (string, error) {
	if !slices.Contains(HostileVariants(), variant) {
		return "", fmt.Errorf("plugintest: unknown hostile variant %q", variant)
	}
	return compileHostile(variant)
}

func compileHostile(variant string) (string, error) {
	// Build's folder, created on first use and removed by Main.
	cache.mu.Lock()
	if cache.dir == "" {
		d, err := os.MkdirTemp("", "plugintest-")
		if err != nil {
			cache.mu.Unlock()
			return "", fmt.Errorf("plugintest: %w", err)
		}
		cache.dir = d
	}
	dir := cache.dir
	cache.mu.Unlock()
	cc, err := compiler()
	if err != nil {
		return "", err
	}
	plugin, err := source("plugin.c")
	if err != nil {
		return "", err
	}
	src := filepath.Join(filepath.Dir(plugin), "hostile.c")
	out := filepath.Join(dir, "libhostile-"+variant+".so")
	tmp := out + ".tmp"
	args := slices.Concat(cc[1:], []string{"-shared", "-fPIC", "-O1", "-o", tmp, src,
		"-DSK_ABI=6", "-DSK_KIND=" + cString(variant), "-DHOSTILE_" + strings.ToUpper(variant), "-pthread"})
	if msg, err := exec.Command(cc[0], args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("plugintest: compiling hostile %s: %s %s: %v\n%s",
			variant, cc[0], strings.Join(args, " "), err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("plugintest: %w", err)
	}
	return out, nil
}
