package reconcile

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	"github.com/plugwatch/plugwatch/state"
)

// diff lists the changes from prev to st as events: unloaded before loaded for a
// change of provider, then skipped, then problems and resolutions. Whether a plugin
// changed is told by the loaded sets (a new *LoadedPlugin for its kind), not by the
// documents.
// changed holds the kinds whose plugin changed.
func diff(prev, st *state.State, old, next map[string]*LoadedPlugin, changed map[string]bool) []state.Event {
	var events []state.Event
	kinds := slices.Sorted(maps.Keys(changed))
	for _, k := range kinds {
		o, n := old[k], next[k]
		switch {
		case o == n:
		case o == nil:
			events = append(events, pluginEvent(state.Loaded, n.info))
		case n == nil:
			events = append(events, pluginEvent(state.Unloaded, o.info))
		case o.origin == n.origin:
			e := pluginEvent(state.Reloaded, n.info)
			e.OldVersion = o.info.Version
			events = append(events, e)
		default:
			events = append(events, pluginEvent(state.Unloaded, o.info), pluginEvent(state.Loaded, n.info))
		}
	}

	type skipKey struct {
		kind, library string
		reason        state.Reason
	}
	before := map[skipKey]bool{}
	if prev != nil {
		for _, s := range prev.Skipped {
			before[skipKey{s.Kind, s.Library, s.Reason}] = true
		}
	}
	for _, s := range st.Skipped {
		if !before[skipKey{s.Kind, s.Library, s.Reason}] {
			events = append(events, state.Event{Type: state.SkippedEvent, Kind: s.Kind, ID: s.ID, Version: s.Version,
				Source: s.Source, Library: s.Library, Reason: s.Reason, Winner: s.Winner})
		}
	}

	was, is := map[state.Key]bool{}, map[state.Key]bool{}
	if prev != nil {
		for _, p := range prev.Problems {
			was[p.Key()] = true
		}
	}
	for _, p := range st.Problems {
		is[p.Key()] = true
		if !was[p.Key()] {
			events = append(events, state.Event{Type: state.ProblemEvent, Path: p.Path, Code: p.Code, Level: p.Level, Message: p.Message})
		}
	}
	if prev != nil {
		for _, p := range prev.Problems {
			if !is[p.Key()] {
				events = append(events, state.Event{Type: state.Resolved, Path: p.Path, Code: p.Code, Level: p.Level, Message: p.Message})
			}
		}
	}
	return events
}

func pluginEvent(t state.EventType, p state.Plugin) state.Event {
	return state.Event{Type: t, Kind: p.Kind, ID: p.ID, Version: p.Version, Source: p.Source, Library: p.Library}
}

// logEvent writes the one log line of an event.
func logEvent(log *slog.Logger, e state.Event) {
	switch e.Type {
	case state.Loaded:
		log.Info("loaded", "kind", e.Kind, "version", e.Version, "source", e.Source, "path", e.Library)
	case state.Unloaded:
		log.Info("unloaded", "kind", e.Kind, "version", e.Version, "source", e.Source, "path", e.Library)
	case state.Reloaded:
		log.Info("reloaded", "kind", e.Kind, "version", e.Version, "old_version", e.OldVersion, "source", e.Source, "path", e.Library)
	case state.SkippedEvent:
		if e.Reason == state.Conflict {
			// Two plugins of one source claim a kind: the user meant one of them.
			log.Warn("skipped: another plugin provides the same kind; remove one of the two or change its kind",
				"kind", e.Kind, "version", e.Version, "source", e.Source, "reason", e.Reason, "winner", e.Winner, "path", e.Library)
			return
		}
		log.Info("skipped", "kind", e.Kind, "version", e.Version, "source", e.Source, "reason", e.Reason, "winner", e.Winner, "path", e.Library)
	case state.ProblemEvent:
		level := slog.LevelWarn
		if e.Level == state.Error {
			level = slog.LevelError
		}
		log.Log(context.Background(), level, "problem", "code", e.Code, "path", e.Path, "message", e.Message)
	case state.Resolved:
		log.Info("resolved", "code", e.Code, "path", e.Path)
	}
}
