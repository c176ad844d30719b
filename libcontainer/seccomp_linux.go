package libcontainer

import (
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/seccomp"
)

// The filter is compiled by the parent (libseccomp stays out of init's
// memory) and loaded by init as raw BPF (init_seccomp_linux.go).
type seccompProgram = seccomp.Program

// root is the runtime's --root: the program comes from its cache of
// compiled filters when it holds one for s (seccomp/cache.go). With
// --debug one step line says which: "parent: seccomp (cache hit)".
func compileSeccomp(root string, s *specs.LinuxSeccomp) (*seccompProgram, error) {
	if s == nil {
		return nil, nil
	}
	t0 := time.Now()
	p, how, err := seccomp.CompileCached(root, s)
	if err == nil && debugOn() {
		logStep("parent", "seccomp ("+how.String()+")", time.Since(t0))
	}
	return p, err
}

// forwardSeccompFd gives the listener fd to the seccomp agent.
func forwardSeccompFd(p *seccompProgram, state *specs.State, fd int) error {
	if p == nil || !p.Notify || fd < 0 {
		return fmt.Errorf("unexpected seccomp listener fd from init")
	}
	ps := specs.ContainerProcessState{Version: specs.Version, Pid: state.Pid, Metadata: p.ListenerMetadata, State: *state}
	return seccomp.SendToListener(p.ListenerPath, ps, fd)
}
