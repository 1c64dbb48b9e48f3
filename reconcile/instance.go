package reconcile

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/plugwatch/plugwatch/native"
)

// ErrUnloaded: NewInstance was called on a plugin that is no longer loaded (it was
// unloaded or replaced by a reload); the plugin that provides its kind now makes new
// instances.
var ErrUnloaded = errors.New("plugin no longer loaded")

// Instance is a running instance of a loaded plugin: a native.Instance (whose methods
// and contract it has) that holds its plugin from NewInstance to Close. While it is
// open, unloading or reloading the plugin never closes its library: a reload serves
// new instances from the new version while the old ones finish, and the old library
// is closed after the last of them.
type Instance struct {
	*native.Instance
	plugin   *LoadedPlugin
	released atomic.Bool
}

// NewInstance acquires the plugin and creates an instance of it with the JSON object
// params (nil for NULL; see native.Library.NewInstance). The "kind" of its log lines
// is the plugin's kind as the state document shows it unless opts.Kind is set, and
// their "path" (and its errors') the plugin's library, the user's file, unless
// opts.Path is. It
// fails with an error matching ErrUnloaded when the plugin was already unloaded, or
// with the *native.CallError of create_instance; the plugin is released again then.
// The instance must be closed.
func (p *LoadedPlugin) NewInstance(params []byte, opts native.InstanceOptions) (*Instance, error) {
	info := p.Info()
	if !p.Acquire() {
		return nil, fmt.Errorf("reconcile: new instance of %s (%s): %w", info.Kind, info.Library, ErrUnloaded)
	}
	if opts.Kind == "" {
		opts.Kind = info.Kind
	}
	if opts.Path == "" {
		opts.Path = info.Library
	}
	in, err := p.lib.NewInstance(params, opts)
	if err != nil {
		p.Release()
		return nil, err
	}
	return &Instance{Instance: in, plugin: p}, nil
}

// Plugin returns the loaded plugin the instance runs.
func (in *Instance) Plugin() *LoadedPlugin { return in.plugin }

// Close destroys the instance (native.Instance.Close) and releases its plugin, once:
// a second Close returns the error matching native.ErrInstanceClosed and releases
// nothing. The plugin is released even when Close panics (a panic of the host's
// Output function, raised again).
func (in *Instance) Close() error {
	defer func() {
		if in.released.CompareAndSwap(false, true) {
			in.plugin.Release()
		}
	}()
	return in.Instance.Close()
}
