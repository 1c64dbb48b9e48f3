package probe

import (
	"os"
	"strings"
)

// hookEnv lets a test make its helpers die on cue. Its value is a comma-separated list:
//
//	poison=SUB  once a library whose path contains SUB was probed, the helper kills
//	            itself when the next request arrives (as a constructor's thread that
//	            crashes later would);
//	die=SUB     the helper kills itself whenever it is asked to probe a path that
//	            contains SUB.
//
// Only this test binary understands it: the hook is set from this _test.go file.
const hookEnv = "PLUGWATCH_PROBE_TEST_HOOK"

func init() {
	spec, ok := os.LookupEnv(hookEnv)
	if !ok {
		return
	}
	var poison, die string
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "poison":
			poison = v
		case "die":
			die = v
		}
	}
	poisoned := false
	helperHook = func(path string) {
		if poisoned || die != "" && strings.Contains(path, die) {
			self, _ := os.FindProcess(os.Getpid())
			self.Kill()
			select {}
		}
		if poison != "" && strings.Contains(path, poison) {
			poisoned = true
		}
	}
}
