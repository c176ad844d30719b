package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Init is `tekapo init`: B of nsenter.c, the container's init or an exec'd
// process, already in its namespaces. It never returns: it execs the
// user's process or exits 1 after reporting the error to the parent.
func Init() {
	// Every namespace and credential change below applies to this thread,
	// which is the one that execs.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv("_TEKAPO_INITPIPE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tekapo init: not started by tekapo")
		os.Exit(1)
	}
	unix.CloseOnExec(fd)
	sock := syncSock{os.NewFile(uintptr(fd), "sync")}
	err = initMain(sock) // returns only on failure: it execs otherwise
	// Before "ready" the parent reports it; after, only stderr is left.
	if sock.send(syncMsg{Type: msgError, Message: err.Error()}, -1) != nil {
		fmt.Fprintln(os.Stderr, "tekapo init:", err)
	}
	os.Exit(1)
}

// initMain sets up the container and execs; it returns only an error.
func initMain(sock syncSock) error {
	m, _, err := sock.recv()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	ic := m.Config
	if m.Type != msgConfig || ic == nil || ic.Process == nil {
		return errors.New("bad init config")
	}
	os.Clearenv()
	unix.Umask(0)
	if err := setInitialAffinity(ic.Process); err != nil {
		return err
	}
	if ic.JoinCgroup {
		if err := sock.send(syncMsg{Type: msgCgroup}, -1); err != nil {
			return err
		}
		if _, err := sock.expect(msgCgroupDone); err != nil {
			return err
		}
	}
	if ic.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("create cgroup namespace: %w", err)
		}
	}
	if ic.Mode == "exec" {
		return execInit(sock, ic)
	}
	return standardInit(sock, ic)
}

// standardInit sets up a new container and execs its process.
func standardInit(sock syncSock, ic *initConfig) error {
	cfg := ic.Config
	if cfg.HasNew(configs.NEWNET) {
		if err := loopbackUp(); err != nil { // network_linux.go
			return err
		}
	}
	var waiter *startWaiter
	if ic.StartFd >= 0 {
		waiter = &startWaiter{fd: ic.StartFd}
	}
	// parity: a mount namespace joined by path is set up as a new one (runc
	// does the same); without any, the root is only a chroot (nomntns_linux.go).
	_, hasMntNS := cfg.Namespace(configs.NEWNS)
	if hasMntNS {
		if err := setupRootfs(sock, ic); err != nil { // writes the sysctls too
			return err
		}
	} else if err := chrootWithoutMountNS(sock, ic); err != nil {
		return err
	}
	if err := setupTerminal(sock, ic, hasMntNS); err != nil {
		return err
	}
	if err := setupUTS(cfg); err != nil {
		return err
	}
	if !cfg.NoNewKeyring {
		// A keyring of its own, so the container cannot see the host's.
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + ic.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join session keyring: %w", err)
		}
	}
	p, err := prepareExec(ic)
	if err != nil {
		return err
	}
	// Credentials and seccomp come last, after start, as late as can be,
	// except that a seccomp notify listener's fd must reach the parent
	// before it returns.
	early := ic.Seccomp != nil && ic.Seccomp.Notify
	if early {
		if err := p.finalize(sock); err != nil {
			return err
		}
	}
	if err := sock.send(syncMsg{Type: msgReady}, -1); err != nil {
		return err
	}
	if waiter != nil {
		sock.f.Close() // create: the parent is gone by start
	}
	// startContainer hooks run once start has connected, before it is
	// answered: poststart hooks run after them.
	start := func() error { return runStartContainerHooks(cfg.Hooks.StartContainer, ic.HookState, p.env) }
	if waiter != nil {
		err = waiter.wait(start)
	} else {
		err = start()
	}
	if err != nil {
		return err
	}
	if !early {
		if err := p.finalize(sock); err != nil {
			return err
		}
	}
	return p.exec()
}

// execInit runs a new process in an existing container (tekapo exec): the
// C stage already joined every namespace, so the root is the container's.
func execInit(sock syncSock, ic *initConfig) error {
	if err := setupTerminal(sock, ic, false); err != nil {
		return err
	}
	p, err := prepareExec(ic)
	if err != nil {
		return err
	}
	if err := p.finalize(sock); err != nil {
		return err
	}
	if err := sock.send(syncMsg{Type: msgReady}, -1); err != nil {
		return err
	}
	return p.exec() // the socket closes at exec: the parent waits for that
}

func setupUTS(cfg *configs.Config) error {
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.Domainname)); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	return nil
}

func writeSysctls(s map[string]string) error {
	for k, v := range s {
		path := "/proc/sys/" + dotsToSlashes(k)
		if err := os.WriteFile(path, []byte(v), 0); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}

// dotsToSlashes turns a sysctl name into its /proc/sys path as sysctl(8)
// does: a name whose first separator is "/" is a path already.
func dotsToSlashes(k string) string {
	if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '/' {
		return k
	}
	b := []byte(k)
	for i, c := range b {
		switch c {
		case '.':
			b[i] = '/'
		case '/':
			b[i] = '.'
		}
	}
	return string(b)
}

// runHooksInParent asks the parent to run the prestart and createRuntime
// hooks (message 4 of sync.go).
func runHooksInParent(sock syncSock) error {
	if err := sock.send(syncMsg{Type: msgHooks}, -1); err != nil {
		return err
	}
	_, err := sock.expect(msgHooksDone)
	return err
}
