package reconcile

import (
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

// SubscriberBuffer is how many events a subscriber may fall behind before its
// backlog is replaced by one Overflow event.
const SubscriberBuffer = 65536

// subscriber is one Subscribe: a backlog the controller appends to without ever
// blocking, and a goroutine that hands it to the channel in order.
type subscriber struct {
	out  chan state.Event
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex
	backlog []state.Event
}

// Subscribe returns a channel that receives every event from now on, in order, and a
// function that ends the subscription and closes the channel. Publishing never
// blocks the controller and never drops events silently: a subscriber that falls
// more than SubscriberBuffer events behind receives one Overflow event in place of
// its backlog, then the events that follow. The channel is closed by the returned
// function and by Close.
func (c *Controller) Subscribe() (<-chan state.Event, func()) {
	s := &subscriber{out: make(chan state.Event), wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(s.out)
		s.pump()
	}()
	var once sync.Once
	return s.out, func() {
		once.Do(func() {
			c.mu.Lock()
			if _, ok := c.subs[s]; ok {
				delete(c.subs, s)
				close(s.done)
			}
			c.mu.Unlock()
			<-finished
		})
	}
}

func (c *Controller) publish(events []state.Event) {
	if len(events) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.subs {
		s.add(events)
	}
}

// closeSubscribers ends every subscription.
func (c *Controller) closeSubscribers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.subs {
		delete(c.subs, s)
		close(s.done)
	}
}

func (s *subscriber) add(events []state.Event) {
	s.mu.Lock()
	if len(s.backlog)+len(events) > SubscriberBuffer {
		last := events[len(events)-1]
		s.backlog = append(s.backlog[:0], state.Event{Type: state.Overflow, Generation: last.Generation, At: state.Time{Time: time.Now()}})
	} else {
		s.backlog = append(s.backlog, events...)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump sends the backlog until the subscription ends; what is still queued then is
// dropped with the subscription.
func (s *subscriber) pump() {
	for {
		select {
		case <-s.wake:
		case <-s.done:
			return
		}
		for {
			s.mu.Lock()
			batch := s.backlog
			s.backlog = nil
			s.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, e := range batch {
				select {
				case s.out <- e:
				case <-s.done:
					return
				}
			}
		}
	}
}
