package probe

import (
	"encoding/gob"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/internal/trial"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
)

// The messages of a try, from the helper to the parent (reply.Try), in order: meta
// (the library opened; reply.Meta), then per call a begin and an end, log lines
// whenever the plugin logs, and done. A library that cannot be opened sends done at
// once, with reply.Err.

// The events of a try.
const (
	tryMeta  = 1
	tryBegin = 2
	tryEnd   = 3
	tryLog   = 4
	tryDone  = 5
)

// tryMsg is one message of a try.
type tryMsg struct {
	Event  int
	Call   string  // begin, end
	Packet int     // begin, end
	Micros float64 // end; negative: the call was not made
	Counts []int   // end: packets per output pin so far
	// begin: what was sent and received before the call, its packet included
	// (trial.Progress as JSON): what the report says if the helper dies in it.
	Progress []byte
	Log      trial.Log
	// done: the outcome as JSON (trial.Outcome without its audio), or the option
	// that does not fit the plugin, and the audio of the captured pins.
	Outcome []byte
	Option  *trial.OptionError
	Audio   []wireAudio
}

type wireAudio struct {
	Pin      string
	Rate     int
	Channels int
	Data     []float32
}

// trySender sends a try's messages; the plugin may log from its own threads, so it
// locks. A message it cannot send means the parent is gone or the library took the
// helper's descriptors: the helper exits.
type trySender struct {
	mu    sync.Mutex
	enc   *gob.Encoder
	pipes []fileID
	done  bool
}

func (s *trySender) send(r reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return // a log line after the end
	}
	if r.Try.Event == tryDone {
		s.done = true
	}
	if !slices.Equal(descriptorIDs(3, 4), s.pipes) || s.enc.Encode(r) != nil {
		os.Exit(exitLostConnection)
	}
}

// serveTry is the helper's side of a try: it opens the library as a probe does, then
// runs the plugin with trial.Run, reporting each call before and after it is made.
// The parent stops the helper after done.
func serveTry(enc *gob.Encoder, pipes []fileID, r request) {
	s := &trySender{enc: enc, pipes: pipes}
	if helperHook != nil {
		helperHook(r.Path)
	}
	lib, err := native.Open(r.Path, r.ABI)
	if hasChildren() {
		n := killChildren(killChildrenTimeout)
		if lib != nil {
			lib.Close()
		}
		lib, err = nil, startsProcess(r.Path, n)
	}
	if err == nil {
		if _, kerr := manifest.NormalizeKind(lib.Metadata().Kind); kerr != nil {
			err = &native.Error{Op: "probe", Path: r.Path, Err: native.ErrInvalidKind, Detail: kerr.Error()}
		}
	}
	if err != nil {
		s.send(reply{HasErr: true, Err: errorToWire(err), Try: &tryMsg{Event: tryDone}})
		return
	}
	s.send(reply{HasMeta: true, Meta: metaToWire(lib.Metadata()), Try: &tryMsg{Event: tryMeta}})
	var progress []byte
	out, err := trial.Run(lib, *r.Try, trial.Hooks{
		Progress: func(p trial.Progress) { progress, _ = json.Marshal(p) },
		Begin: func(call string, packet int) {
			s.send(reply{Try: &tryMsg{Event: tryBegin, Call: call, Packet: packet, Progress: progress}})
		},
		End: func(call string, packet int, took time.Duration, counts []int) {
			us := -1.0
			if took >= 0 {
				us = float64(took) / float64(time.Microsecond)
			}
			s.send(reply{Try: &tryMsg{Event: tryEnd, Call: call, Packet: packet, Micros: us, Counts: counts}})
		},
		Log: func(l trial.Log) { s.send(reply{Try: &tryMsg{Event: tryLog, Log: l}}) },
	})
	done := &tryMsg{Event: tryDone}
	if oe, ok := err.(*trial.OptionError); ok {
		done.Option = oe
	} else {
		done.Outcome, _ = json.Marshal(out)
		for _, pin := range slices.Sorted(maps.Keys(out.Audio)) {
			a := out.Audio[pin]
			done.Audio = append(done.Audio, wireAudio{Pin: pin, Rate: a.Rate, Channels: a.Channels, Data: a.Data})
		}
	}
	s.send(reply{Try: done})
}
