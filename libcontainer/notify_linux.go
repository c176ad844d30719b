package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// sd_notify support, as runc's notify_socket.go: when the runtime runs
// with NOTIFY_SOCKET (a Type=notify unit), the container gets a socket of
// its own, <state>/notify/notify.sock, bind-mounted read-only on
// /run/notify and named by NOTIFY_SOCKET in its env. The runtime relays
// the container's READY=1 to the host's socket, then MAINPID=<init>, so
// that systemd tracks the container's init.
const (
	notifyDir         = "notify"
	notifySock        = "notify.sock"
	notifyInContainer = "/run/notify"
)

// addNotifyMount makes the socket's directory and adds it to the config.
func addNotifyMount(dir *stateDir, cfg *configs.Config) error {
	d := filepath.Join(dir.path, notifyDir)
	if err := os.Mkdir(d, 0o755); err != nil {
		return fmt.Errorf("create notify socket dir: %w", err)
	}
	cfg.Mounts = append(cfg.Mounts, &configs.Mount{Source: d, Destination: notifyInContainer, Device: "bind",
		Flags: unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC})
	cfg.Process.Env = append(cfg.Process.Env, "NOTIFY_SOCKET="+notifyInContainer+"/"+notifySock)
	return nil
}

// NotifyRelay receives the container's sd_notify datagrams.
type NotifyRelay struct {
	conn *net.UnixConn
	host string
}

// ListenNotify binds the container's notify socket; host is the
// runtime's own NOTIFY_SOCKET, where READY goes.
// It returns nil when the container was created without NOTIFY_SOCKET.
func (c *Container) ListenNotify(host string) (*NotifyRelay, error) {
	if _, err := os.Stat(filepath.Join(c.dir.path, notifyDir)); err != nil {
		return nil, nil
	}
	return listenNotify(c.dir, host)
}

func listenNotify(dir *stateDir, host string) (*NotifyRelay, error) {
	path := filepath.Join(dir.path, notifyDir, notifySock)
	os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("bind notify socket: %w", err)
	}
	// Any user in the container may notify, as with systemd's socket.
	if err := os.Chmod(path, 0o777); err != nil {
		conn.Close()
		return nil, fmt.Errorf("chmod notify socket: %w", err)
	}
	return &NotifyRelay{conn: conn, host: host}, nil
}

// Relay waits until the container says READY=..., or init (pid) exits,
// and passes READY on to the host with MAINPID=pid. It closes r.
func (r *NotifyRelay) Relay(pid int) error {
	defer r.conn.Close()
	ready := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.conn.Read(buf)
			if err != nil {
				return
			}
			for _, line := range bytes.Split(buf[:n], []byte{'\n'}) {
				if bytes.HasPrefix(line, []byte("READY=")) {
					ready <- append([]byte{}, line...)
					return
				}
			}
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if !pidAlive(pid) {
				return nil
			}
		case line := <-ready:
			return notifyHost(r.host, line, pid)
		}
	}
}

// notifyHost sends READY and MAINPID, then waits for the host's
// acknowledgement (sd_notify_barrier) as runc does.
func notifyHost(host string, ready []byte, pid int) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: host, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("connect to NOTIFY_SOCKET %s: %w", host, err)
	}
	defer conn.Close()
	if _, err := conn.Write(append(ready, '\n')); err != nil {
		return fmt.Errorf("notify host: %w", err)
	}
	if _, err := conn.Write([]byte("MAINPID=" + strconv.Itoa(pid) + "\n")); err != nil {
		return fmt.Errorf("notify host: %w", err)
	}
	return notifyBarrier(conn)
}

// notifyBarrier sends BARRIER=1 with a pipe's write end and waits for the
// host to close it (30s at most, like runc, for hosts that do not).
func notifyBarrier(conn *net.UnixConn) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	err = sendRights(conn, []byte("BARRIER=1"), int(pw.Fd()))
	pw.Close()
	if err != nil {
		return fmt.Errorf("notify barrier: %w", err)
	}
	pr.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	var b [1]byte
	n, err := pr.Read(b[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		warnf("no barrier acknowledgement from NOTIFY_SOCKET in 30s")
		return nil
	case err != nil:
		return err
	}
	return errors.New("notify barrier: unexpected data")
}

// setupNotify prepares the notify socket of a new container: the mount
// always, the socket itself at once for run (create's is bound by start).
func setupNotify(o *CreateOpts, dir *stateDir) (*NotifyRelay, error) {
	if o.NotifySocket == "" {
		return nil, nil
	}
	if err := addNotifyMount(dir, o.Config); err != nil {
		return nil, err
	}
	if !o.Run {
		return nil, nil
	}
	return listenNotify(dir, o.NotifySocket)
}

// Close drops the socket without relaying.
func (r *NotifyRelay) Close() {
	if r != nil {
		r.conn.Close()
	}
}

// sendRights sends b with fd on a connected socket.
func sendRights(conn *net.UnixConn, b []byte, fd int) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Write(func(s uintptr) bool {
		serr = unix.Sendmsg(int(s), b, unix.UnixRights(fd), nil, 0)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}
