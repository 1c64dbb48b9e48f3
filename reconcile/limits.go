package reconcile

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plugwatch/plugwatch/native"
)

// Each library opened in this process costs memory mappings (about five) and a
// descriptor (its private copy's folder). Opening one more past the open-files
// limit or vm.max_map_count would crash plugwatch (the Go runtime dies when it
// cannot map memory), so the stage asks the limits first: a library that would pass
// one is load_failed, naming the setting to raise, and everything else goes on.

// mapsPerLibrary and filesPerLibrary are what the check reserves for one library:
// mappings and descriptors, with room to spare.
const (
	mapsPerLibrary  = 8
	filesPerLibrary = 2
	// headroom is kept free for the runtime, the watcher, the admin API and the
	// probe helpers' pipes.
	mapsHeadroom  = 512
	filesHeadroom = 32
)

// refusal is a library plugwatch did not open for a reason of this process, not
// of the file: a process limit, or the dynamic loader held by an open that hung. It
// is load_failed (it matches native.ErrNotLoadable), and judged again by the next
// full pass.
type refusal struct {
	path   string
	reason string // what to show the user, and what to do
}

func (e *refusal) Error() string { return "open " + e.path + ": " + e.reason }
func (e *refusal) Unwrap() error { return native.ErrNotLoadable }

// limits counts this process's mappings and open files, re-reading them from /proc
// only when the count it keeps comes near a limit.
type limits struct {
	mu sync.Mutex
	// maxMaps reads vm.max_map_count; a seam for tests (PLUGWATCH_MAX_MAP_COUNT).
	maxMaps func() int
	maps    int // mappings when last read, plus what was reserved since
	files   int // likewise for descriptors
	read    bool

	limit   int       // maxMaps's answer, read again once a second
	limitAt time.Time // when it was read
}

func newLimits() *limits {
	return &limits{maxMaps: maxMapCount}
}

// reserve accounts for one more library, or returns the load_failed error that
// names the limit it would pass.
func (l *limits) reserve(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); l.limitAt.IsZero() || now.Sub(l.limitAt) >= time.Second {
		l.limit, l.limitAt = l.maxMaps(), now // a file to read: not for each of 10,000 opens
	}
	maxMaps, maxFiles := l.limit, openFilesLimit()
	near := func(n, max, headroom int) bool { return max > 0 && n+headroom*2 >= max }
	if !l.read || near(l.maps, maxMaps, mapsHeadroom) || near(l.files, maxFiles, filesHeadroom) {
		l.maps, l.files, l.read = countMaps(), countFiles(), true
	}
	if maxMaps > 0 && l.maps+mapsPerLibrary+mapsHeadroom > maxMaps {
		return &refusal{path: path, reason: fmt.Sprintf(
			"opening it would pass the limit of memory mappings (vm.max_map_count = %d; %d in use); raise it, e.g. sysctl vm.max_map_count=%d",
			maxMaps, l.maps, 4*maxMaps)}
	}
	if maxFiles > 0 && l.files+filesPerLibrary+filesHeadroom > maxFiles {
		return &refusal{path: path, reason: fmt.Sprintf(
			"opening it would pass the limit of open files (%d; %d in use); raise it, e.g. ulimit -n %d",
			maxFiles, l.files, 4*maxFiles)}
	}
	l.maps += mapsPerLibrary
	l.files += filesPerLibrary
	return nil
}

// maxMapCount is vm.max_map_count, or PLUGWATCH_MAX_MAP_COUNT when set (for tests);
// 0 when unknown.
func maxMapCount() int {
	if v := os.Getenv("PLUGWATCH_MAX_MAP_COUNT"); v != "" {
		n, _ := strconv.Atoi(v)
		return n
	}
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func openFilesLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 0
	}
	return int(rl.Cur)
}

func countMaps() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

func countFiles() int {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	return len(names)
}
