package state

// EventType names a change of the loaded set or of the problems (docs/http-api.md).
type EventType string

// The event types of docs/http-api.md.
const (
	Loaded   EventType = "loaded"   // a plugin was opened and registered
	Reloaded EventType = "reloaded" // the same kind from the same record or folder, with a changed library
	Unloaded EventType = "unloaded" // a plugin was unregistered (its library is closed once released)
	Skip     EventType = "skipped"  // a claimant newly skipped
	Appeared EventType = "problem"  // a problem appeared (identified by path and code)
	Resolved EventType = "resolved" // a problem went away
)

// Event is one change, as /v1/events sends it and --on-change reads it. Fields that
// do not apply are empty and omitted from the JSON.
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
