package libcontainer

// The start socket: a created container's init waits in accept(2) on a
// listening unix socket in the state dir until `tekapo start` connects;
// init then runs the startContainer hooks and answers "0", or "E" and why
// it gave up, before it execs. The socket file's presence is what makes a
// container "created". Unlike an exec fifo, init needs no path and no
// privilege to wait: the parent bound the socket and passed its fd, so
// an init in a user namespace (whose /proc/self/fd it cannot traverse)
// waits just the same. Paths go through /proc/self/fd/<dir> to stay
// within a sun_path's 108 bytes whatever the state dir's length.

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

// wait blocks until start connects, runs before (the startContainer
// hooks) and answers.
func (w *startWaiter) wait(before func() error) error {
	conn, _, err := unix.Accept4(w.fd, unix.SOCK_CLOEXEC)
	for err == unix.EINTR {
		conn, _, err = unix.Accept4(w.fd, unix.SOCK_CLOEXEC)
	}
	if err != nil {
		return fmt.Errorf("wait for start: %w", err)
	}
	unix.Close(w.fd)
	defer unix.Close(conn)
	if err := before(); err != nil {
		unix.Write(conn, []byte("E"+err.Error())) //nolint:errcheck // start reports it
		return err
	}
	if _, err := unix.Write(conn, []byte("0")); err != nil {
		return fmt.Errorf("answer start: %w", err)
	}
	return nil
}

// signalStart is start's side: connect, and read init's answer.
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
	// "0", or "E" and why init gave up (a startContainer hook failed);
	// nothing at all if init died.
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for init: %w", err)
		}
		if n > 0 {
			break
		}
		if !pidAlive(initPid) {
			return errors.New("container init exited before start")
		}
	}
	var b [4096]byte
	n, _ := unix.Read(fd, b[:])
	if n < 1 {
		return errors.New("container init exited before start")
	}
	if b[0] != '0' {
		return errors.New(string(b[1:n]))
	}
	return nil
}
