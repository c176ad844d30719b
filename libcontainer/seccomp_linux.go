package libcontainer

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/seccomp"
)

// The filter is compiled by the parent (libseccomp stays out of init's
// memory) and loaded by init as raw BPF.
type seccompProgram = seccomp.Program

func compileSeccomp(s *specs.LinuxSeccomp) (*seccompProgram, error) {
	if s == nil {
		return nil, nil
	}
	return seccomp.Compile(s)
}

// loadSeccomp loads init's filter; a notify listener fd goes to the
// parent, which hands it to the agent at listenerPath (sync.go rows 13-14).
func loadSeccomp(sock initSock, p *seccompProgram) error {
	fd, err := sys.SeccompLoad(p)
	if err != nil {
		return err
	}
	if fd < 0 {
		return nil
	}
	defer unix.Close(fd)
	if err := sock.send(seccompFdMsg{fd: fd}); err != nil {
		return err
	}
	_, err = expect[seccompDoneMsg](sock)
	return err
}

// forwardSeccompFd gives the listener fd to the seccomp agent.
func forwardSeccompFd(p *seccompProgram, state *specs.State, fd int) error {
	if p == nil || !p.Notify || fd < 0 {
		return fmt.Errorf("unexpected seccomp listener fd from init")
	}
	ps := specs.ContainerProcessState{Version: specs.Version, Pid: state.Pid, Metadata: p.ListenerMetadata, State: *state}
	return seccomp.SendToListener(p.ListenerPath, ps, fd)
}
