package probe

import (
	"errors"
	"io"
	"reflect"
	"syscall"

	"github.com/plugwatch/plugwatch/internal/trial"
	"github.com/plugwatch/plugwatch/native"
)

// The messages between parent and helper, encoded with encoding/gob. Change
// protocolVersion with them.

// request asks a helper to probe one library, or with Try to try it.
type request struct {
	Path string // absolute
	ABI  native.Range
	Try  *trial.Config
}

// reply is the helper's hello (Hello set) or its answer to one request: metadata,
// an error, or both (native.Probe returns both when only closing failed).
type reply struct {
	Hello   int // protocol version, in the first message only
	PID     int
	HasMeta bool
	Meta    wireMeta
	HasErr  bool
	Err     wireError
	Try     *tryMsg // the messages of a try (tryhelper.go)
}

// wireMeta is native.Metadata with nothing gob would change: no pointers (a pointer
// to a zero struct would come back nil) and slices that may come back nil where
// empty, which fromWire undoes.
type wireMeta struct {
	Kind        string
	APIVersion  uint32
	Description string
	Inputs      []wireInput
	Outputs     []wireOutput
	ParamSchema string
	Categories  []string
}

type wireInput struct {
	Name  string
	Types []wireType
}

type wireOutput struct {
	Name string
	Type wireType
}

type wireType struct {
	Type         int32
	HasFormat    bool
	Format       native.AudioFormat
	CustomTypeID string
}

// wireError is a *native.Error, or another error as its text. Err is named by
// Sentinel when it is one of the errors in sentinels, else by Errno when it is a
// system error, else only by Text.
type wireError struct {
	Native   bool // the error was a *native.Error: Op, Path, Detail apply
	Op       string
	Path     string
	Detail   string
	Sentinel string
	Errno    uint64
	IsErrno  bool
	Text     string // Err.Error()
}

// sentinels are the errors whose identity crosses the pipe.
var sentinels = map[string]error{
	"incomplete":     native.ErrIncomplete,
	"not_loadable":   native.ErrNotLoadable,
	"loader":         native.ErrLoader,
	"no_entry":       native.ErrNoEntry,
	"abi_version":    native.ErrABIVersion,
	"metadata":       native.ErrMetadata,
	"invalid_kind":   native.ErrInvalidKind,
	"crashed":        native.ErrCrashed,
	"starts_process": native.ErrStartsProcess,
	"closed":         native.ErrClosed,
	"unsupported":    native.ErrUnsupported,
	"eof":            io.EOF,
	"unexpected_eof": io.ErrUnexpectedEOF,
}

// toWire encodes what native.Probe returned.
func toWire(md native.Metadata, err error) reply {
	if err != nil {
		r := reply{HasErr: true, Err: errorToWire(err)}
		if !reflect.DeepEqual(md, native.Metadata{}) {
			r.HasMeta, r.Meta = true, metaToWire(md)
		}
		return r
	}
	return reply{HasMeta: true, Meta: metaToWire(md)}
}

// result decodes r; path replaces the path of a *native.Error (the helper was given
// the absolute path).
func (r reply) result(path string) (native.Metadata, error) {
	var md native.Metadata
	if r.HasMeta {
		md = r.Meta.fromWire()
	}
	if !r.HasErr {
		return md, nil
	}
	err := r.Err.fromWire()
	if ne, ok := err.(*native.Error); ok {
		ne.Path = path
	}
	return md, err
}

func errorToWire(err error) wireError {
	var w wireError
	inner := err
	if ne, ok := errors.AsType[*native.Error](err); ok {
		w.Native, w.Op, w.Path, w.Detail = true, ne.Op, ne.Path, ne.Detail
		inner = ne.Err
	}
	if inner == nil {
		inner = errors.New("unknown error")
	}
	w.Text = inner.Error()
	for name, s := range sentinels {
		if inner == s {
			w.Sentinel = name
			return w
		}
	}
	if errno, ok := errors.AsType[syscall.Errno](inner); ok {
		w.IsErrno, w.Errno = true, uint64(errno)
	}
	return w
}

func (w wireError) fromWire() error {
	var err error
	switch s, ok := sentinels[w.Sentinel]; {
	case ok:
		err = s
	case w.IsErrno:
		err = syscall.Errno(w.Errno)
	default:
		err = errors.New(w.Text)
	}
	if !w.Native {
		return err
	}
	return &native.Error{Op: w.Op, Path: w.Path, Err: err, Detail: w.Detail}
}

func metaToWire(md native.Metadata) wireMeta {
	w := wireMeta{
		Kind:        md.Kind,
		APIVersion:  md.APIVersion,
		Description: md.Description,
		ParamSchema: string(md.ParamSchema),
		Categories:  md.Categories,
	}
	for _, in := range md.Inputs {
		wi := wireInput{Name: in.Name}
		for _, t := range in.Types {
			wi.Types = append(wi.Types, typeToWire(t))
		}
		w.Inputs = append(w.Inputs, wi)
	}
	for _, out := range md.Outputs {
		w.Outputs = append(w.Outputs, wireOutput{Name: out.Name, Type: typeToWire(out.Type)})
	}
	return w
}

// fromWire rebuilds the metadata, with empty slices where native.Metadata promises
// non-nil ones.
func (w wireMeta) fromWire() native.Metadata {
	md := native.Metadata{
		Kind:        w.Kind,
		APIVersion:  w.APIVersion,
		Description: w.Description,
		Inputs:      make([]native.InputPin, 0, len(w.Inputs)),
		Outputs:     make([]native.OutputPin, 0, len(w.Outputs)),
		ParamSchema: native.Schema(w.ParamSchema),
		Categories:  append(make([]string, 0, len(w.Categories)), w.Categories...),
	}
	for _, wi := range w.Inputs {
		in := native.InputPin{Name: wi.Name, Types: make([]native.TypeInfo, 0, len(wi.Types))}
		for _, t := range wi.Types {
			in.Types = append(in.Types, t.fromWire())
		}
		md.Inputs = append(md.Inputs, in)
	}
	for _, wo := range w.Outputs {
		md.Outputs = append(md.Outputs, native.OutputPin{Name: wo.Name, Type: wo.Type.fromWire()})
	}
	return md
}

func typeToWire(t native.TypeInfo) wireType {
	w := wireType{Type: int32(t.Type), CustomTypeID: t.CustomTypeID}
	if t.AudioFormat != nil {
		w.HasFormat, w.Format = true, *t.AudioFormat
	}
	return w
}

func (w wireType) fromWire() native.TypeInfo {
	t := native.TypeInfo{Type: native.PacketType(w.Type), CustomTypeID: w.CustomTypeID}
	if w.HasFormat {
		f := w.Format
		t.AudioFormat = &f
	}
	return t
}
