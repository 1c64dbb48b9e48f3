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
// A missing root or extra folder is stood in for by its nearest existing parent until
// it appears, so the root may be deleted and recreated. A symlink to a folder already
// watched shares its watch.
//
// The watch set is kept by difference: a folder appearing or going in native/ or
// bundles/ adds or drops the watches of that folder alone, and SetExtra those of the
// folders added to or taken from the set, so the cost of a change does not grow with
// the number of bundles. Everything is planned again only at start, after an overflow
// or a watch error, and when the root or one of its own folders appears or goes.
//
// A folder is watched before it is listed, and the signal for the event that made it
// appear is sent once its watch exists: the pass that signal starts reads whatever was
// written in the folder before, and whatever is written later sends an event of its
// own. So a new watch is no change of its own, and `mv bundle native/` is one signal.
// An extra folder appearing counts as a change when it holds something, and a folder
// SetExtra adds that was not watched yet always does (it may have changed between the
// caller's reading and its watch).
//
// # What is ignored
//
// Changes to hidden names (a leading "."), *.tmp, *.swp and *~ files are dropped
// before debouncing (docs/root-layout.md and docs/files.md), so the installer's staging files and plugwatch's
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
// Full. A folder that cannot be watched for another reason (its permissions) is logged
// once and tried again every second. When the inotify watch limit is reached, the
// watcher logs one error naming the sysctl to raise (fs.inotify.max_user_watches), then
// polls the same folders every second instead; [Watcher.Polling] then reports true. It
// does the same, with its own error line, when notifications cannot be set up at all or
// a kqueue system runs out of descriptors.
//
// Polling stats each folder every second and lists it again only when its own stat
// (times, mode, inode) changed, which an entry added, removed or renamed does; a file
// rewritten in place leaves its folder as it was, so files are stat'ed too, those of a
// quarter of the folders on each pass, and such a rewrite is seen within four seconds. A
// folder whose times are within two seconds of its listing is listed again, since the
// file system's clock may not have moved for a later change. Changes of entries,
// sizes, times, modes or inodes are signalled with their paths, like events.
package watcher
