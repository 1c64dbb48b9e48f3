package plugwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/state"
)

// onChange runs the --on-change command: one at a time, never blocking the
// reconcile. Batches that arrive while it runs are merged and handed to the next
// run, so no event is lost and the command never runs twice at once.
type onChange struct {
	ctx     context.Context // ends the command running when the daemon stops
	cmd     string
	log     *slog.Logger
	mu      sync.Mutex
	queued  []state.Event
	running bool
	wg      sync.WaitGroup
}

func newOnChange(ctx context.Context, cmd string, log *slog.Logger) *onChange {
	return &onChange{ctx: ctx, cmd: cmd, log: log}
}

// run queues a pass's events and starts the command unless it is running.
func (o *onChange) run(events []state.Event) {
	if o.cmd == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queued = append(o.queued, events...)
	if o.running {
		return
	}
	o.running = true
	o.wg.Add(1)
	go o.loop()
}

func (o *onChange) loop() {
	defer o.wg.Done()
	for {
		o.mu.Lock()
		batch := o.queued
		o.queued = nil
		if len(batch) == 0 {
			o.running = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		var in bytes.Buffer
		enc := json.NewEncoder(&in)
		for _, e := range batch {
			enc.Encode(e)
		}
		c := exec.CommandContext(o.ctx, "sh", "-c", o.cmd)
		c.WaitDelay = time.Second
		c.Stdin = &in
		out, err := c.CombinedOutput()
		if err != nil {
			o.log.Error("--on-change command failed", "command", o.cmd, "err", err, "output", string(bytes.TrimSpace(out)))
		} else {
			o.log.Debug("--on-change command ran", "command", o.cmd, "events", len(batch))
		}
	}
}

// wait waits for the running command, if any.
func (o *onChange) wait() { o.wg.Wait() }
