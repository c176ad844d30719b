package seccomp

import (
	"encoding/json"
	"fmt"
	"net"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SendToListener hands a user-notification fd to the seccomp agent at
// listenerPath, as runc does: connect to the unix stream socket and send,
// in one message, the state as JSON with the fd attached as SCM_RIGHTS.
// state.Fds is set to ["seccompFd"]; the caller fills the rest (ociVersion,
// pid, metadata from Program.ListenerMetadata, and the container state).
// notifyFd stays open; the caller closes it.
func SendToListener(listenerPath string, state specs.ContainerProcessState, notifyFd int) error {
	state.Fds = []string{specs.SeccompFdName}
	b, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("seccomp agent: encode state: %w", err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: listenerPath, Net: "unix"})
	if err != nil {
		return fmt.Errorf("failed to connect with seccomp agent specified in the seccomp profile (%s): %w", listenerPath, err)
	}
	defer conn.Close()
	n, _, err := conn.WriteMsgUnix(b, unix.UnixRights(notifyFd), nil)
	if err != nil {
		return fmt.Errorf("seccomp agent: send fd to %s: %w", listenerPath, err)
	}
	if n != len(b) {
		return fmt.Errorf("seccomp agent: short write to %s (%d of %d bytes)", listenerPath, n, len(b))
	}
	return nil
}
