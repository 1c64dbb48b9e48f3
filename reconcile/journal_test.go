package reconcile

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A blame or a suspicion is carried on to the new journal while its library is
// unchanged, and dropped once the library was rebuilt (or removed): the new build is
// judged afresh, and an old journal's verdicts do not pile up.
func TestReplayCarriesBlameWhileTheFileIsUnchanged(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "native")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	lib := func(name, data string) (string, Identity) {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
		id, err := pathIdentity(path)
		require.NoError(t, err)
		return path, id
	}
	kept, keptID := lib("libkept.so", "the same build")
	rebuilt, rebuiltID := lib("librebuilt.so", "the first build")
	suspect, suspectID := lib("libsuspect.so", "the same build")
	gone, goneID := lib("libgone.so", "removed since")
	require.NoError(t, os.Remove(rebuilt))
	lib("librebuilt.so", "a new build, of another size")
	require.NoError(t, os.Remove(gone))

	old := filepath.Join(t.TempDir(), "journal-1.jsonl")
	var lines []string
	for _, r := range []record{
		{T: 1, Blamed: kept, ID: &keptID, Detail: "hung"},
		{T: 1, Blamed: rebuilt, ID: &rebuiltID, Detail: "hung"},
		{T: 1, Blamed: gone, ID: &goneID, Detail: "hung"},
		{T: 1, Suspect: suspect, ID: &suspectID, Detail: "died"},
		{T: 2, Clean: true},
	} {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	require.NoError(t, os.WriteFile(old, []byte(strings.Join(lines, "\n")+"\n"), 0o644))

	j := openJournal(root, os.Getpid())
	require.NotNil(t, j)
	var out recovered
	replay(old, j, slog.New(slog.DiscardHandler), &out)
	require.Len(t, out.blamed, 1)
	assert.Equal(t, kept, out.blamed[0].path)
	assert.Equal(t, []Identity{suspectID}, out.suspects)

	data, err := os.ReadFile(j.path)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"blamed":"`+kept+`"`)
	assert.Contains(t, string(data), `"suspect":"`+suspect+`"`)
	assert.NotContains(t, string(data), rebuilt)
	assert.NotContains(t, string(data), gone)
	j.close()
}
