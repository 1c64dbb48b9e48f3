package probe

// HookEnv is hookEnv for the external tests.
const HookEnv = hookEnv
