package reconcile

import (
	"io/fs"
	"os"
	"time"

	"github.com/plugwatch/plugwatch/manifest"
)

// fileCache remembers parsed records and manifests by path and file identity, so a
// pass over an unchanged disk stats them but reads none. Entries no full pass asked
// for are dropped by sweep: each entry carries the generation of the last pass that
// used it, so a unit taken as it was marks its files through the entries it holds,
// without a lookup (unit.mark).
type fileCache struct {
	m   map[string]*parsed
	gen uint64 // of the pass now: sweep drops the entries of older ones
	// trace, when not nil, is told of every file asked for, the identity its
	// answer is for and its entry (nil for none; a unit records what it was read
	// from; see units.go).
	trace func(path string, id Identity, p *parsed)
	// primed, when not nil, holds parses read ahead (see warm): one whose identity
	// is the file's is taken instead of parsing the file again.
	primed map[string]*parsed
}

type parsed struct {
	id  Identity
	gen uint64 // the last pass that used it
	rec *manifest.Record
	man *manifest.Manifest
	dep elfDeps
	err error
}

func newFileCache() *fileCache { return &fileCache{m: map[string]*parsed{}} }

// get returns the cached parse of path when its identity is unchanged, else parses
// it with parse and remembers the result.
// fi, when not nil, is what the caller already knows of path.
func (c *fileCache) get(path string, fi fs.FileInfo, parse func(string) parsed) parsed {
	if fi == nil {
		var err error
		if fi, err = os.Stat(path); err != nil {
			delete(c.m, path)
			if c.trace != nil {
				c.trace(path, Identity{}, nil)
			}
			return parse(path)
		}
	}
	id := identityOf(fi)
	p, ok := c.m[path]
	if !ok || p.id != id {
		var fresh parsed
		if pr := c.primed[path]; pr != nil && pr.id == id {
			fresh = *pr
		} else {
			fresh = parse(path)
		}
		fresh.id = id
		p = &fresh
		c.m[path] = p
	}
	p.gen = c.gen
	if c.trace != nil {
		c.trace(path, id, p)
	}
	return *p
}

// cached returns the parse of path the cache holds for identity id, if any. It only
// reads the cache: several may run at once, while nothing asks get.
func (c *fileCache) cached(path string, id Identity) (*parsed, bool) {
	p, ok := c.m[path]
	return p, ok && p.id == id
}

func (c *fileCache) record(path string, fi fs.FileInfo) (*manifest.Record, error) {
	p := c.get(path, fi, func(path string) parsed {
		rec, err := manifest.ReadRecord(path)
		return parsed{rec: rec, err: err}
	})
	return p.rec, p.err
}

func (c *fileCache) manifest(path string, fi fs.FileInfo) (*manifest.Manifest, error) {
	p := c.get(path, fi, func(path string) parsed {
		m, err := manifest.ReadManifest(path)
		return parsed{man: m, err: err}
	})
	return p.man, p.err
}

// deps returns what the library at path needs (see elfDeps).
func (c *fileCache) deps(path string, fi fs.FileInfo) elfDeps {
	return c.get(path, fi, func(path string) parsed { return parsed{dep: readDeps(path)} }).dep
}

// sweep forgets the files the last pass did not ask for; call it after a full pass.
func (c *fileCache) sweep() {
	for path, p := range c.m {
		if p.gen != c.gen {
			delete(c.m, path)
		}
	}
	c.gen++
}

// observations remember when plugwatch saw each file's identity change, for the
// quiet period: a file is judged by when plugwatch saw it change, not by its mtime.
type observations struct {
	m   map[string]*observed
	gen uint64 // as fileCache's
	// trace, when not nil, is told of every path looked at, with its entry.
	trace func(o *observed)
}

type observed struct {
	id  Identity
	at  time.Time
	gen uint64 // the last pass that looked at it
	// replaced: the path held another identity before this one (a file rewritten or
	// replaced in place), rather than appearing with it.
	replaced bool
}

func newObservations() *observations {
	return &observations{m: map[string]*observed{}}
}

// changed records path's identity as seen now and returns when it last changed (now
// for a new identity or a new file, the zero time for a file seen at the first
// pass) and whether that change replaced an identity seen before.
func (o *observations) changed(path string, id Identity, now time.Time, first bool) (time.Time, bool) {
	prev, ok := o.m[path]
	switch {
	case ok && prev.id == id:
	case !ok && first:
		prev = &observed{id: id}
		o.m[path] = prev
	default:
		prev = &observed{id: id, at: now, replaced: ok}
		o.m[path] = prev
	}
	prev.gen = o.gen
	if o.trace != nil {
		o.trace(prev)
	}
	return prev.at, prev.replaced
}

// sweep forgets the files a full pass did not look at; call it after one.
func (o *observations) sweep() {
	for path, p := range o.m {
		if p.gen != o.gen {
			delete(o.m, path)
		}
	}
	o.gen++
}
