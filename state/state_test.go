package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugwatch/plugwatch/native"
)

func TestComparePaths(t *testing.T) {
	assert.Equal(t, -1, comparePaths("/r/a/x", "/r/a-b/x"))
	assert.Equal(t, 1, comparePaths("/r/a-b/x", "/r/a/x"))
	assert.Equal(t, 0, comparePaths("/r/a", "/r/a"))
	assert.Equal(t, -1, comparePaths("/r/a", "/r/a/b"))
}

// Sort gives every document of the same contents the same order, and the same
// bytes: nil slices become empty ones, a problem's duplicates by key are dropped.
func TestSortIsTheDocumentOrder(t *testing.T) {
	st := State{
		Plugins: []Plugin{{Kind: "plugin::native::b", Library: "/r/b"}, {Kind: "plugin::native::a", Library: "/r/a-b/x"}, {Kind: "plugin::native::a", Library: "/r/a/x"}},
		Problems: []Problem{
			{Path: "/r/a-b", Code: NoManifest, Message: "2"},
			{Path: "/r/a", Code: NoManifest, Message: "z"},
			{Path: "/r/a", Code: NoManifest, Message: "y"},
		},
	}
	st.Sort()
	assert.Equal(t, []Plugin{{Kind: "plugin::native::a", Library: "/r/a/x"}, {Kind: "plugin::native::a", Library: "/r/a-b/x"}, {Kind: "plugin::native::b", Library: "/r/b"}}, st.Plugins)
	assert.Equal(t, []Problem{{Path: "/r/a", Code: NoManifest, Message: "y"}, {Path: "/r/a-b", Code: NoManifest, Message: "2"}}, st.Problems)
	assert.Equal(t, []Skipped{}, st.Skipped)
}

// Times are UTC with milliseconds, both ways; Origin is never in the JSON.
func TestJSON(t *testing.T) {
	at := Time{Time: time.Date(2026, 12, 2, 3, 4, 5, 678900000, time.FixedZone("x", 3600))}
	b, err := json.Marshal(Problem{Path: "/p", Code: Crashed, Level: Error, Message: "m", Origin: "/o"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"path":"/p","code":"crashed","level":"error","message":"m"}`, string(b))
	b, err = json.Marshal(at)
	require.NoError(t, err)
	assert.Equal(t, `"2026-12-02T02:04:05.678Z"`, string(b))
	var back Time
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.Equal(at.Truncate(time.Millisecond)))
}

func TestProbeProblem(t *testing.T) {
	for _, tc := range []struct {
		err     error
		code    Code
		level   Level
		message string
	}{
		{&native.Error{Op: "open", Path: "/l.so", Err: native.ErrCrashed, Detail: "killed by signal SIGSEGV"}, Crashed, Error,
			"library crashed or hung when opened: killed by signal SIGSEGV; it is not opened again until the file changes"},
		{&native.Error{Op: "check", Path: "/l.so", Err: native.ErrIncomplete, Detail: "10 bytes"}, Incomplete, Warn,
			"not a whole ELF file: 10 bytes; it is looked at again when it changes"},
		{&native.Error{Op: "open", Path: "/l.so", Err: native.ErrABIVersion, Detail: "API version 12"}, ABIVersion, Error,
			"unsupported API version: API version 12; rebuild it against a supported SDK or widen --abi"},
		{&native.Error{Op: "open", Path: "/l.so", Err: native.ErrInvalidKind}, InvalidKind, Error,
			"invalid kind; fix the kind its get_metadata returns"},
		{&native.Error{Op: "open", Path: "/l.so", Err: native.ErrNoEntry}, LoadFailed, Error,
			"missing symbol streamkit_native_plugin_api; is it a StreamKit native plugin?"},
		{&native.Error{Op: "check", Path: "/l.so", Err: native.ErrNotLoadable, Detail: "ELF machine EM_AARCH64"}, LoadFailed, Error,
			"not a shared object for this machine: ELF machine EM_AARCH64"},
		{fmt.Errorf("probe: %w", errors.New("helper gone")), LoadFailed, Error, "probe: helper gone"},
	} {
		assert.Equal(t, Problem{Path: "/l.so", Code: tc.code, Level: tc.level, Message: tc.message}, ProbeProblem("/l.so", tc.err))
	}
}

// A plugin's event carries its version, and reloaded its old version, even when
// they are empty; a problem's event carries neither.
func TestEventJSONCarriesVersions(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		{Event{Type: Reloaded, Kind: "k", ID: "gain", Source: SourceDirectory, Generation: 2},
			`{"event":"reloaded","kind":"k","id":"gain","version":"","old_version":"","source":"directory","generation":2,"at":"0001-01-01T00:00:00.000Z"}`},
		{Event{Type: Reloaded, Kind: "k", Version: "1.1.0", OldVersion: "1.0.0", Generation: 2},
			`{"event":"reloaded","kind":"k","version":"1.1.0","old_version":"1.0.0","generation":2,"at":"0001-01-01T00:00:00.000Z"}`},
		{Event{Type: Loaded, Kind: "k", Generation: 1},
			`{"event":"loaded","kind":"k","version":"","generation":1,"at":"0001-01-01T00:00:00.000Z"}`},
		{Event{Type: ProblemEvent, Path: "/p", Code: BadManifest, Level: Error, Message: "m", Generation: 1},
			`{"event":"problem","path":"/p","code":"bad_manifest","level":"error","message":"m","generation":1,"at":"0001-01-01T00:00:00.000Z"}`},
	} {
		b, err := json.Marshal(tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.ev.Type, b, tc.want)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil || back != tc.ev {
			t.Errorf("%s: read back as %+v, %v", tc.ev.Type, back, err)
		}
	}
	// Every field is written: an event with all of them set reads back whole.
	all := Event{Type: SkippedEvent, Kind: "k", ID: "i", Version: "v", OldVersion: "o", Source: SourceActive,
		Library: "/l", Reason: Shadowed, Winner: "/w", Path: "/p", Code: BadManifest, Level: Warn,
		Message: "m", Generation: 7, At: Time{time.UnixMilli(1).UTC()}}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || back != all {
		t.Errorf("all fields: read back as %+v from %s, %v", back, b, err)
	}
}
