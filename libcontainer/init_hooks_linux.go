package libcontainer

// Hooks, init's side: the startContainer hooks (init runs the
// createContainer ones from init_rootfs_linux.go and init_nomntns_linux.go).
// The runner both sides call, runHooks, is in hooks_linux.go.

import specs "github.com/opencontainers/runtime-spec/specs-go"

// runStartContainerHooks runs in init, after `start` and before the
// process execs; like runc, the hooks see the status "created", and one
// without an env of its own gets the process's (runc's init has it as
// its own environment by then).
func runStartContainerHooks(hooks []specs.Hook, state *specs.State, env []string) error {
	if len(hooks) == 0 {
		return nil
	}
	st := *state
	st.Status = specs.StateCreated
	withEnv := make([]specs.Hook, len(hooks))
	for i, h := range hooks {
		if h.Env == nil {
			h.Env = env
		}
		withEnv[i] = h
	}
	return runHooks("startContainer", withEnv, &st)
}
