package libcontainer

// Seccomp, init's side: the filter the parent compiled (seccomp_linux.go)
// loaded as raw BPF.

import "golang.org/x/sys/unix"

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
