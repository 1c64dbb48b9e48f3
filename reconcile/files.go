package reconcile

import (
	"io/fs"
	"os"
	"time"

	"github.com/plugwatch/plugwatch/manifest"
)

// fileCache remembers parsed records and manifests by path and file identity, so a
// pass over an unchanged disk stats them but reads none. Entries no pass asked for
// are dropped by sweep.
type fileCache struct {
	m    map[string]parsed
	used map[string]bool
	// trace, when not nil, is told of every file asked for and the identity its
	// answer is for (a unit records what it was read from; see units.go).
	trace func(path string, id Identity)
}

type parsed struct {
	id  Identity
	rec *manifest.Record
	man *manifest.Manifest
	dep elfDeps
	err error
}

func newFileCache() *fileCache { return &fileCache{m: map[string]parsed{}, used: map[string]bool{}} }

// get returns the cached parse of path when its identity is unchanged, else parses
// it with parse and remembers the result.
// fi, when not nil, is what the caller already knows of path.
func (c *fileCache) get(path string, fi fs.FileInfo, parse func(string) parsed) parsed {
	c.used[path] = true
	if fi == nil {
		var err error
		if fi, err = os.Stat(path); err != nil {
			delete(c.m, path)
			if c.trace != nil {
				c.trace(path, Identity{})
			}
			return parse(path)
		}
	}
	id := identityOf(fi)
	if c.trace != nil {
		c.trace(path, id)
	}
	if p, ok := c.m[path]; ok && p.id == id {
		return p
	}
	p := parse(path)
	p.id = id
	c.m[path] = p
	return p
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

// sweep forgets the files the last pass did not ask for.
func (c *fileCache) sweep() {
	for path := range c.m {
		if !c.used[path] {
			delete(c.m, path)
		}
	}
	clear(c.used)
}

// observations remember when plugwatch saw each file's identity change, for the
// quiet period: a file is judged by when plugwatch saw it change, not by its mtime.
type observations struct {
	m    map[string]observed
	used map[string]bool
	// trace, when not nil, is told of every path looked at.
	trace func(path string)
}

type observed struct {
	id Identity
	at time.Time
	// replaced: the path held another identity before this one (a file rewritten or
	// replaced in place), rather than appearing with it.
	replaced bool
}

func newObservations() *observations {
	return &observations{m: map[string]observed{}, used: map[string]bool{}}
}

// changed records path's identity as seen now and returns when it last changed (now
// for a new identity or a new file, the zero time for a file seen at the first
// pass) and whether that change replaced an identity seen before.
func (o *observations) changed(path string, id Identity, now time.Time, first bool) (time.Time, bool) {
	o.used[path] = true
	if o.trace != nil {
		o.trace(path)
	}
	prev, ok := o.m[path]
	switch {
	case ok && prev.id == id:
		return prev.at, prev.replaced
	case !ok && first:
		prev = observed{id: id}
	default:
		prev = observed{id: id, at: now, replaced: ok}
	}
	o.m[path] = prev
	return prev.at, prev.replaced
}

// sweep forgets the files a full pass did not look at.
func (o *observations) sweep() {
	for path := range o.m {
		if !o.used[path] {
			delete(o.m, path)
		}
	}
	clear(o.used)
}
