// Package watcher turns file changes under a StreamKit plugins root into "look again"
// signals for a level-triggered reconciler.
//
// A [Signal] carries no description of what changed, only that something may have: the
// reconciler reads the disk again (docs/desired-state.md: events are hints, the disk is the truth).
// Signal.Full asks it to rescan everything rather than trust what it remembers.
//
// # What is watched
//
// The root, active/, native/, each native/<id>/, bundles/, bundles/<id>/ and
// bundles/<id>/<version>/, plus the extra folders given to [Watcher.SetExtra]. Folders
// that appear (made with mkdir -p, copied with cp -r, moved in with mv) are watched
// with the folders already inside them, at those depths; folders that go are dropped.
// A newly watched folder counts as a change, since something may have been written in
// it before its watch existed. A missing root or extra folder is stood in for by its
// nearest existing parent until it appears, so the root may be deleted and recreated.
//
// # What is ignored
//
// Changes to hidden names (a leading "."), *.tmp, *.swp and *~ files are dropped
// before debouncing (docs/root-layout.md and 8.2), so the installer's staging files and plugwatch's
// own hidden private copies never wake the reconciler; so are cache/ and wasm/, entries
// of the root other than active/, native/ and bundles/, and files in active/ not ending
// in .json. Permission changes are not ignored.
//
// # Debouncing
//
// The first change after a quiet period is signalled at once, so a bundle moved in is
// seen within milliseconds whatever the debounce. Later changes are signalled together
// once none came for the quiet period (Options.Debounce), and a steady stream is still
// signalled at least every max(1 s, Debounce) (docs/cli.md run --debounce).
//
// # Errors and polling
//
// An overflow of the kernel's event queue, or any other watch error, is signalled as
// Full. When the inotify watch limit is reached, the watcher logs one error naming the
// sysctl to raise (fs.inotify.max_user_watches), then stats the same folders every
// second and signals when entries, sizes, times, modes or inodes changed;
// [Watcher.Polling] then reports true. It does the same, with its own error line, when
// notifications cannot be set up at all or a kqueue system runs out of descriptors.
package watcher
