package state

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Source says where a plugin comes from.
type Source string

const (
	// SourceActive is a marketplace record in active/.
	SourceActive Source = "active"
	// SourceDirectory is a directory bundle in native/<id>/.
	SourceDirectory Source = "directory"
)

// Reason says why a claimant of a kind is skipped.
type Reason string

const (
	// Shadowed: an active record provides the kind.
	Shadowed Reason = "shadowed"
	// Conflict: an earlier plugin of the same source provides the kind.
	Conflict Reason = "conflict"
	// Unsupported: a wasm plugin; plugwatch loads native libraries only.
	Unsupported Reason = "unsupported"
)

// State is the state document of docs/state.md, printed by scan --json, status --json and
// GET /v1/state. Its slices are never nil and always sorted (see Sort), so two
// documents of the same disk marshal to the same bytes except the time fields.
type State struct {
	Root         string    `json:"root"`
	Generation   uint64    `json:"generation"`
	ReconciledAt Time      `json:"reconciled_at"`
	Plugins      []Plugin  `json:"plugins"`
	Skipped      []Skipped `json:"skipped"`
	Problems     []Problem `json:"problems"`
}

// Plugin is one kind provided by one library.
type Plugin struct {
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	Version     string `json:"version"`
	Source      Source `json:"source"`
	Library     string `json:"library"`
	Manifest    string `json:"manifest,omitempty"`
	APIVersion  uint32 `json:"api_version"`
	Description string `json:"description,omitempty"`
	LoadedAt    Time   `json:"loaded_at"`
	Stale       bool   `json:"stale,omitempty"`
	Smoke       *Smoke `json:"smoke,omitempty"`
}

// Smoke is the smoke test a plugin passed under --smoke: its result ("ok"), the
// median time of process_packet (of tick, for a source) in microseconds, and how
// many packets each output pin received.
type Smoke struct {
	Result       string         `json:"result"`
	ProcessP50US float64        `json:"process_p50_us"`
	Outputs      map[string]int `json:"outputs"`
}

// Skipped is a claimant that does not provide its kind.
type Skipped struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Version string `json:"version"`
	Source  Source `json:"source"`
	Library string `json:"library"`
	Reason  Reason `json:"reason"`
	Winner  string `json:"winner,omitempty"`

	// Origin is the claimant's record or bundle folder. It is not part of the
	// document's JSON.
	Origin string `json:"-"`
}

// Provided returns which kinds the document's plugins provide, by kind, with the
// library that provides each: the one query install and the daemon's uploads ask of
// a scan or of a running daemon's last pass (whose plugins are its loaded set). A nil
// document provides nothing.
func (s *State) Provided() map[string]string {
	if s == nil {
		return map[string]string{}
	}
	kinds := make(map[string]string, len(s.Plugins))
	for _, p := range s.Plugins {
		kinds[p.Kind] = p.Library
	}
	return kinds
}

// Judged reports whether the document says anything of the library at path: a
// plugin, a skipped claimant or a problem. A nil document says nothing.
func (s *State) Judged(path string) bool {
	if s == nil {
		return false
	}
	for _, p := range s.Plugins {
		if p.Library == path {
			return true
		}
	}
	for _, k := range s.Skipped {
		if k.Library == path {
			return true
		}
	}
	for _, p := range s.Problems {
		if p.Path == path {
			return true
		}
	}
	return false
}

// Time marshals as UTC RFC 3339 with milliseconds.
type Time struct{ time.Time }

// TimeFormat is the layout of every time in the state document and in events.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(TimeFormat))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	t.Time = v
	return err
}

// Sort puts the slices of s in document order and replaces nil slices with empty ones:
// plugins and skipped by kind then library, problems by path then code, paths compared
// component by component; ties are broken by every other field, so the order never
// depends on the order found. Of problems with the same path and code it keeps the
// one whose message sorts first.
func (s *State) Sort() {
	if s.Plugins == nil {
		s.Plugins = []Plugin{}
	}
	if !slices.IsSortedFunc(s.Plugins, ComparePlugins) {
		slices.SortStableFunc(s.Plugins, ComparePlugins)
	}
	s.SortJudged()
}

// SortJudged is Sort for a document whose plugins are in document order already
// (ComparePlugins), as a document kept up to date pass by pass is: it sorts the
// skipped claimants and the problems only.
func (s *State) SortJudged() {
	if s.Skipped == nil {
		s.Skipped = []Skipped{}
	}
	if s.Problems == nil {
		s.Problems = []Problem{}
	}
	slices.SortStableFunc(s.Skipped, func(a, b Skipped) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return cmp.Or(comparePaths(a.Library, b.Library), strings.Compare(string(a.Reason), string(b.Reason)),
			comparePaths(a.Winner, b.Winner), strings.Compare(a.ID, b.ID), strings.Compare(a.Version, b.Version),
			strings.Compare(string(a.Source), string(b.Source)))
	})
	slices.SortStableFunc(s.Problems, func(a, b Problem) int {
		if c := comparePaths(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(string(a.Code), string(b.Code)), strings.Compare(a.Message, b.Message),
			strings.Compare(string(a.Level), string(b.Level)))
	})
	s.Problems = dedupe(s.Problems)
}

// ComparePlugins is the document order of plugins: by kind, then library. It returns
// -1, 0 or +1.
func ComparePlugins(a, b Plugin) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c // cmp.Or would compare the paths too, every time
	}
	return comparePaths(a.Library, b.Library)
}

// comparePaths orders two slash-separated paths component by component in byte
// order, so "a/x" sorts before "a-b/x". It returns -1, 0 or +1.
func comparePaths(a, b string) int {
	for {
		ai, bi := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if c := strings.Compare(ac, bc); c != 0 {
			return c
		}
		switch {
		case ai < 0 && bi < 0:
			return 0
		case ai < 0:
			return -1
		case bi < 0:
			return 1
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}

// dedupe drops sorted problems with the key of the one before.
func dedupe(ps []Problem) []Problem {
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p.Key() != ps[i-1].Key() {
			out = append(out, p)
		}
	}
	return out
}
