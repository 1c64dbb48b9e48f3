package admin

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plugwatch/plugwatch/state"
)

// fakeSource is a Source whose state and events the test drives. Like the real
// controller, Publish never blocks: a subscriber whose buffer is full is dropped and
// its channel closed.
type fakeSource struct {
	buf int // channel buffer of each subscriber

	mu      sync.Mutex
	state   *state.State
	subs    map[int]chan state.Event
	next    int
	dropped int

	subscribed chan struct{} // one value per Subscribe
	cancelled  chan struct{} // one value per first call of a cancel func
}

func newFakeSource(buf int) *fakeSource {
	return &fakeSource{
		buf:        buf,
		subs:       make(map[int]chan state.Event),
		subscribed: make(chan struct{}, 64),
		cancelled:  make(chan struct{}, 64),
	}
}

var _ Source = (*fakeSource)(nil)

func (f *fakeSource) State() *state.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeSource) setState(st *state.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = st
}

func (f *fakeSource) Subscribe() (<-chan state.Event, func()) {
	f.mu.Lock()
	id := f.next
	f.next++
	ch := make(chan state.Event, f.buf)
	f.subs[id] = ch
	f.mu.Unlock()
	f.subscribed <- struct{}{}
	return ch, sync.OnceFunc(func() {
		f.mu.Lock()
		if c, ok := f.subs[id]; ok {
			delete(f.subs, id)
			close(c)
		}
		f.mu.Unlock()
		f.cancelled <- struct{}{}
	})
}

// publish sends ev to every subscriber without blocking.
func (f *fakeSource) publish(ev state.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, ch := range f.subs {
		select {
		case ch <- ev:
		default:
			delete(f.subs, id)
			close(ch)
			f.dropped++
		}
	}
}

// closeAll closes every subscriber's channel, as a controller that stops does.
func (f *fakeSource) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, ch := range f.subs {
		delete(f.subs, id)
		close(ch)
	}
}

func (f *fakeSource) droppedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

// wait receives from ch or fails the test after a generous deadline; the deadline
// only guards against a hang, it never orders anything.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// checkLeaks verifies at the end of the test, after every other cleanup, that no
// goroutine was left behind. Call it first.
func checkLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// newClient returns a client that keeps no idle connection after the test.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// testState is a small but complete state document.
func testState() *state.State {
	at := state.Time{Time: time.Date(2026, 11, 24, 19, 30, 0, 123e6, time.UTC)}
	st := &state.State{
		Root:         "/abs/path/.plugins",
		Generation:   12,
		ReconciledAt: at,
		Plugins: []state.Plugin{{
			Kind: "plugin::native::gain", ID: "gain", Version: "1.2.0",
			Source:   state.SourceActive,
			Library:  "/abs/path/.plugins/bundles/gain/1.2.0/libgain.so",
			Manifest: "/abs/path/.plugins/active/gain.json", APIVersion: 6,
			Description: "Adjusts volume <&>", LoadedAt: at, Stale: true,
		}},
		Skipped: []state.Skipped{{
			Kind: "plugin::native::gain", ID: "gain", Version: "1.1.0",
			Source:  state.SourceDirectory,
			Library: "/abs/path/.plugins/native/gain/libgain.so",
			Reason:  state.Shadowed,
			Winner:  "/abs/path/.plugins/bundles/gain/1.2.0/libgain.so",
		}},
		Problems: []state.Problem{{
			Path: "/abs/path/.plugins/native/libstray.so", Code: state.BareLibrary,
			Level: state.Warn, Message: "native library directly in native/ is not loaded",
		}},
	}
	st.Sort()
	return st
}

// sseMsg is one message of an event stream: comment lines or an event.
type sseMsg struct {
	comments []string
	event    string
	data     []string
}

// readMsg reads one message (up to a blank line) of an event stream.
func readMsg(r *bufio.Reader) (sseMsg, error) {
	var m sseMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line != "" {
				err = io.ErrUnexpectedEOF
			}
			return m, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return m, nil
		case strings.HasPrefix(line, ":"):
			m.comments = append(m.comments, strings.TrimSpace(line[1:]))
		case strings.HasPrefix(line, "event: "):
			m.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			m.data = append(m.data, line[len("data: "):])
		default:
			return m, fmt.Errorf("unexpected line %q", line)
		}
	}
}

// openStream GETs /v1/events at base and returns the body once ": connected" arrived.
func openStream(t *testing.T, ctx context.Context, c *http.Client, base string) (*bufio.Reader, io.Closer) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/events: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
	br := bufio.NewReader(resp.Body)
	m, err := readMsg(br)
	if err != nil || len(m.comments) != 1 || m.comments[0] != "connected" || m.event != "" {
		t.Fatalf("first message = %+v, %v; want the comment \"connected\"", m, err)
	}
	return br, resp.Body
}
