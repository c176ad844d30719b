package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ptyMasterName is the name sent with the master over a console socket:
// runc sends its master's file name, and engines' receivers expect one.
const ptyMasterName = "/dev/ptmx"

// setupTerminal gives the process a terminal when process.terminal is
// set: a pty from the container's own devpts (init and exec run after the
// container's /dev is in place), whose master goes to the console socket
// or, without one, to the parent (message 8 of sync.go), and whose slave
// becomes the controlling terminal and stdio. With mountConsole (a new
// container's init) the slave is also bind-mounted on /dev/console.
func setupTerminal(sock syncSock, ic *initConfig, mountConsole bool) error {
	p := ic.Process
	if !p.Terminal {
		return nil
	}
	master, slave, name, err := openPty()
	if err != nil {
		return err
	}
	defer unix.Close(master)
	defer unix.Close(slave)
	if p.ConsoleWidth != 0 && p.ConsoleHeight != 0 {
		ws := unix.Winsize{Row: uint16(p.ConsoleHeight), Col: uint16(p.ConsoleWidth)}
		if err := unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, &ws); err != nil {
			return fmt.Errorf("set terminal size: %w", err)
		}
	}
	// The slave belongs to the process's user (it is the container's own
	// device, never a host file), as a login's terminal would.
	if err := unix.Fchown(slave, int(p.UID), -1); err != nil {
		return fmt.Errorf("chown %s: %w", name, err)
	}
	if mountConsole {
		if err := bindConsole(name); err != nil {
			return err
		}
	}
	if err := sendMaster(sock, ic.ConsoleFd, master); err != nil {
		return err
	}
	return takeTerminal(slave)
}

// openPty opens a new pty in the devpts instance mounted in the container:
// /dev/ptmx, else /dev/pts/ptmx. The slave is opened through the master
// (TIOCGPTPEER), so no path lookup can swap it.
func openPty() (master, slave int, name string, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master, err = unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, -1, "", fmt.Errorf("open the container's /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return -1, -1, "", fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		unix.Close(master)
		return -1, -1, "", fmt.Errorf("get pty number: %w", err)
	}
	name = "/dev/pts/" + strconv.Itoa(int(n))
	slave, err = ptyPeer(master)
	if err != nil {
		// Without TIOCGPTPEER (before Linux 4.13) open the slave by name.
		slave, err = unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		unix.Close(master)
		return -1, -1, "", fmt.Errorf("open pty slave %s: %w", name, err)
	}
	return master, slave, name, nil
}

// ptyPeer opens the slave of master; the ioctl takes the open flags.
func ptyPeer(master int) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// sendMaster hands the master to the console socket as runc does (one
// message: the name as payload, the fd as SCM_RIGHTS), or to the parent.
func sendMaster(sock syncSock, consoleFd, master int) error {
	if consoleFd < 0 {
		return sock.send(syncMsg{Type: msgPty}, master)
	}
	defer unix.Close(consoleFd)
	if err := unix.Sendmsg(consoleFd, []byte(ptyMasterName), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("send pty master to console socket: %w", err)
	}
	return nil
}

// takeTerminal makes slave the controlling terminal of a new session and
// the process's stdin, stdout and stderr.
func takeTerminal(slave int) error {
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup terminal to fd %d: %w", fd, err)
		}
	}
	return nil
}

// bindConsole puts the terminal on /dev/console, as runc does for init.
func bindConsole(slavePath string) error {
	f, err := os.OpenFile("/dev/console", os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		if errors.Is(err, unix.EROFS) {
			return nil // a read-only /dev: no console, as crun
		}
		return fmt.Errorf("create /dev/console: %w", err)
	}
	f.Close()
	if err := unix.Mount(slavePath, "/dev/console", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on /dev/console: %w", slavePath, err)
	}
	return nil
}

// closePty drops a master the parent got from an init that then failed.
func (p *proc) closePty() {
	if p.pty != nil {
		p.pty.Close()
		p.pty = nil
	}
}
