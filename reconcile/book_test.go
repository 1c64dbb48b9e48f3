package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/internal/plugintest"
)

// TestHintPassesAgreeWithAFreshScan drives one Scanner through random changes, each
// followed by a pass asked for by the paths changed, and checks after every one that
// what the book kept from pass to pass equals what a fresh Scanner finds: the same
// winners, skipped claims and problems.
func TestHintPassesAgreeWithAFreshScan(t *testing.T) {
	root, change := randomChanges(t)
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Desired(t.Context())
	require.NoError(t, err)
	for i := range 60 {
		op, paths := change()
		d, err := s.DesiredHint(t.Context(), paths)
		require.NoError(t, err)
		fresh, err := Scan(t.Context(), Options{Root: root})
		require.NoError(t, err)
		require.Equal(t, document(fresh), document(d.State(root, 1, time.Time{})), "step %d: %s", i, op)
	}
}

// TestControllerHintStepsAgreeWithAFreshScan is the same for a Controller: after
// each change and the passes its paths ask for, the loaded set (the state document)
// equals what a fresh scan finds.
func TestControllerHintStepsAgreeWithAFreshScan(t *testing.T) {
	root, change := randomChanges(t)
	c, err := NewController(ControllerOptions{Options: Options{Root: root}})
	require.NoError(t, err)
	defer c.Close(context.Background())
	_, err = c.Reconcile(t.Context(), false)
	require.NoError(t, err)
	for i := range 60 {
		op, paths := change()
		_, err := c.ReconcileHint(t.Context(), paths)
		require.NoError(t, err)
		fresh, err := Scan(t.Context(), Options{Root: root})
		require.NoError(t, err)
		require.Equal(t, document(fresh), document(c.State()), "step %d: %s", i, op)
	}
}

// randomChanges makes a root and returns a function that changes it at random (a
// bundle added, removed, rebuilt or renamed; a record installed or removed, for one
// of four ids and three kinds) and says what it did and which paths changed. The
// seed is logged.
func randomChanges(t *testing.T) (string, func() (string, []string)) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var libs []string
	for k := 1; k <= 3; k++ {
		libs = append(libs, plugintest.Build(t, plugintest.Spec{Kind: fmt.Sprintf("k%d", k), Description: fmt.Sprintf("k%d", k)}))
	}
	root := newRoot(t)
	copyLib := func(dst string) {
		data, err := os.ReadFile(libs[rng.IntN(len(libs))])
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst+".tmp", data, 0o755))
		require.NoError(t, os.Rename(dst+".tmp", dst))
	}
	ids := []string{"a", "b", "c", "d"}
	return root, func() (string, []string) {
		id := ids[rng.IntN(len(ids))]
		dir := filepath.Join(root, "native", id)
		record := filepath.Join(root, "active", id+".json")
		switch rng.IntN(6) {
		case 0:
			os.RemoveAll(dir)
			copyLib(filepath.Join(dir, "libp.so"))
			if rng.IntN(3) > 0 {
				write(t, filepath.Join(dir, "plugin.yml"), fmt.Sprintf("id: %s\nversion: 1.%d.0\nnode_kind: k%d\nkind: native\nentrypoint: libp.so\n", id, rng.IntN(2), 1+rng.IntN(3)))
			}
			return "add " + id, []string{dir}
		case 1:
			os.RemoveAll(dir)
			return "remove " + id, []string{dir}
		case 2:
			if _, err := os.Stat(dir); err == nil {
				copyLib(filepath.Join(dir, "libp.so"))
			}
			return "rewrite " + id, []string{dir}
		case 3:
			to := filepath.Join(root, "native", ids[rng.IntN(len(ids))])
			if _, err := os.Stat(to); os.IsNotExist(err) {
				os.Rename(dir, to)
			}
			return "rename " + id + " to " + filepath.Base(to), []string{dir, to}
		case 4:
			version := fmt.Sprintf("2.%d.0", rng.IntN(2))
			copyLib(filepath.Join(root, "bundles", id, version, "libp.so"))
			rec, _ := json.Marshal(map[string]any{"plugin_id": id, "version": version, "node_kind": fmt.Sprintf("k%d", 1+rng.IntN(3)),
				"kind": "native", "entrypoint": ".plugins/bundles/" + id + "/" + version + "/libp.so", "installed_at_ms": 1})
			write(t, record, string(rec))
			return "record " + id, []string{record}
		default:
			os.Remove(record)
			return "unrecord " + id, []string{record}
		}
	}
}

// document is what a state document says, but for its times.
func document(st *State) []string {
	var lines []string
	for _, p := range st.Plugins {
		lines = append(lines, fmt.Sprintf("plugin %s %s %s %s %s", p.Kind, p.ID, p.Version, p.Library, p.Description))
	}
	for _, s := range st.Skipped {
		lines = append(lines, fmt.Sprintf("skipped %s %s %s %s", s.Kind, s.Library, s.Reason, s.Winner))
	}
	for _, p := range st.Problems {
		lines = append(lines, fmt.Sprintf("problem %s %s %s", p.Path, p.Code, p.Message))
	}
	return slices.Clip(lines)
}
