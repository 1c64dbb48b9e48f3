package plugwatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/reconcile"
)

// mediaServer is a Go media server embedding plugwatch: it is told of every load,
// reload and unload (reconcile.Host), keeps the current plugin of each kind, and
// runs audio through instances of them. An instance holds its plugin: a reload
// serves new instances from the new version while the old ones finish.
type mediaServer struct {
	log *slog.Logger

	mu      sync.Mutex
	current map[string]*reconcile.LoadedPlugin // by kind
}

func newMediaServer(log *slog.Logger) *mediaServer {
	return &mediaServer{log: log, current: map[string]*reconcile.LoadedPlugin{}}
}

func (s *mediaServer) Loaded(p *reconcile.LoadedPlugin) { s.set(p.Info().Kind, p) }
func (s *mediaServer) Reloaded(_, new *reconcile.LoadedPlugin) {
	s.set(new.Info().Kind, new)
}
func (s *mediaServer) Unloaded(p *reconcile.LoadedPlugin) { s.set(p.Info().Kind, nil) }

func (s *mediaServer) set(kind string, p *reconcile.LoadedPlugin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		delete(s.current, kind)
		return
	}
	s.current[kind] = p
}

// node is one node of a pipeline: an instance of a plugin, made again from the
// current version of its kind when the plugin was reloaded.
type node struct {
	server *mediaServer
	kind   string
	params []byte
	in     *reconcile.Instance
	out    []float32
}

// process runs one frame of mono audio through the node and returns what the plugin
// sent on its output pin.
func (n *node) process(frame []float32, rate int) ([]float32, error) {
	n.server.mu.Lock()
	p := n.server.current[n.kind]
	n.server.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("no plugin provides %s", n.kind)
	}
	if n.in == nil || n.in.Plugin() != p {
		// New, or its plugin was reloaded: an instance of the current version. The
		// old instance is closed, and with its last instance the old library.
		if n.in != nil {
			n.in.Close()
		}
		in, err := p.NewInstance(n.params, native.InstanceOptions{
			Logger: n.server.log,
			Output: func(pin string, pk native.Packet) {
				if a, ok := pk.(native.AudioFrame); ok {
					n.out = append(n.out, a.Samples...)
				}
			},
		})
		if err != nil {
			return nil, err
		}
		n.in = in
	}
	n.out = n.out[:0]
	err := n.in.Process("in", native.AudioFrame{SampleRate: uint32(rate), Channels: 1, Samples: frame})
	return n.out, err
}

func (n *node) close() {
	if n.in != nil {
		n.in.Close()
	}
}

// A Go media server that embeds plugwatch: the daemon watches .plugins and keeps
// the loaded plugins equal to it (libraries are probed in helper processes, which
// are this program started again: its main calls probe.Main first), and the server
// runs 20 ms frames of a sine through the current build of the gain plugin, across
// every rebuild of it, until interrupted.
func Example() {
	probe.Main() // first thing in main: this binary is also the probe helper

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	server := newMediaServer(log)
	d, err := plugwatch.New(plugwatch.Config{
		Options: reconcile.Options{Root: ".plugins"},
		Logger:  log,
		Host:    server,
	})
	if err != nil {
		log.Error("cannot start plugwatch", "err", err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go d.Run(ctx) // until ctx ends; then every plugin is unloaded and released

	gain := &node{server: server, kind: "plugin::native::gain", params: []byte(`{"gain": 0.5}`)}
	defer gain.close()
	frame := make([]float32, 960) // 20 ms at 48 kHz
	for i := range frame {
		frame[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/48000))
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		out, err := gain.process(frame, 48000)
		if err != nil {
			log.Warn("gain", "err", err)
			continue
		}
		_ = out // to the speakers
	}
}
