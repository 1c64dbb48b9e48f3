package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

// events streams the Source's events as Server-Sent Events until the client goes
// away, the Source closes the channel, a write fails or the request context ends.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // tell reverse proxies not to buffer
	if r.Method == http.MethodHead {
		return
	}

	// Subscribe before announcing the stream, so that a client that saw
	// ": connected" misses no later event.
	ch, cancel := h.src.Subscribe()
	defer cancel()
	s := &sseWriter{w: w, rc: http.NewResponseController(w), log: h.log}
	defer s.giveUpWith(r.Context())()
	if !s.send(": connected\n\n") {
		return
	}
	tick := time.NewTicker(h.keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				h.log.Debug("admin: event stream closed by the source", "remote", r.RemoteAddr)
				return
			}
			msg, err := formatEvent(ev)
			if err != nil {
				h.log.Error("admin: event stream: dropping an event", "event", string(ev.Type), "err", err)
				continue
			}
			if !s.send(msg) {
				return
			}
			tick.Reset(h.keepAlive)
		case <-tick.C:
			if !s.send(": keep-alive\n\n") {
				return
			}
		}
	}
}

// sseWriter writes an event stream's messages, each flushed at once.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	log *slog.Logger
}

// send writes and flushes msg, and reports whether both worked.
func (s *sseWriter) send(msg string) bool {
	if _, err := s.w.Write([]byte(msg)); err != nil {
		return false
	}
	if err := s.rc.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			s.log.Error("admin: event stream: the response writer cannot flush")
		}
		return false
	}
	return true
}

// giveUpWith makes a write the client does not take give up at once when ctx (the
// request's) ends, and returns what lifts that deadline again, for the handler's
// return, so that the server can end the response cleanly.
//
// Otherwise no write has a deadline: a client that stops reading is never dropped
// for it (its events wait in its subscription, then overflow); one that is gone is
// found by TCP keep-alive.
func (s *sseWriter) giveUpWith(ctx context.Context) (lift func()) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.rc.SetWriteDeadline(time.Now())
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
			s.rc.SetWriteDeadline(time.Time{})
		}
	}
}

// formatEvent renders ev as one SSE message: its type as the event name and its
// JSON, which never holds a raw newline, as the data line.
func formatEvent(ev state.Event) (string, error) {
	if ev.Type == "" || strings.ContainsAny(string(ev.Type), "\r\n") {
		return "", fmt.Errorf("bad event type %q", ev.Type)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	return "event: " + string(ev.Type) + "\ndata: " + string(data) + "\n\n", nil
}
