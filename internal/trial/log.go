package trial

import (
	"context"
	"log/slog"
	"strings"
)

// logger returns a logger whose records go to f as the plugin's log lines. The
// records native makes of a plugin's line carry its "target" and "message"; the
// others are plugwatch's own words about the plugin (a packet it could not read),
// which keep their attributes in the message (but kind and path: the report names
// the library) and the target "plugwatch".
func logger(f func(Log)) *slog.Logger { return slog.New(logHandler{f}) }

type logHandler struct{ f func(Log) }

func (logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	l := Log{Level: levelName(r.Level), Message: r.Message}
	target, message, found := "", "", false
	var extra []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "target":
			target, found = a.Value.String(), true
		case "message":
			message = a.Value.String()
			extra = append(extra, a.Key+"="+message)
		case "kind", "path": // the try's own library
		default:
			extra = append(extra, a.Key+"="+a.Value.String())
		}
		return true
	})
	switch {
	case found:
		l.Message = message
	case len(extra) > 0:
		target = "plugwatch"
		l.Message += " (" + strings.Join(extra, ", ") + ")"
	default:
		target = "plugwatch"
	}
	l.Target = target
	h.f(l)
	return nil
}

func (h logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logHandler) WithGroup(string) slog.Handler      { return h }

// levelName names a level as the try document does; native logs a plugin's trace
// and debug lines at slog's debug level.
func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
