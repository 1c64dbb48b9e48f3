package watcher

import (
	"fmt"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// backend is the part of *fsnotify.Watcher that Run uses; tests wrap it to inject
// errors and failing watches.
type backend interface {
	Add(path string) error
	Remove(path string) error
	WatchList() []string
	Close() error
	eventC() <-chan fsnotify.Event
	errorC() <-chan error
}

// maxQueued is how many events notifyBackend holds for Run before it drops them and
// reports an overflow instead (which asks for a full rescan).
const maxQueued = 1 << 16

// notifyBackend is an fsnotify watcher whose events and errors are drained at once
// into queues of its own. fsnotify (v1.10) holds its watch lock while it sends on
// its channels, and Run calls Add, Remove and WatchList, which take that lock, from
// the goroutine that reads the channels: without the queues, a send fsnotify makes
// while Run waits for the lock deadlocks both (the soak run found it, after a watched
// folder was renamed away).
type notifyBackend struct {
	*fsnotify.Watcher
	events chan fsnotify.Event
	errs   chan error
	done   chan struct{}
	wg     sync.WaitGroup
}

func newNotifyBackend() (backend, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	b := &notifyBackend{Watcher: w, events: make(chan fsnotify.Event), errs: make(chan error), done: make(chan struct{})}
	b.wg.Add(1)
	go b.forward()
	return b, nil
}

func (b *notifyBackend) eventC() <-chan fsnotify.Event { return b.events }
func (b *notifyBackend) errorC() <-chan error          { return b.errs }

// Remove removes the watch of path. fsnotify (v1.10, its issue #652) panics when two
// watched names had one watch descriptor (a folder watched under its old name and,
// once renamed, its new one: inotify gives one folder one descriptor) and the second
// is removed after the first; by then the watch is gone with the first name, so
// that is ErrNonExistentWatch here. fsnotify has taken the name out of its books
// before it fails, and unlocks its lock as the panic unwinds.
func (b *notifyBackend) Remove(path string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s (its folder's watch went with another name)", fsnotify.ErrNonExistentWatch, path)
		}
	}()
	return b.Watcher.Remove(path)
}

// Close closes the fsnotify watcher and stops forwarding; nothing is left running.
func (b *notifyBackend) Close() error {
	err := b.Watcher.Close()
	close(b.done)
	b.wg.Wait()
	return err
}

// forward moves fsnotify's events and errors into queues as soon as they come, and
// hands them to Run when it reads. It ends when fsnotify's channels are closed and the
// queues are empty, or when Close is called.
func (b *notifyBackend) forward() {
	defer b.wg.Done()
	defer close(b.events)
	defer close(b.errs)
	in, inErr := b.Watcher.Events, b.Watcher.Errors
	var events []fsnotify.Event
	var errs []error
	overflowed := false
	for in != nil || inErr != nil || len(events) > 0 || len(errs) > 0 {
		var out chan fsnotify.Event
		var next fsnotify.Event
		if len(events) > 0 {
			out, next = b.events, events[0]
		}
		var outErr chan error
		var nextErr error
		if len(errs) > 0 {
			outErr, nextErr = b.errs, errs[0]
		}
		select {
		case ev, ok := <-in:
			switch {
			case !ok:
				in = nil
			case len(events) >= maxQueued:
				if !overflowed {
					errs, overflowed = append(errs, fsnotify.ErrEventOverflow), true
				}
			default:
				events = append(events, ev)
			}
		case err, ok := <-inErr:
			if !ok {
				inErr = nil
				continue
			}
			errs = append(errs, err)
		case out <- next:
			events = events[1:]
			if len(events) == 0 {
				events, overflowed = nil, false // let the backing array go
			}
		case outErr <- nextErr:
			errs = errs[1:]
		case <-b.done:
			return
		}
	}
}
