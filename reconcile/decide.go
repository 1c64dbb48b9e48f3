package reconcile

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
	"github.com/plugwatch/plugwatch/state"
)

// Want is a plugin the desired state says must be loaded.
type Want struct {
	state.Plugin          // as the state document shows it (LoadedAt and Stale unset)
	Resolved     string   // the library after symlinks
	Identity     Identity // of Resolved, when it was probed
	Meta         native.Metadata
	from         string // the claim's origin: its record or bundle folder
	claim        *claim // that claim: the same one, pass after pass, while its folder is unchanged
}

// Desired is the desired state computed from the disk (docs/desired-state.md).
type Desired struct {
	// Plugins holds the plugin wanted for each kind, in claim order. Scanner.Desired
	// and DesiredHint fill it in; a Controller's pass reads the kinds it changed
	// (wants, changed) instead.
	Plugins  []Want
	Skipped  []state.Skipped
	Problems []state.Problem
	// Retry is when a pass should look at the files found too young to judge again.
	Retry time.Time
	// Probing counts the claims whose library is being probed off the pass; a new
	// pass applies each result when it arrives.
	Probing int
	// Unjudged, when not nil, says why some library could not be probed at all (the
	// probe helper could not be started): those claims are pending too.
	Unjudged error
	// Watch holds the folders that libraries resolve into through symlinks, also
	// when the target is missing (a linker deleted it before writing it again).
	Watch []string

	wants   map[string]*Want // the plugin wanted for each kind: the Scanner's, good until its next pass
	changed map[string]bool  // the kinds whose want may differ from the last pass's; nil: any
	touched map[string]bool  // the origins read or looked up again; nil: every one
	// The origins (records and bundle folders) not judged yet keep their previous
	// state: those whose claims wait for a probe or have a library changed within
	// the quiet period (pending, the Scanner's), and those the pass found modified
	// within it and failing (young). failed and broken hold the origins whose files
	// failed in a way that keeps a loaded older version, stale: a marketplace
	// upgrade whose new library does not load keeps the old one.
	pending, failed counts
	young, broken   map[string]bool
}

// Pending reports whether the origin (a record or bundle folder) is not judged yet.
func (d *Desired) Pending(origin string) bool { return d.pending[origin] > 0 || d.young[origin] }

// Failed reports whether the origin's files failed in a way that keeps a loaded
// older version (stale).
func (d *Desired) Failed(origin string) bool { return d.failed[origin] > 0 || d.broken[origin] }

// want returns the plugin wanted for kind, or nil.
func (d *Desired) want(kind string) *Want { return d.wants[kind] }

// ruling is what a claim's own files and probe say of it, apart from every other
// claim: the kind it provides (it is a candidate for it), or why it provides none.
// A pass rules again only on the claims it read or looked up (see book).
type ruling struct {
	kind     string          // the registered kind, when it is a candidate
	problems []state.Problem // its own: why it is not a candidate, or a kind_mismatch warning
	skipped  *state.Skipped  // unsupported (wasm)
	pending  bool            // not judged yet: its origin keeps its previous state
	failed   bool            // a failure that keeps a loaded older version, stale
	probing  bool            // its library is being probed off the pass
	watch    string          // a folder its library resolves into, to watch
}

// rule works out the claim's ruling. It does no I/O.
func (b *book) rule(c *claim) ruling {
	var r ruling
	switch {
	case c.linkDir != "":
		r.watch = c.linkDir
	case !c.plain && c.Resolved != "" && c.Resolved != c.Library:
		r.watch = filepath.Dir(c.Resolved)
	}
	add := func(p state.Problem) {
		p.Origin = c.Origin
		r.problems = append(r.problems, p)
		r.failed = r.failed || keepsStale(p.Code)
	}
	if c.Wasm {
		r.skipped = &state.Skipped{ID: c.ID, Version: c.Version, Source: c.Source, Library: c.Library, Reason: state.Unsupported, Origin: c.Origin}
		return r
	}
	r.probing = errors.Is(c.ProbeErr, errProbing)
	switch {
	case c.Fail != nil && c.Young || c.ProbeErr != nil && (c.LibYoung || errors.Is(c.ProbeErr, errNotJudged)):
		r.pending = true
		return r
	case c.Fail != nil:
		add(*c.Fail)
		return r
	case c.ProbeErr != nil:
		add(probeProblem(c.Library, c.ProbeErr))
		return r
	}
	reported, err := c.reportedKind()
	if err != nil {
		why := err.Error()
		var me *manifest.Error
		if errors.As(err, &me) && me.Detail != "" {
			why = me.Detail
		}
		add(problem(c.Library, state.InvalidKind, state.Error, fmt.Sprintf(
			"library reports an invalid kind: %s; fix the kind its get_metadata returns", why)))
		return r
	}
	if c.mismatch {
		if c.Source == state.SourceActive {
			add(problem(c.Manifest, state.KindMismatch, state.Error, fmt.Sprintf(
				"library %s reports kind %q but the record names %q; not loaded; reinstall the plugin",
				b.display(c.Library), reported, c.NodeKind)))
			return r
		}
		add(problem(c.Library, state.KindMismatch, state.Warn, fmt.Sprintf(
			"library reports kind %q but %s names %q; loaded as %s%s; fix node_kind in the manifest",
			reported, filepath.Base(c.Manifest), c.NodeKind, layout.KindPrefix, reported)))
	}
	r.kind = c.registered
	return r
}

// decide works out the winner of a kind among its candidates: the first in claim
// order; the others are skipped, and a local bundle shadowed by a marketplace plugin
// of another version is warned about.
func (b *book) decide(kind string) {
	cands := b.kinds[kind]
	delete(b.contests, kind)
	if len(cands) == 0 {
		delete(b.wants, kind)
		return
	}
	c := cands[0]
	b.wants[kind] = &Want{
		Plugin: state.Plugin{
			Kind: kind, ID: c.ID, Version: c.Version, Source: c.Source, Library: c.Library,
			Manifest: c.Manifest, APIVersion: c.Meta.APIVersion, Description: c.Meta.Description,
			Smoke: c.Smoke,
		},
		Resolved: c.Resolved, Identity: c.Identity, Meta: *c.Meta, from: c.Origin, claim: c,
	}
	if len(cands) == 1 {
		return
	}
	var ct contest
	for _, l := range cands[1:] {
		reason := state.Conflict
		if c.Source == state.SourceActive && l.Source == state.SourceDirectory {
			reason = state.Shadowed
			if c.Version != l.Version {
				p := b.divergedProblem(state.Plugin{ID: c.ID, Version: c.Version, Library: c.Library}, state.Plugin{ID: l.ID, Version: l.Version, Library: l.Library})
				p.Origin = l.Origin
				ct.problems = append(ct.problems, p)
			}
		}
		ct.skipped = append(ct.skipped, state.Skipped{
			Kind: kind, ID: l.ID, Version: l.Version, Source: l.Source, Library: l.Library,
			Reason: reason, Winner: c.Library, Origin: l.Origin,
		})
	}
	b.contests[kind] = ct
}

// reportedKind is the normalised kind the claim's library reports, worked out once
// per probe result.
func (c *claim) reportedKind() (string, error) {
	if c.kindOf != c.Meta {
		c.kindOf = c.Meta
		c.kind, c.kindErr = manifest.NormalizeKind(c.Meta.Kind)
		c.registered = layout.KindPrefix + c.kind
		c.mismatch = c.kindErr == nil && c.NodeKind != "" && c.NodeKind != c.kind
	}
	return c.kind, c.kindErr
}

// divergedProblem warns that a marketplace plugin shadows a local bundle of another
// version, naming both versions and both paths.
func (b *book) divergedProblem(market, local state.Plugin) state.Problem {
	return divergedProblem(b.display, market, local)
}

func divergedProblem(display func(string) string, market, local state.Plugin) state.Problem {
	return problem(local.Library, state.VersionDiverged, state.Warn, fmt.Sprintf(
		"marketplace %s %s (%s) shadows local %s %s (%s); to run the local build, remove the marketplace one (plugwatch remove %s --marketplace), or remove the local one (plugwatch remove %s --local)",
		market.ID, showVersion(market.Version), display(market.Library), local.ID, showVersion(local.Version), display(local.Library),
		market.ID, filepath.Base(filepath.Dir(local.Library))))
}

// probeProblem is the problem a claim's probe error stands for: that of a failed
// smoke test, of a library refused for a reason of this process (refusal), or
// state.ProbeProblem.
func probeProblem(lib string, err error) state.Problem {
	var se *SmokeError
	var rf *refusal
	switch {
	case errors.As(err, &se):
		return problem(lib, state.SmokeFailed, state.Error, se.text()+"; it is not opened until the file changes; run plugwatch try on it to see more")
	case errors.As(err, &rf):
		return problem(lib, state.LoadFailed, state.Error, rf.reason)
	default:
		return state.ProbeProblem(lib, err)
	}
}

func showVersion(v string) string {
	if v == "" {
		return "(no version)"
	}
	return v
}
