package main

import (
	"fmt"
	"net"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// pidfdFlag is current runc's --pidfd-socket (create, run, exec): the
// socket gets a pidfd of the container's init (or the exec'd process), in
// one message whose payload is "pidfd" with the fd as SCM_RIGHTS, so a
// shim can wait for and signal the process without pid reuse races.
var pidfdFlag = &cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket to receive a pidfd of the process"}

// dialPidfdSocket connects before anything is created, so that a wrong
// path fails up front and leaves nothing behind.
func dialPidfdSocket(path string) (*net.UnixConn, error) {
	if path == "" {
		return nil, nil
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connect to pidfd socket: %w", err)
	}
	return conn, nil
}

// sendPidfd opens a pidfd for pid and sends it on conn (then closed).
func sendPidfd(conn *net.UnixConn, pid int) error {
	if conn == nil {
		return nil
	}
	defer conn.Close()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	if _, _, err := conn.WriteMsgUnix([]byte("pidfd"), unix.UnixRights(fd), nil); err != nil {
		return fmt.Errorf("send pidfd: %w", err)
	}
	return nil
}
