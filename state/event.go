package state

import "encoding/json"

// EventType names a change of the loaded set or of the problems (docs/http-api.md).
type EventType string

// The event types of docs/http-api.md.
const (
	Loaded       EventType = "loaded"   // a plugin was opened and registered
	Reloaded     EventType = "reloaded" // the same kind from the same record or folder, with a changed library
	Unloaded     EventType = "unloaded" // a plugin was unregistered (its library is closed once released)
	SkippedEvent EventType = "skipped"  // a claimant newly skipped (Skipped is the document's entry)
	ProblemEvent EventType = "problem"  // a problem appeared, identified by path and code (Problem is the document's entry)
	Resolved     EventType = "resolved" // a problem went away
)

// Event is one change, as /v1/events sends it and --on-change reads it. Fields that
// do not apply are empty and omitted from the JSON; but a plugin's event (loaded,
// reloaded, unloaded, skipped) always carries version, and reloaded old_version,
// "" for a plugin without one (a folder without a manifest).
type Event struct {
	Type       EventType `json:"event"`
	Kind       string    `json:"kind,omitempty"`
	ID         string    `json:"id,omitempty"`
	Version    string    `json:"version,omitempty"`
	OldVersion string    `json:"old_version,omitempty"`
	Source     Source    `json:"source,omitempty"`
	Library    string    `json:"library,omitempty"`
	Reason     Reason    `json:"reason,omitempty"`
	Winner     string    `json:"winner,omitempty"`
	Path       string    `json:"path,omitempty"`
	Code       Code      `json:"code,omitempty"`
	Level      Level     `json:"level,omitempty"`
	Message    string    `json:"message,omitempty"`
	Generation uint64    `json:"generation"`
	At         Time      `json:"at"`
}

// Overflow is the event a subscriber receives in place of the events it fell too
// far behind to be given: re-read the state document. Its JSON carries only the
// generation (and the time).
const Overflow EventType = "overflow"

// MarshalJSON writes the fields that apply to the event's type (see Event).
func (e Event) MarshalJSON() ([]byte, error) {
	w := eventJSON{
		Type: e.Type, Kind: e.Kind, ID: e.ID, Source: e.Source, Library: e.Library,
		Reason: e.Reason, Winner: e.Winner, Path: e.Path, Code: e.Code, Level: e.Level,
		Message: e.Message, Generation: e.Generation, At: e.At,
	}
	plugin := e.Type == Loaded || e.Type == Unloaded || e.Type == SkippedEvent || e.Type == Reloaded
	if plugin || e.Version != "" {
		w.Version = &e.Version
	}
	if e.Type == Reloaded || e.OldVersion != "" {
		w.OldVersion = &e.OldVersion
	}
	return json.Marshal(w)
}

// eventJSON is Event as its JSON is written: the versions are pointers, present
// where they apply even when empty.
type eventJSON struct {
	Type       EventType `json:"event"`
	Kind       string    `json:"kind,omitempty"`
	ID         string    `json:"id,omitempty"`
	Version    *string   `json:"version,omitempty"`
	OldVersion *string   `json:"old_version,omitempty"`
	Source     Source    `json:"source,omitempty"`
	Library    string    `json:"library,omitempty"`
	Reason     Reason    `json:"reason,omitempty"`
	Winner     string    `json:"winner,omitempty"`
	Path       string    `json:"path,omitempty"`
	Code       Code      `json:"code,omitempty"`
	Level      Level     `json:"level,omitempty"`
	Message    string    `json:"message,omitempty"`
	Generation uint64    `json:"generation"`
	At         Time      `json:"at"`
}
