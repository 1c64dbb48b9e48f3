package probe

// HookEnv is hookEnv for the external tests.
const HookEnv = hookEnv

// LostDetail is lostDetail for the external tests.
const LostDetail = lostDetail

// SpareReady reports whether p holds a spare helper, started and idle.
func SpareReady(p *Prober) bool { return p.stats.spareReady.Load() }

// ColdStarts returns how many helpers p started while a probe waited.
func ColdStarts(p *Prober) int64 { return p.stats.coldStarts.Load() }

// UseLauncherAlways makes the Probers of the test start their helpers through the
// launcher however few descriptors this process holds.
func UseLauncherAlways(t interface{ Cleanup(func()) }) {
	was := launcherAbove
	launcherAbove = 0
	t.Cleanup(func() { launcherAbove = was })
}
