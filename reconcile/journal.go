package reconcile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// The journal is a file per plugwatch process in <root>/.plugwatch/, one JSON record
// a line: every private file the process made and removed, and every library it
// opened. At start, plugwatch reads the journals of processes that no longer run:
// it removes the private files they left, wherever they are (below a symlinked root,
// deep entrypoints, --trust folders), and when a process died without closing its
// journal it judges the libraries it opened in the last blameWindow before it died:
// one opened alone is crashed until its file changes, several are suspects, each
// opened again alone, so a library whose thread kills plugwatch a second after it
// was opened never becomes a crash loop. The blame and the suspicion are carried to
// the new process's journal while the file is unchanged.

// journalDir is the folder of the root that holds the journals.
const journalDir = ".plugwatch"

// blameWindow: a library opened this long before an unclean exit is blamed for it.
const blameWindow = 10 * time.Second

type record struct {
	T       int64     `json:"t"` // Unix milliseconds
	Copy    string    `json:"copy,omitempty"`
	Mirror  string    `json:"mirror,omitempty"`
	Removed string    `json:"removed,omitempty"`
	Opening string    `json:"opening,omitempty"` // a library about to be opened in this process
	ID      *Identity `json:"id,omitempty"`
	Blamed  string    `json:"blamed,omitempty"`  // a library blamed for an earlier death, carried on
	Suspect string    `json:"suspect,omitempty"` // one of several opened just before a death, on probation
	Detail  string    `json:"detail,omitempty"`
	Alive   bool      `json:"alive,omitempty"` // written every second within blameWindow of an open
	Quiet   bool      `json:"quiet,omitempty"` // nothing was opened for blameWindow
	Clean   bool      `json:"clean,omitempty"` // the process closed its journal
}

// journal is this process's journal. A nil *journal records nothing (the root is
// not writable): private files are then only removed as usual.
type journal struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	carried bool          // it holds blame or suspicion for the next process
	until   time.Time     // blameWindow after the last open
	ticker  bool          // the goroutine writing alive records runs
	stop    chan struct{} // closed by close
	done    sync.WaitGroup
}

// openJournal creates this process's journal below root.
func openJournal(root string, pid int) *journal {
	dir := filepath.Join(root, journalDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("journal-%d.jsonl", pid)), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil
	}
	return &journal{f: f, path: f.Name(), stop: make(chan struct{})}
}

func (j *journal) write(r record) {
	if j == nil {
		return
	}
	r.T = time.Now().UnixMilli()
	b, _ := json.Marshal(r)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		j.f.Write(append(b, '\n'))
	}
	j.carried = j.carried || r.Blamed != "" || r.Suspect != ""
}

// made records a private file (and the mirror folder holding it, if any).
func (j *journal) made(p private) { j.write(record{Copy: p.path, Mirror: p.mirror}) }

// removed records that a private file is gone.
func (j *journal) removed(p private) { j.write(record{Removed: p.path}) }

// blame records a library that hung when opened in this process: the next process
// takes it as crashed until it changes, as it does a library blamed for a death.
func (j *journal) blame(path string, id Identity, detail string) {
	j.write(record{Blamed: path, ID: &id, Detail: detail})
}

// opening records a library about to be opened in this process. Within blameWindow
// after the last open an alive record is written every second, so that a death is
// dated to the second; then a quiet record clears the libraries opened before it.
func (j *journal) opening(path string, id Identity) {
	if j == nil {
		return
	}
	j.write(record{Opening: path, ID: &id})
	j.mu.Lock()
	defer j.mu.Unlock()
	j.until = time.Now().Add(blameWindow)
	if j.ticker || j.f == nil {
		return
	}
	j.ticker = true
	j.done.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-j.stop:
				return
			case now := <-t.C:
				j.mu.Lock()
				over := now.After(j.until)
				if over {
					j.ticker = false
				}
				j.mu.Unlock()
				if over {
					j.write(record{Quiet: true})
					return
				}
				j.write(record{Alive: true})
			}
		}
	})
}

// close marks the journal clean (this process did not die), and removes it when it
// carries nothing for the next process.
func (j *journal) close() {
	if j == nil {
		return
	}
	close(j.stop)
	j.done.Wait()
	j.write(record{Clean: true})
	j.mu.Lock()
	defer j.mu.Unlock()
	j.f.Close()
	j.f = nil
	if !j.carried {
		os.Remove(j.path)
		os.Remove(filepath.Dir(j.path)) // the folder, if this was its last journal
	}
}

// recovered is what the journals of dead processes left to this one.
type recovered struct {
	removed  int        // private files removed
	blamed   []*verdict // libraries crashed by an earlier death, by identity
	suspects []Identity // libraries opened together just before a death: on probation
}

// recoverJournals reads the journals of dead plugwatch processes below root: it
// removes the private files they left, and works out whom to blame for a death. A
// library that was the only one opened within blameWindow before the death is
// blamed (crashed) until it changes. When several were, each is a suspect: they are
// opened again one at a time, each alone for blameWindow (see stage.probation), so
// that a second death names the culprit alone. Blame and suspicion are carried on in
// this process's journal j.
func recoverJournals(root string, self int, j *journal, log *slog.Logger) recovered {
	dir := filepath.Join(root, journalDir)
	entries, _ := os.ReadDir(dir)
	var out recovered
	for _, e := range entries {
		name := e.Name()
		pidText, ok := strings.CutSuffix(strings.TrimPrefix(name, "journal-"), ".jsonl")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || !strings.HasPrefix(name, "journal-") || pid == self || alive(pid) {
			continue
		}
		path := filepath.Join(dir, name)
		replay(path, j, log, &out)
		os.Remove(path)
	}
	return out
}

// replay applies one dead process's journal.
func replay(path string, j *journal, log *slog.Logger, out *recovered) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	jr := readJournal(f)
	for p, r := range jr.files {
		if os.Remove(p) == nil {
			out.removed++
		}
		if r.Mirror != "" {
			os.RemoveAll(r.Mirror)
		}
	}
	if !jr.clean {
		jr.blameDeath(log)
	}
	for id, r := range jr.blamed {
		if !unchanged(r.Blamed, id) {
			continue // a new build: judged afresh, and the blame is not carried on
		}
		j.write(record{Blamed: r.Blamed, ID: r.ID, Detail: r.Detail})
		out.blamed = append(out.blamed, &verdict{id: id, path: r.Blamed, done: true,
			err: &native.Error{Op: "open", Path: r.Blamed, Err: native.ErrCrashed, Detail: r.Detail}})
	}
	for id, r := range jr.suspects {
		if !unchanged(r.Suspect, id) {
			continue
		}
		j.write(record{Suspect: r.Suspect, ID: r.ID, Detail: r.Detail})
		out.suspects = append(out.suspects, id)
	}
}

// unchanged reports whether the file at path still has the identity id had (its
// helpers aside: a changed helper makes a new identity, which the blame does not
// match anyway).
func unchanged(path string, id Identity) bool {
	now, err := pathIdentity(path)
	return err == nil && now == id.file()
}

// journalRead is what a dead process's journal says.
type journalRead struct {
	files    map[string]record   // private files made and not removed
	window   []record            // libraries opened since the last quiet record
	blamed   map[Identity]record // libraries blamed, by this journal or the ones before
	suspects map[Identity]record // libraries to open again alone
	last     int64               // the time of the last record, in ms
	clean    bool                // the process ended cleanly
}

// readJournal reads a journal's records; a line cut short by the death is skipped.
func readJournal(f *os.File) *journalRead {
	jr := &journalRead{files: map[string]record{}, blamed: map[Identity]record{}, suspects: map[Identity]record{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // a line cut short by the death
		}
		jr.last = max(jr.last, r.T)
		switch {
		case r.Copy != "":
			jr.files[r.Copy] = r
		case r.Removed != "":
			delete(jr.files, r.Removed)
		case r.Opening != "" && r.ID != nil:
			jr.window = append(jr.window, r)
		case r.Blamed != "" && r.ID != nil:
			jr.blamed[*r.ID] = r
		case r.Suspect != "" && r.ID != nil:
			jr.suspects[*r.ID] = r
		case r.Quiet:
			for _, o := range jr.window {
				delete(jr.suspects, *o.ID) // it was open for blameWindow and plugwatch lived
			}
			jr.window = nil
		case r.Clean:
			jr.clean = true
		}
	}
	return jr
}

// blameDeath judges the libraries opened within blameWindow before the process
// died: one alone is blamed (crashed until it changes); several are suspects, each
// opened again alone.
func (jr *journalRead) blameDeath(log *slog.Logger) {
	var recent []record
	for _, r := range jr.window {
		if jr.last-r.T <= blameWindow.Milliseconds() {
			recent = append(recent, r)
		}
	}
	for _, r := range recent {
		detail := fmt.Sprintf("plugwatch died %.1f s after opening it", float64(jr.last-r.T)/1000)
		if len(recent) == 1 {
			delete(jr.suspects, *r.ID)
			jr.blamed[*r.ID] = record{Blamed: r.Opening, ID: r.ID, Detail: detail}
			log.Error("a library is blamed for plugwatch's last death; it is not opened again until it changes",
				"path", r.Opening, "code", state.Crashed)
			continue
		}
		jr.suspects[*r.ID] = record{Suspect: r.Opening, ID: r.ID, Detail: detail}
		log.Warn("a library was opened just before plugwatch's last death, with others; it is opened again alone",
			"path", r.Opening)
	}
}
