package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

func testEvents() []state.Event {
	at := state.Time{Time: time.Date(2026, 11, 24, 19, 30, 0, 123e6, time.UTC)}
	return []state.Event{
		{Type: state.Loaded, Kind: "plugin::native::gain", ID: "gain", Version: "1.2.0",
			Source: state.SourceActive, Library: "/r/bundles/gain/1.2.0/libgain.so", Generation: 1, At: at},
		{Type: state.ProblemEvent, Path: "/r/native/libstray.so", Code: state.BareLibrary,
			Level: state.Warn, Message: "line one\nline two", Generation: 1, At: at},
		{Type: state.Reloaded, Kind: "plugin::native::gain", ID: "gain", Version: "1.3.0", OldVersion: "1.2.0",
			Source: state.SourceActive, Library: "/r/bundles/gain/1.3.0/libgain.so", Generation: 2, At: at},
		{Type: state.SkippedEvent, Kind: "plugin::native::gain", ID: "gain", Version: "1.1.0",
			Source: state.SourceDirectory, Library: "/r/native/gain/libgain.so",
			Reason: state.Shadowed, Winner: "/r/bundles/gain/1.3.0/libgain.so", Generation: 2, At: at},
		{Type: state.Resolved, Path: "/r/native/libstray.so", Code: state.BareLibrary, Generation: 3, At: at},
		{Type: state.Unloaded, Kind: "plugin::native::gain", ID: "gain", Version: "1.3.0", Generation: 3, At: at},
	}
}

// checkEvent reads one message and checks it is ev.
func checkEvent(t *testing.T, br *bufio.Reader, ev state.Event) {
	t.Helper()
	m, err := readMsg(br)
	if err != nil {
		t.Fatalf("reading %s: %v", ev.Type, err)
	}
	if m.event != string(ev.Type) {
		t.Errorf("event: %q, want %q", m.event, ev.Type)
	}
	if len(m.data) != 1 {
		t.Fatalf("%s: %d data lines, want 1: %q", ev.Type, len(m.data), m.data)
	}
	want, _ := json.Marshal(ev)
	if m.data[0] != string(want) {
		t.Errorf("data:\n got %s\nwant %s", m.data[0], want)
	}
	var got state.Event
	if err := json.Unmarshal([]byte(m.data[0]), &got); err != nil || got.Type != ev.Type {
		t.Errorf("data does not decode to the event: %+v, %v", got, err)
	}
}

func TestEventsInOrder(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(16)
	srv := httptest.NewServer(NewHandler(src, nil, nil))
	t.Cleanup(srv.Close)

	br, _ := openStream(t, t.Context(), newClient(t), srv.URL)
	evs := testEvents()
	for _, ev := range evs {
		src.publish(ev)
	}
	for _, ev := range evs {
		checkEvent(t, br, ev)
	}

	// The Source closing the channel ends the stream.
	src.closeAll()
	if m, err := readMsg(br); !errors.Is(err, io.EOF) {
		t.Errorf("after the source closed: %+v, %v; want EOF", m, err)
	}
	wait(t, src.cancelled, "the handler to cancel its subscription")
}

func TestEventsKeepAlive(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(4)
	h := NewHandler(src, nil, nil).(*handler)
	h.keepAlive = time.Millisecond
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	br, _ := openStream(t, t.Context(), newClient(t), srv.URL)
	for range 2 {
		m, err := readMsg(br)
		if err != nil || len(m.comments) != 1 || m.comments[0] != "keep-alive" {
			t.Fatalf("got %+v, %v; want a keep-alive comment", m, err)
		}
	}
	// Events still arrive between keep-alives.
	ev := testEvents()[0]
	src.publish(ev)
	for {
		m, err := readMsg(br)
		if err != nil {
			t.Fatal(err)
		}
		if m.event != "" {
			if m.event != string(ev.Type) {
				t.Fatalf("event %q, want %q", m.event, ev.Type)
			}
			break
		}
	}
}

func TestEventsClientDisconnect(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(4)
	srv := httptest.NewServer(NewHandler(src, nil, nil))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	br, _ := openStream(t, ctx, newClient(t), srv.URL)
	src.publish(testEvents()[0])
	checkEvent(t, br, testEvents()[0])

	cancel()
	// The server notices the closed connection and the handler unsubscribes.
	wait(t, src.cancelled, "the handler to cancel its subscription")
	if _, err := readMsg(br); err == nil {
		t.Error("stream still readable after the client went away")
	}
}

// gatedWriter is a ResponseWriter whose writes after the first block until the gate
// opens, or until a write deadline set in the past expires them: a client that
// stopped reading.
type gatedWriter struct {
	header  http.Header
	gate    chan struct{} // closed to let writes through
	blocked chan struct{} // receives once when a write starts waiting

	mu      sync.Mutex
	writes  int
	buf     strings.Builder
	expired chan struct{} // closed by a deadline that passed; nil: none yet
}

// SetWriteDeadline is what http.ResponseController calls.
func (w *gatedWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired == nil {
		w.expired = make(chan struct{})
	}
	if !t.After(time.Now()) {
		select {
		case <-w.expired:
		default:
			close(w.expired)
		}
	}
	return nil
}

func (w *gatedWriter) Header() http.Header { return w.header }
func (w *gatedWriter) WriteHeader(int)     {}
func (w *gatedWriter) Flush()              {}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first := w.writes == 1
	w.mu.Unlock()
	if !first {
		select {
		case w.blocked <- struct{}{}:
		default:
		}
		w.mu.Lock()
		if w.expired == nil {
			w.expired = make(chan struct{})
		}
		expired := w.expired
		w.mu.Unlock()
		select {
		case <-w.gate:
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.WriteString(string(p))
}

func TestEventsSlowSubscriberClosed(t *testing.T) {
	checkLeaks(t)
	const buffer = 2
	src := newFakeSource(buffer)
	h := NewHandler(src, nil, nil)
	w := &gatedWriter{header: http.Header{}, gate: make(chan struct{}), blocked: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/events", nil))
	}()
	wait(t, src.subscribed, "the handler to subscribe")

	evs := testEvents()
	src.publish(evs[0])
	wait(t, w.blocked, "the handler to block writing the first event")
	// The handler is stuck in a write; the buffer fills and the next event drops
	// the subscriber. publish must return although nobody reads.
	published := make(chan struct{})
	go func() {
		defer close(published)
		for _, ev := range evs[1 : buffer+2] {
			src.publish(ev)
		}
	}()
	wait(t, published, "publish to return")
	if src.droppedCount() != 1 {
		t.Fatalf("dropped %d subscribers, want 1", src.droppedCount())
	}

	close(w.gate)
	wait(t, done, "the stream to end after its channel was closed")
	wait(t, src.cancelled, "the handler to cancel its subscription")

	br := bufio.NewReader(strings.NewReader(w.buf.String()))
	if m, err := readMsg(br); err != nil || len(m.comments) != 1 || m.comments[0] != "connected" {
		t.Fatalf("first message %+v, %v", m, err)
	}
	// The event in flight and the buffered ones arrive, in order, then the end.
	for _, ev := range evs[:buffer+1] {
		checkEvent(t, br, ev)
	}
	if m, err := readMsg(br); !errors.Is(err, io.EOF) {
		t.Errorf("after the buffered events: %+v, %v; want EOF", m, err)
	}
}

func TestFormatEventRejectsBadType(t *testing.T) {
	for _, typ := range []state.EventType{"", "loaded\ndata: x"} {
		if _, err := formatEvent(state.Event{Type: typ}); err == nil {
			t.Errorf("formatEvent accepted type %q", typ)
		}
	}
}

// A write a client does not take is given up as soon as its request ends (the server
// stopping), and the handler returns; until then it waits, however long.
func TestEventsStalledWriteEndsWithTheRequest(t *testing.T) {
	checkLeaks(t)
	src := newFakeSource(16)
	h := NewHandler(src, nil, nil)
	w := &gatedWriter{header: http.Header{}, gate: make(chan struct{}), blocked: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/events", nil).WithContext(ctx))
	}()
	wait(t, src.subscribed, "the handler to subscribe")
	src.publish(testEvents()[0])
	wait(t, w.blocked, "the handler to block writing the first event")
	cancel()
	wait(t, done, "the handler to return once its request ended")
	wait(t, src.cancelled, "the handler to cancel its subscription")
	defer close(w.gate)
}
