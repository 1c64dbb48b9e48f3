//go:build !linux || !(amd64 || arm64)

package native

// Without native plugins no Library is ever open, so no Instance exists: create
// reports ErrUnsupported and the other functions are never reached.

type instanceSys struct{}

func (in *Instance) create(*Library, []byte) error {
	return &CallError{Call: "create_instance", Path: in.path, Err: ErrUnsupported}
}

func (in *Instance) process(string, Packet) error       { return ErrUnsupported }
func (in *Instance) flush() error                       { return ErrUnsupported }
func (in *Instance) updateParams([]byte) error          { return ErrUnsupported }
func (in *Instance) upstreamHint([]byte) error          { return ErrUnsupported }
func (in *Instance) sourceConfig() (SourceConfig, bool) { return SourceConfig{}, false }
func (in *Instance) tick() (bool, error)                { return false, ErrUnsupported }
func (in *Instance) runtimeSchema() ([]byte, error)     { return nil, ErrUnsupported }
func (in *Instance) destroy()                           {}

type reusedOutput struct{}
