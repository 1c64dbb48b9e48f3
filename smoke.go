package plugwatch

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/probe"
	"github.com/plugwatch/plugwatch/reconcile"
	"github.com/plugwatch/plugwatch/state"
)

// smokeTicks is how many times a smoke test ticks a source, whatever its max_ticks
// (it may say it is done sooner).
const smokeTicks = 50

// SmokeTester returns the reconcile.Smoker of run --smoke and scan --smoke: each
// library that passed its probe is tried as `plugwatch try` tries it with its
// defaults (schema-default params, the input its first pin calls for, 50 ticks for a
// source), in a probe helper of p. params gives one kind the params its instances
// need, by registered kind ("plugin::native::whisper") or by the kind the library
// reports ("whisper"). The plugin's log lines go to log at debug level.
func SmokeTester(p *probe.Prober, params map[string][]byte, log *slog.Logger) reconcile.Smoker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, path, lib string, meta native.Metadata) (*state.Smoke, error) {
		kind := strings.TrimPrefix(meta.Kind, layout.KindPrefix)
		opts := probe.TryOptions{Ticks: smokeTicks}
		if v, ok := params[layout.KindPrefix+kind]; ok {
			opts.Params = v
		} else if v, ok := params[kind]; ok {
			opts.Params = v
		}
		rep, err := p.Try(ctx, path, opts)
		if errors.Is(err, probe.ErrTryOptions) {
			// The defaults do not suit the plugin: it cannot be smoke-tested as it is.
			return nil, &reconcile.SmokeError{Path: lib, Result: string(probe.TryFailed), Call: "create_instance", Message: err.Error()}
		}
		if err != nil {
			return nil, err // no helper: not judged
		}
		for _, l := range rep.Logs {
			log.Debug("plugin log line (smoke test)", "kind", layout.KindPrefix+kind, "plugin_level", l.Level,
				"target", l.Target, "message", l.Message, "path", lib)
		}
		if rep.Result != probe.TryOK {
			se := &reconcile.SmokeError{Path: lib, Result: string(rep.Result)}
			if e := rep.Error; e != nil {
				se.Call, se.Packet, se.HasPacket, se.Message = e.Call, e.Packet, e.HasPacket(), e.Message
			}
			return nil, se
		}
		smoke := &state.Smoke{Result: "ok", Outputs: rep.OutputPackets()}
		if c := rep.Calls(); c != nil {
			smoke.ProcessP50US = c.P50
		}
		return smoke, nil
	}
}
