package reconcile

import (
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
	"github.com/plugwatch/plugwatch/state"
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

// TestFullPassesAgreeWithAFreshScan is TestHintPassesAgreeWithAFreshScan for full
// passes over files older than the coarse clock's doubt: every pass stats what the
// last one read, reads again only what changed and changes the book by that.
func TestFullPassesAgreeWithAFreshScan(t *testing.T) {
	root, change := randomChanges(t)
	s, err := NewScanner(Options{Root: root})
	require.NoError(t, err)
	defer s.Close()
	s.now = func() time.Time { return time.Now().Add(2 * racy) }
	_, err = s.Desired(t.Context())
	require.NoError(t, err)
	for i := range 60 {
		op, _ := change()
		d, err := s.Desired(t.Context())
		require.NoError(t, err)
		fresh, err := Scan(t.Context(), Options{Root: root})
		require.NoError(t, err)
		require.Equal(t, document(fresh), document(d.State(root, 1, time.Time{})), "step %d: %s", i, op)
	}
}

// randomChanges makes a root and returns a function that changes it at random and
// says what it did and which paths changed, for one of four ids and three kinds: a
// bundle added (with a manifest, or without one and with one or two libraries),
// removed, rebuilt (now and then into a library that fails its probe) or renamed,
// its manifest broken; a record installed, removed or broken. Nothing it replaces
// or removes is freed (it goes to a trash folder), so no file identity is reused.
// The seed is logged; PLUGWATCH_SEED replays one.
func randomChanges(t *testing.T) (string, func() (string, []string)) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PLUGWATCH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (PLUGWATCH_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var good []string
	for k := 1; k <= 3; k++ {
		for _, d := range []string{"x", "y"} {
			good = append(good, plugintest.Build(t, plugintest.Spec{Kind: fmt.Sprintf("k%d", k), Description: d}))
		}
	}
	bad := plugintest.Build(t, plugintest.Spec{Kind: "k1", ABI: 12})
	root := newRoot(t)
	trash := t.TempDir()
	n := 0
	discard := func(path string) {
		n++
		os.Rename(path, filepath.Join(trash, fmt.Sprint(n)))
	}
	copyLib := func(dst string) {
		src := good[rng.IntN(len(good))]
		if rng.IntN(5) == 0 {
			src = bad
		}
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst+".tmp", data, 0o755))
		discard(dst)
		require.NoError(t, os.Rename(dst+".tmp", dst))
	}
	ids := []string{"a", "b", "c", "d"}
	return root, func() (string, []string) {
		id := ids[rng.IntN(len(ids))]
		dir := filepath.Join(root, "native", id)
		record := filepath.Join(root, "active", id+".json")
		exists := func(path string) bool { _, err := os.Stat(path); return err == nil }
		switch rng.IntN(8) {
		case 0:
			discard(dir)
			copyLib(filepath.Join(dir, "libp.so"))
			switch rng.IntN(3) {
			case 0:
				copyLib(filepath.Join(dir, "libq.so"))
				return "add two libraries without a manifest " + id, []string{dir}
			case 1:
				return "add without a manifest " + id, []string{dir}
			}
			write(t, filepath.Join(dir, "plugin.yml"), fmt.Sprintf("id: %s\nversion: 1.%d.0\nnode_kind: k%d\nkind: native\nentrypoint: libp.so\n", id, rng.IntN(2), 1+rng.IntN(3)))
			return "add " + id, []string{dir}
		case 1:
			discard(dir)
			return "remove " + id, []string{dir}
		case 2:
			lib := []string{"libp.so", "libq.so"}[rng.IntN(2)]
			if exists(dir) {
				copyLib(filepath.Join(dir, lib))
			}
			return "rewrite " + id + "/" + lib, []string{dir}
		case 3:
			to := filepath.Join(root, "native", ids[rng.IntN(len(ids))])
			if !exists(to) {
				os.Rename(dir, to)
			}
			return "rename " + id + " to " + filepath.Base(to), []string{dir, to}
		case 4:
			if exists(filepath.Join(dir, "plugin.yml")) {
				write(t, filepath.Join(dir, "plugin.yml"), "id: [\n")
			}
			return "break the manifest of " + id, []string{dir}
		case 5:
			version := fmt.Sprintf("2.%d.0", rng.IntN(2))
			copyLib(filepath.Join(root, "bundles", id, version, "libp.so"))
			rec, _ := json.Marshal(map[string]any{"plugin_id": id, "version": version, "node_kind": fmt.Sprintf("k%d", 1+rng.IntN(3)),
				"kind": "native", "entrypoint": ".plugins/bundles/" + id + "/" + version + "/libp.so", "installed_at_ms": 1})
			write(t, record, string(rec))
			return "record " + id, []string{record}
		case 6:
			if exists(record) {
				write(t, record, "{")
			}
			return "break the record of " + id, []string{record}
		default:
			discard(record)
			return "unrecord " + id, []string{record}
		}
	}
}

// TestHintPassesAgreeWithFullPasses runs two Controllers over one root through the
// random changes: one makes the passes the changes' paths ask for, the other makes
// a full pass every time. Their documents agree after every change, stale plugins
// and the claimants they push aside included.
func TestHintPassesAgreeWithFullPasses(t *testing.T) {
	root, change := randomChanges(t)
	hint, full := newController(t, root, nil), newController(t, root, nil)
	full.scan.stage.copies.pid = os.Getpid() + 1<<22 // private copies named apart: glibc keeps one library per name
	// Every file is older than the coarse clock's doubt: a full pass takes the
	// folders that did not change as they were.
	full.scan.now = func() time.Time { return time.Now().Add(2 * racy) }
	for _, c := range []*Controller{hint, full} {
		_, err := c.Reconcile(t.Context(), false)
		require.NoError(t, err)
	}
	for i := range 80 {
		op, paths := change()
		_, err := hint.ReconcileHint(t.Context(), paths)
		require.NoError(t, err)
		_, err = full.Reconcile(t.Context(), false)
		require.NoError(t, err)
		require.Equal(t, document(full.State()), document(hint.State()), "step %d: %s", i, op)
	}
}

// document is what a state document says, but for its times.
func document(st *state.State) []string {
	var lines []string
	for _, p := range st.Plugins {
		lines = append(lines, fmt.Sprintf("plugin %s %s %s %s %s stale=%v", p.Kind, p.ID, p.Version, p.Library, p.Description, p.Stale))
	}
	for _, s := range st.Skipped {
		lines = append(lines, fmt.Sprintf("skipped %s %s %s %s", s.Kind, s.Library, s.Reason, s.Winner))
	}
	for _, p := range st.Problems {
		lines = append(lines, fmt.Sprintf("problem %s %s %s", p.Path, p.Code, p.Message))
	}
	return slices.Clip(lines)
}
