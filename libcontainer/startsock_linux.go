package libcontainer

// The start socket: a created container's init waits in accept(2) on a
// listening unix socket in the state dir until `tekapo start` connects.
// Unlike an exec fifo, init needs no path and no privilege to wait: the
// parent bound the socket and passed its fd, so an init in a user
// namespace (whose /proc/self/fd it cannot traverse) waits just the same.
// The socket file's presence is what makes a container "created". Paths go
// through /proc/self/fd/<dir> to stay within a sun_path's 108 bytes
// whatever the state dir's length.
//
// On the connection, init → start only (start sends nothing):
//
// | bytes      | when                                     | start                    |
// |------------|------------------------------------------|--------------------------|
// | "0"        | start connected: init now drops          | reads on                 |
// |            | privileges, loads seccomp, runs the      |                          |
// |            | startContainer hooks and execs           |                          |
// | "0" "E" err| one of those failed                      | fails with err           |
// | "0", EOF   | execve succeeded: the connection is      | succeeds (poststart next)|
// |            | close-on-exec                            |                          |
// | EOF alone  | init died                                | "container init exited   |
// |            |                                          | before start"            |
//
// So start returns once the process runs, or with the error that stopped
// it, with no extra round trip: init writes at most twice, start reads
// until the connection closes. (A death after "0" without a word, e.g. a
// seccomp filter that kills a hook's fork, or in execve itself, looks
// like success, as it does to runc.)
// err is the JSON of an InitError (initerror.go), as on the sync socket.

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const startSockName = "exec.sock"

// shortPath names file in dir through an fd, for bind and connect.
func shortPath(dir string, file string) (string, func(), error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + file, func() { unix.Close(fd) }, nil
}

// listenStart makes the start socket in the state dir and returns its
// listening fd for init.
func listenStart(d *stateDir) (*os.File, error) {
	path, done, err := shortPath(d.path, startSockName)
	if err != nil {
		return nil, err
	}
	defer done()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind start socket: %w", err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen on start socket: %w", err)
	}
	return os.NewFile(uintptr(fd), startSockName), nil
}

// startWaiter is init's side.
type startWaiter struct{ fd int }

// wait blocks until start connects, answers "0" and runs before
// (credentials, seccomp, the startContainer hooks); it returns the
// connection, on which startFailed reports an execve failure.
func (w *startWaiter) wait(before func() error) (int, error) {
	conn, _, err := unix.Accept4(w.fd, unix.SOCK_CLOEXEC)
	for err == unix.EINTR {
		conn, _, err = unix.Accept4(w.fd, unix.SOCK_CLOEXEC)
	}
	if err != nil {
		return -1, fmt.Errorf("wait for start: %w", err)
	}
	unix.Close(w.fd)
	// Answer first, before seccomp is loaded: once it is, init does no
	// more than it must. A write, or a thread the Go runtime starts around
	// it, can meet a filter that denies it (glibc aborts a new thread whose
	// rseq registration gets EPERM: "container init exited before start"
	// in about 1 of 60 conformance programs when the answer came after).
	if _, err := unix.Write(conn, []byte("0")); err != nil {
		unix.Close(conn)
		return -1, fmt.Errorf("answer start: %w", err)
	}
	if err := before(); err != nil {
		startFailed(conn, err)
		return -1, err
	}
	return conn, nil
}

// startFailed tells start on conn why init could not exec the process.
// On success there is nothing to say: execve closes conn.
func startFailed(conn int, err error) {
	unix.Write(conn, append([]byte("E"), marshalInitError(err)...)) //nolint:errcheck // start reports it
	unix.Close(conn)
}

// signalStart is start's side: connect, and read init's answers until
// init execs (the connection closes) or reports an error.
func signalStart(d *stateDir, initPid int) error {
	path, done, err := shortPath(d.path, startSockName)
	if err != nil {
		return err
	}
	defer done()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("container init exited before start (%w)", err)
	}
	var got []byte
	var b [4096]byte
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for init: %w", err)
		}
		if n <= 0 {
			// Init waits for nothing but us before it answers: gone
			// without a word means it died (its fds close at exit).
			if len(got) == 0 && !pidAlive(initPid) {
				return errors.New("container init exited before start")
			}
			continue
		}
		r, err := unix.Read(fd, b[:])
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if r <= 0 {
			break
		}
		got = append(got, b[:r]...)
	}
	switch {
	case len(got) == 0:
		return errors.New("container init exited before start")
	case got[0] == 'E':
		return unmarshalInitError(got[1:])
	case len(got) > 1 && got[1] == 'E':
		return unmarshalInitError(got[2:])
	}
	return nil
}
