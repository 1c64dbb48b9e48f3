package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
	"github.com/plugwatch/plugwatch/reconcile"
	"github.com/plugwatch/plugwatch/state"
)

// TestRunConvergesToScan is a property test: random sequences of add, remove,
// rewrite, rename and record operations against a running daemon; once they stop,
// the daemon's loaded set, skipped list and problems equal what a fresh scan of the
// same disk computes. The seed is logged; PLUGWATCH_SEED replays one.
func TestRunConvergesToScan(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PLUGWATCH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (PLUGWATCH_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	var libs []string
	for _, k := range []string{"k1", "k2", "k3"} {
		for _, desc := range []string{"x", "y"} {
			libs = append(libs, plugintest.Build(t, plugintest.Spec{Kind: k, Description: k + desc}))
		}
	}
	root := newRoot(t)
	d := startDaemon(t, root, "--debounce", "20ms")
	ids := []string{"a", "b", "c", "d"}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	cp := func(src, dst string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, exec.Command("cp", src, dst).Run())
	}

	for round := range 3 {
		var ops []string
		for range 25 {
			id := pick(ids)
			dir := filepath.Join(root, "native", id)
			switch rng.IntN(6) {
			case 0: // add a bundle, copied in with cp -r or moved in
				src := filepath.Join(t.TempDir(), id)
				cp(pick(libs), filepath.Join(src, "libp.so"))
				if rng.IntN(2) == 0 {
					writeFile(t, filepath.Join(src, "plugin.yml"), fmt.Sprintf("id: %s\nversion: 1.%d.0\nnode_kind: k%d\nkind: native\nentrypoint: libp.so\n", id, rng.IntN(3), 1+rng.IntN(3)))
				}
				os.RemoveAll(dir)
				if rng.IntN(2) == 0 {
					require.NoError(t, exec.Command("cp", "-r", src, dir).Run())
				} else {
					require.NoError(t, os.Rename(src, dir))
				}
				ops = append(ops, "add "+id)
			case 1: // remove a bundle
				os.RemoveAll(dir)
				ops = append(ops, "remove "+id)
			case 2: // rewrite its library in place
				if _, err := os.Stat(dir); err == nil {
					cp(pick(libs), filepath.Join(dir, "libp.so"))
					ops = append(ops, "rewrite "+id)
				}
			case 3: // rename its folder
				to := filepath.Join(root, "native", pick(ids))
				if _, err := os.Stat(to); os.IsNotExist(err) {
					if os.Rename(dir, to) == nil {
						ops = append(ops, "rename "+id+" "+filepath.Base(to))
					}
				}
			case 4: // install a marketplace record and its bundle
				version := fmt.Sprintf("2.%d.0", rng.IntN(2))
				lib := filepath.Join(root, "bundles", id, version, "libp.so")
				cp(pick(libs), lib)
				rec, _ := json.Marshal(map[string]any{"plugin_id": id, "version": version, "node_kind": fmt.Sprintf("k%d", 1+rng.IntN(3)),
					"kind": "native", "entrypoint": ".plugins/bundles/" + id + "/" + version + "/libp.so", "installed_at_ms": 1})
				writeFile(t, filepath.Join(root, "active", id+".json"), string(rec))
				ops = append(ops, "record "+id)
			case 5: // uninstall a record
				os.Remove(filepath.Join(root, "active", id+".json"))
				ops = append(ops, "unrecord "+id)
			}
		}
		t.Logf("round %d: %v", round, ops)

		var want string
		d.waitFor("the daemon to converge to a fresh scan", func(st *state.State) bool {
			scan, err := reconcile.Scan(context.Background(), reconcile.Options{Root: root})
			require.NoError(t, err)
			want = summary(scan)
			return summary(st) == want
		})
	}
}

// summary is what must agree between the daemon and a scan: which library provides
// which kind, what is skipped, and the problems' identities.
func summary(st *state.State) string {
	var lines []string
	for _, p := range st.Plugins {
		lines = append(lines, fmt.Sprintf("plugin %s %s %s stale=%v", p.Kind, p.Library, p.Version, p.Stale))
	}
	for _, s := range st.Skipped {
		lines = append(lines, fmt.Sprintf("skipped %s %s %s %s", s.Kind, s.Library, s.Reason, s.Winner))
	}
	for _, p := range st.Problems {
		lines = append(lines, fmt.Sprintf("problem %s %s", p.Path, p.Code))
	}
	sort.Strings(lines)
	b, _ := json.Marshal(lines)
	return string(b)
}
