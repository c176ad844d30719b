package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setupTerminal gives the process a terminal when process.terminal is
// set: a pty from the container's own devpts (init and exec run after the
// container's /dev is in place), whose master goes to the console socket
// or, without one, to the parent (sync.go row 15), and whose slave
// becomes the controlling terminal and stdio. With mountConsole (a new
// container's init) the slave is also bind-mounted on /dev/console.
func setupTerminal(sock initSock, ic *initConfig, mountConsole bool) error {
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
		if err := bindConsole(slave); err != nil {
			return err
		}
	}
	if err := sendMaster(sock, ic.ConsoleFd, master); err != nil {
		return err
	}
	return takeTerminal(slave)
}

// openPty opens a new pty in the devpts instance mounted in the container.
// /dev/ptmx is resolved inside the root without magic links and must be
// the ptmx device; the slave is opened through the master (TIOCGPTPEER) and
// must be on a devpts: no name in the container's /dev can swap either.
func openPty() (master, slave int, name string, err error) {
	root, err := openRoot("/")
	if err != nil {
		return -1, -1, "", err
	}
	defer root.Close()
	master = -1
	for _, p := range []string{"dev/ptmx", "dev/pts/ptmx"} {
		fd, e := unix.Openat2(int(root.Fd()), p, &unix.OpenHow{
			Flags: unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC, Resolve: resolveInRoot})
		if e != nil {
			err = e
			continue
		}
		if ok, _ := isCharDevFd(fd, 5, 2); ok {
			master = fd
			break
		}
		unix.Close(fd)
		err = fmt.Errorf("%s is not the ptmx device", p)
	}
	if master < 0 {
		return -1, -1, "", fmt.Errorf("open the container's /dev/ptmx: %w", err)
	}
	fail := func(e error) (int, int, string, error) {
		unix.Close(master)
		return -1, -1, "", e
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("unlock pty: %w", err))
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("get pty number: %w", err))
	}
	name = "/dev/pts/" + strconv.Itoa(int(n))
	slave, err = ptyPeer(master)
	if err != nil {
		return fail(fmt.Errorf("open pty slave %s: %w", name, err))
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(slave, &st); err != nil || st.Type != unix.DEVPTS_SUPER_MAGIC {
		unix.Close(slave)
		return fail(fmt.Errorf("pty slave %s is not on a devpts", name))
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
func sendMaster(sock initSock, consoleFd, master int) error {
	if consoleFd < 0 {
		clearONLCR(master) // tekapo proxies it: as runc's (init_tty_onlcr_linux.go)
		return sock.send(ptyMsg{fd: master})
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

// bindConsole puts the terminal on /dev/console, as runc does for init:
// the slave's own mount, cloned from its fd, on a /dev/console that tekapo
// makes a plain file (a symlink or anything else there is removed first,
// never followed).
func bindConsole(slave int) error {
	dev, err := openInContainer("/dev", unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("open /dev for the console: %w", err)
	}
	defer dev.Close()
	target, err := consoleTarget(dev)
	if errors.Is(err, unix.EROFS) {
		return nil // a read-only /dev: no console, as crun
	}
	if err != nil {
		return fmt.Errorf("create /dev/console: %w", err)
	}
	defer target.Close()
	tree, err := cloneMountFd(slave, false)
	if err != nil {
		return fmt.Errorf("bind the pty on /dev/console: %w", err)
	}
	defer tree.Close()
	if err := attachAt(tree, target); err != nil {
		return fmt.Errorf("bind the pty on /dev/console: %w", err)
	}
	return nil
}

func consoleTarget(dev *os.File) (*os.File, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(dev.Fd()), "console", &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG && st.Mode&unix.S_IFMT != unix.S_IFCHR {
		if err := unix.Unlinkat(int(dev.Fd()), "console", 0); err != nil {
			return nil, err
		}
	}
	target, err := createFileAt(dev, "console")
	if errors.Is(err, unix.EEXIST) {
		target, err = openat2(dev, "console", unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW,
			unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
	}
	if err != nil {
		return nil, errors.Unwrap(err) // the errno, for EROFS
	}
	if ok, _ := isDir(target); ok {
		target.Close()
		return nil, unix.EISDIR
	}
	return target, nil
}
