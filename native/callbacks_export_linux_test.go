//go:build linux && (amd64 || arm64)

package native

// CallbackSlots returns how many purego callbacks the package has made.
func CallbackSlots() int32 { return callbackSlots.Load() }

// Routes returns how many instances the callbacks can find.
func Routes() int {
	routes.RLock()
	defer routes.RUnlock()
	return len(routes.m)
}
