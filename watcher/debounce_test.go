package watcher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// clock drives a debouncer on fake time and records what it sends.
type clock struct {
	d    debouncer
	now  time.Time
	sent []Signal
	at   []time.Duration
}

func newClock(quiet time.Duration) *clock {
	return &clock{d: newDebouncer(quiet), now: time.Unix(1000, 0)}
}

func (c *clock) start() time.Time { return time.Unix(1000, 0) }

// advance moves time forward by dt, firing the debouncer's timer when it is due on the way.
func (c *clock) advance(dt time.Duration) {
	end := c.now.Add(dt)
	for {
		due, ok := c.d.due()
		if !ok || due.After(end) {
			break
		}
		c.now = due
		if s, ok := c.d.tick(c.now); ok {
			c.record(s)
		}
	}
	c.now = end
}

func (c *clock) event(full bool, paths ...string) {
	if s, ok := c.d.event(c.now, Signal{Full: full, Paths: paths}); ok {
		c.record(s)
	}
}

func (c *clock) record(s Signal) {
	c.sent = append(c.sent, s)
	c.at = append(c.at, c.now.Sub(c.start()))
}

func TestDebounceLeadingAndTrailing(t *testing.T) {
	c := newClock(100 * time.Millisecond)
	c.event(false) // leading edge: at once
	assert.Equal(t, []time.Duration{0}, c.at)
	for range 10 {
		c.advance(10 * time.Millisecond)
		c.event(false)
	}
	// The last event came at 100ms; the trailing signal comes 100ms later.
	c.advance(time.Second)
	assert.Equal(t, []time.Duration{0, 200 * time.Millisecond}, c.at)

	// Quiet again: the next event is signalled at once.
	c.event(false)
	assert.Len(t, c.sent, 3)
	assert.Equal(t, 1100*time.Millisecond, c.at[2])
}

func TestDebounceSteadyStream(t *testing.T) {
	c := newClock(100 * time.Millisecond)
	// An event every 50ms for 3.5s never leaves a quiet period.
	for range 70 {
		c.event(false)
		c.advance(50 * time.Millisecond)
	}
	c.advance(time.Second)
	// Leading at 0, then at most a second apart, then trailing.
	assert.GreaterOrEqual(t, len(c.sent), 4)
	assert.LessOrEqual(t, len(c.sent), 6)
	for i := 1; i < len(c.at); i++ {
		assert.LessOrEqual(t, c.at[i]-c.at[i-1], time.Second+50*time.Millisecond, "gap before signal %d", i)
	}
}

func TestDebounceLongQuietPeriod(t *testing.T) {
	// A steady stream is signalled every max(1 s, debounce).
	c := newClock(3 * time.Second)
	for range 100 {
		c.event(false)
		c.advance(100 * time.Millisecond)
	}
	assert.Equal(t, []time.Duration{0, 3100 * time.Millisecond, 6100 * time.Millisecond, 9100 * time.Millisecond}, c.at)
}

func TestDebounceFullIsKept(t *testing.T) {
	c := newClock(100 * time.Millisecond)
	c.event(false)
	c.advance(time.Millisecond)
	c.event(true)
	c.advance(time.Millisecond)
	c.event(false)
	c.advance(time.Second)
	assert.Equal(t, []Signal{{Full: false}, {Full: true}}, c.sent)
	c.event(true)
	assert.Equal(t, Signal{Full: true}, c.sent[2], "a leading Full")
}

func TestDebouncePathsAreMerged(t *testing.T) {
	c := newClock(100 * time.Millisecond)
	c.event(false, "/r/native/a")
	c.advance(time.Millisecond)
	c.event(false, "/r/native/c")
	c.event(false, "/r/native/b", "/r/native/c")
	c.advance(time.Second)
	assert.Equal(t, []Signal{{Paths: []string{"/r/native/a"}}, {Paths: []string{"/r/native/b", "/r/native/c"}}}, c.sent)
	// A Full held with paths is just Full: everything is looked at again.
	c.event(false, "/r/native/a")
	c.advance(time.Millisecond)
	c.event(false, "/r/native/b")
	c.event(true)
	c.advance(time.Second)
	assert.Equal(t, Signal{Full: true}, c.sent[3])
}

func TestDeliverMergesUnread(t *testing.T) {
	w, err := New(Options{Root: t.TempDir()})
	assert.NoError(t, err)
	w.deliver(Signal{Full: true})
	w.deliver(Signal{})
	w.deliver(Signal{})
	assert.Equal(t, Signal{Full: true}, <-w.C())
	assert.Empty(t, w.C())
	w.deliver(Signal{})
	assert.Equal(t, Signal{}, <-w.C())
	w.deliver(Signal{Paths: []string{"/b"}})
	w.deliver(Signal{Paths: []string{"/a", "/b"}})
	assert.Equal(t, Signal{Paths: []string{"/a", "/b"}}, <-w.C())
}
