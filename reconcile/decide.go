package reconcile

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/plugwatch/plugwatch/manifest"
	"github.com/plugwatch/plugwatch/native"
)

// KindPrefix is the namespace of every native plugin's registered kind (docs/formats.md).
const KindPrefix = "plugin::native::"

// Want is a plugin the desired state says must be loaded.
type Want struct {
	Plugin            // as the state document shows it (LoadedAt and Stale unset)
	Resolved string   // the library after symlinks
	Identity Identity // of Resolved, when it was probed
	Meta     native.Metadata
	from     string // the claim's origin: its record or bundle folder
	claim    *claim // that claim: the same one, pass after pass, while its folder is unchanged
}

// Desired is the desired state computed from the disk (docs/desired-state.md).
type Desired struct {
	Plugins  []Want
	Skipped  []Skipped
	Problems []Problem
	// Pending holds the origins (records and bundle folders) that are not judged
	// yet: modified within the quiet period and failing, or with a library still
	// being probed. They keep their previous state. Retry is when a pass should look
	// at the young ones again.
	Pending map[string]bool
	Retry   time.Time
	// Probing counts the claims whose library is being probed off the pass; a new
	// pass applies each result when it arrives.
	Probing int
	// Unjudged, when not nil, says why some library could not be probed at all (the
	// probe helper could not be started): those claims are pending too.
	Unjudged error
	// Watch holds the folders that libraries resolve into through symlinks, also
	// when the target is missing (a linker deleted it before writing it again).
	Watch []string
	// Failed holds the origins whose files failed in a way that keeps a loaded older
	// version, stale: a marketplace upgrade whose new library does not load keeps
	// the old one.
	Failed map[string]bool
}

// decider turns claims, in claim order (records first, sorted, then bundles), into
// the desired state. It does no I/O.
type decider struct {
	display func(string) string // how a path is shown in a message
	winners map[string]int      // kind -> index in Plugins; nil: made; else cleared and used
	plugins []Want              // a spare slice for Plugins, nil: made
}

func (d decider) decide(claims []*claim, problems []Problem) *Desired {
	out := &Desired{Problems: append([]Problem(nil), problems...)}
	for _, p := range problems {
		if keepsStale(p.Code) && p.origin != "" {
			out.fail(p.origin) // a record or manifest that stopped parsing
		}
	}
	add := func(c *claim, p Problem) {
		p.origin = c.Origin
		out.Problems = append(out.Problems, p)
		if keepsStale(p.Code) {
			out.fail(c.Origin)
		}
	}
	winners := d.winners
	if winners == nil {
		winners = make(map[string]int, len(claims))
	}
	clear(winners)
	out.Plugins = slices.Grow(d.plugins[:0], len(claims))
	for _, c := range claims {
		if c.Wasm {
			out.Skipped = append(out.Skipped, Skipped{
				ID: c.ID, Version: c.Version, Source: c.Source, Library: c.Library, Reason: Unsupported, origin: c.Origin,
			})
			continue
		}
		if errors.Is(c.ProbeErr, errProbing) {
			out.Probing++
		}
		if c.Fail != nil && c.Young || c.ProbeErr != nil && (c.LibYoung || errors.Is(c.ProbeErr, errNotJudged)) {
			out.pend(c.Origin)
			continue
		}
		if c.Fail != nil {
			add(c, *c.Fail)
			continue
		}
		if c.ProbeErr != nil {
			add(c, ProbeProblem(c.Library, c.ProbeErr))
			continue
		}
		reported, err := c.reportedKind()
		if err != nil {
			why := err.Error()
			var me *manifest.Error
			if errors.As(err, &me) && me.Detail != "" {
				why = me.Detail
			}
			add(c, problem(c.Library, InvalidKind, Error, fmt.Sprintf(
				"library reports an invalid kind: %s; fix the kind its get_metadata returns", why)))
			continue
		}
		if c.mismatch {
			if c.Source == SourceActive {
				add(c, problem(c.Manifest, KindMismatch, Error, fmt.Sprintf(
					"library %s reports kind %q but the record names %q; not loaded; reinstall the plugin",
					d.display(c.Library), reported, c.NodeKind)))
				continue
			}
			add(c, problem(c.Library, KindMismatch, Warn, fmt.Sprintf(
				"library reports kind %q but %s names %q; loaded as %s%s; fix node_kind in the manifest",
				reported, filepath.Base(c.Manifest), c.NodeKind, KindPrefix, reported)))
		}
		kind := c.registered
		if i, ok := winners[kind]; ok {
			w := out.Plugins[i]
			reason := Conflict
			if w.Source == SourceActive && c.Source == SourceDirectory {
				reason = Shadowed
				if w.Version != c.Version {
					add(c, d.divergedProblem(w.Plugin, Plugin{ID: c.ID, Version: c.Version, Library: c.Library}))
				}
			}
			out.Skipped = append(out.Skipped, Skipped{
				Kind: kind, ID: c.ID, Version: c.Version, Source: c.Source, Library: c.Library,
				Reason: reason, Winner: w.Library, origin: c.Origin,
			})
			continue
		}
		out.Plugins = append(out.Plugins, Want{
			Plugin: Plugin{
				Kind: kind, ID: c.ID, Version: c.Version, Source: c.Source, Library: c.Library,
				Manifest: c.Manifest, APIVersion: c.Meta.APIVersion, Description: c.Meta.Description,
				Smoke: c.Smoke,
			},
			Resolved: c.Resolved, Identity: c.Identity, Meta: *c.Meta, from: c.Origin, claim: c,
		})
		winners[kind] = len(out.Plugins) - 1
	}
	return out
}

// reportedKind is the normalised kind the claim's library reports, worked out once
// per probe result.
func (c *claim) reportedKind() (string, error) {
	if c.kindOf != c.Meta {
		c.kindOf = c.Meta
		c.kind, c.kindErr = manifest.NormalizeKind(c.Meta.Kind)
		c.registered = KindPrefix + c.kind
		c.mismatch = c.kindErr == nil && c.NodeKind != "" && c.NodeKind != c.kind
	}
	return c.kind, c.kindErr
}

// divergedProblem warns that a marketplace plugin shadows a local bundle of another
// version, naming both versions and both paths.
func (d decider) divergedProblem(market, local Plugin) Problem {
	return problem(local.Library, VersionDiverged, Warn, fmt.Sprintf(
		"marketplace %s %s (%s) shadows local %s %s (%s); to run the local build, remove the marketplace one (plugwatch remove %s --marketplace), or remove the local one (plugwatch remove %s --local)",
		market.ID, showVersion(market.Version), d.display(market.Library), local.ID, showVersion(local.Version), d.display(local.Library),
		market.ID, filepath.Base(filepath.Dir(local.Library))))
}

func (d *Desired) fail(origin string) {
	if d.Failed == nil {
		d.Failed = map[string]bool{}
	}
	d.Failed[origin] = true
}

func (d *Desired) pend(origin string) {
	if d.Pending == nil {
		d.Pending = map[string]bool{}
	}
	d.Pending[origin] = true
}

// ProbeProblem is the problem (docs/state.md) that a Prober's error for the library lib
// stands for: incomplete, abi_version, invalid_kind or load_failed.
func ProbeProblem(lib string, err error) Problem {
	msg := err.Error()
	var ne *native.Error
	if errors.As(err, &ne) {
		msg = ne.Err.Error()
		if ne.Detail != "" {
			msg += ": " + ne.Detail
		}
	}
	var se *SmokeError
	switch {
	case errors.As(err, &se):
		return problem(lib, SmokeFailed, Error, se.Error()+"; it is not opened until the file changes; run plugwatch try on it to see more")
	case errors.Is(err, native.ErrCrashed):
		return problem(lib, Crashed, Error, msg+"; it is not opened again until the file changes")
	case errors.Is(err, native.ErrIncomplete):
		return problem(lib, Incomplete, Warn, msg+"; it is looked at again when it changes")
	case errors.Is(err, native.ErrABIVersion):
		return problem(lib, ABIVersion, Error, msg+"; rebuild it against a supported SDK or widen --abi")
	case errors.Is(err, native.ErrInvalidKind):
		return problem(lib, InvalidKind, Error, msg+"; fix the kind its get_metadata returns")
	case errors.Is(err, native.ErrNoEntry):
		return problem(lib, LoadFailed, Error, msg+"; is it a StreamKit native plugin?")
	default:
		return problem(lib, LoadFailed, Error, msg)
	}
}

func showVersion(v string) string {
	if v == "" {
		return "(no version)"
	}
	return v
}
