package watcher

import "github.com/fsnotify/fsnotify"

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

type notifyBackend struct{ *fsnotify.Watcher }

func newNotifyBackend() (backend, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return notifyBackend{w}, nil
}

func (b notifyBackend) eventC() <-chan fsnotify.Event { return b.Events }
func (b notifyBackend) errorC() <-chan error          { return b.Errors }
