package reconcile

import (
	"sync"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// Host is how a process embedding plugwatch learns of every load, reload and
// unload. The Controller calls it from its own goroutine, one call at a time, after
// the change: Loaded once the library is open, Reloaded once the new version is open
// (the old one is still open during the call), Unloaded when a plugin leaves the
// loaded set. A Host must not block for long: the next pass waits for it.
//
// A plugin's library stays open until Unloaded (or Reloaded, for the old version)
// has returned and every Acquire has been Released: a Host that holds instances of
// a plugin Acquires it in Loaded and Releases it when its last instance is gone.
type Host interface {
	Loaded(p *LoadedPlugin)
	Reloaded(old, new *LoadedPlugin)
	Unloaded(p *LoadedPlugin)
}

// LoadedPlugin is a plugin open in this process.
type LoadedPlugin struct {
	info     state.Plugin // as in the state document (Stale is set by the pass)
	meta     native.Metadata
	lib      *native.Library
	copy     private
	identity Identity
	resolved string // the library after symlinks (a --trust build output, say)
	origin   string
	wanted   bool     // the last pass that looked at its kind wanted it exactly as it is (owned by the pass)
	claim    *claim   // the claim the pass last found it wanted by (owned by the pass)
	dirs     []string // the folders its files lie in that the watcher does not watch on its own; made by watchDirs

	mu       sync.Mutex
	refs     int
	unloaded bool
	closed   chan struct{}
}

// Info returns the plugin as the state document shows it. It is safe to call from
// any goroutine.
func (p *LoadedPlugin) Info() state.Plugin {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

// update changes the plugin's state-document entry, and reports whether it changed.
func (p *LoadedPlugin) update(f func(*state.Plugin)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	before := p.info
	f(&p.info)
	return p.info != before
}

// Metadata returns what the library reported.
func (p *LoadedPlugin) Metadata() native.Metadata { return p.meta }

// API returns the address of the library's CNativePluginAPI table (docs/abi.md). It is
// valid while the plugin is acquired, or until Unloaded returns.
func (p *LoadedPlugin) API() uintptr { return p.lib.API() }

// Acquire keeps the library open until the matching Release. It reports false,
// and keeps nothing open, once the plugin was unloaded.
func (p *LoadedPlugin) Acquire() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unloaded {
		return false
	}
	p.refs++
	return true
}

// Release ends an Acquire. The last Release after an unload closes the library, off
// the caller's goroutine (Done tells when). A Release without its Acquire panics: it
// would close a library still in use.
func (p *LoadedPlugin) Release() {
	p.mu.Lock()
	if p.refs <= 0 {
		p.mu.Unlock()
		panic("reconcile: LoadedPlugin.Release without Acquire")
	}
	p.refs--
	last := p.unloaded && p.refs == 0
	p.mu.Unlock()
	if last {
		closer.add(p.close)
	}
}

// Done is closed once the library is closed and its private copy removed.
func (p *LoadedPlugin) Done() <-chan struct{} { return p.closed }

// unload marks p unloaded and starts closing it now, or at its last Release.
func (p *LoadedPlugin) unload() {
	p.mu.Lock()
	p.unloaded = true
	last := p.refs == 0
	p.mu.Unlock()
	if last {
		closer.add(p.close)
	}
}

// close closes the library and removes its private copy. It runs on the closer's
// goroutine: dlclose waits for the dynamic loader's lock, which an open in progress
// holds for as long as its constructor runs, and neither the pass nor the host's
// Release waits for that.
func (p *LoadedPlugin) close() {
	closeLibrary(p.lib)
	p.copy.remove()
	close(p.closed)
}
