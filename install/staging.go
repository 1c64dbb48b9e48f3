package install

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// stagingSuffix ends every staging file's name.
const stagingSuffix = ".tmp"

// randomLen is the length of a staging name's random part: 8 lower-case hex digits.
const randomLen = 8

// stagingName is the hidden name an install stages name under:
// ".<name>.<pid>-<random>.tmp", with name shortened (at a UTF-8 boundary) so that
// the whole stays within the 255 bytes a file name may have.
func stagingName(name string, pid int, random string) string {
	tail := "." + strconv.Itoa(pid) + "-" + random + stagingSuffix
	if max := maxName - len(".") - len(tail); len(name) > max {
		name = name[:max]
		for !utf8.ValidString(name) {
			name = name[:len(name)-1]
		}
	}
	return "." + name + tail
}

// stagingPID returns the process id in a name of stagingName's exact shape:
// ".", a non-empty name, ".", a decimal pid without leading zeros, "-", 8
// lower-case hex digits, ".tmp". ok is false for any other name.
func stagingPID(n string) (pid int, ok bool) {
	rest, ok := strings.CutSuffix(n, stagingSuffix)
	if !ok || !strings.HasPrefix(rest, ".") {
		return 0, false
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 2 { // the leading dot, then at least one byte of name
		return 0, false
	}
	pidText, random, ok := strings.Cut(rest[dot+1:], "-")
	if !ok || len(random) != randomLen || strings.Trim(random, "0123456789abcdef") != "" {
		return 0, false
	}
	if pidText == "" || pidText[0] == '0' || strings.Trim(pidText, "0123456789") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// RemoveDeadStaging removes the staging files that installs of processes no
// longer running left in root (an upload killed mid-way), and returns how many it
// removed. A daemon calls it at start.
//
// It looks only in root/wasm/ and in each folder root/native/*/ (a symlinked
// bundle folder is not entered: installs never stage there), and removes only
// regular files whose name has the exact shape of a staging file,
// ".<name>.<pid>-<8 hex digits>.tmp", and whose pid names no running process. A
// file whose pid is alive (this process, a concurrent install, or an unrelated
// process that reuses the pid) is left, as is everything else: folders an
// install made, other hidden or *.tmp files, anything in native/ itself. Where
// liveness cannot be told (a platform without kill(2)), nothing is removed.
// Folders that cannot be read and files that cannot be removed are skipped.
func RemoveDeadStaging(root string) int {
	dirs := []string{filepath.Join(root, wasmDir)}
	native := filepath.Join(root, nativeDir)
	if entries, err := os.ReadDir(native); err == nil {
		for _, e := range entries {
			if e.IsDir() { // a symlink is not: its target is not ours to clean
				dirs = append(dirs, filepath.Join(native, e.Name()))
			}
		}
	}
	removed := 0
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			pid, ok := stagingPID(e.Name())
			if !ok || !e.Type().IsRegular() || processAlive(pid) {
				continue
			}
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				removed++
			}
		}
	}
	return removed
}
