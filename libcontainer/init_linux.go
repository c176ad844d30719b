package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/libcontainer/internal/procfs"
)

// initProc is init's procfs handle (libcontainer/internal/procfs), opened
// first thing: for a new container before any of its mounts exists, so
// that nothing the config or the image mounts can redirect init's own
// /proc writes (sysctls, attr files) or reads (setgroups). Init is one
// process doing one job, hence a package variable; it is close-on-exec.
var initProc *procfs.Handle

// initSteps times init's steps for --debug (debug_linux.go); nil without.
var initSteps *stepTimer

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
	sock := initSock{syncSock{os.NewFile(uintptr(fd), "sync")}}
	ie := asInitError(initMain(sock)) // returns only on failure: it execs otherwise
	// Before "ready" the parent reports it; after, run's parent or start
	// (startsock_linux.go) does. Only when neither can, stderr has it.
	if sock.send(errorMsg{Err: ie}) != nil {
		fmt.Fprintln(os.Stderr, "tekapo init:", ie.Msg)
	}
	os.Exit(1)
}

// initMain sets up the container and execs; it returns only an error.
func initMain(sock initSock) error {
	m, err := expect[configMsg](sock)
	if err != nil {
		return stepError("read config", fmt.Errorf("read config: %w", err))
	}
	ic := m.Config
	if ic == nil || ic.Process == nil {
		return stepError("read config", errors.New("bad init config"))
	}
	initSteps = initTimer(ic.LogFd)
	initSteps.step("read config")
	if initProc, err = procfs.Open(); err != nil {
		return stepError("procfs", err)
	}
	initSteps.step("procfs")
	os.Clearenv()
	unix.Umask(0)
	// A session of its own, as runc's init and exec processes have: CRIU
	// refuses a tree whose session leader is outside its pid namespace.
	unix.Setsid() //nolint:errcheck // EPERM: a group leader already
	if err := setInitialAffinity(ic.Process); err != nil {
		return stepError("cpu affinity", err)
	}
	if ic.JoinCgroup {
		if err := sock.send(cgroupMsg{}); err != nil {
			return stepError("cgroup join", err)
		}
		if _, err := expect[cgroupDoneMsg](sock); err != nil {
			return stepError("cgroup join", err)
		}
		initSteps.step("cgroup join")
	}
	if ic.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return stepError("cgroup namespace", fmt.Errorf("create cgroup namespace: %w", err))
		}
		initSteps.step("cgroup namespace")
	}
	if ic.Mode == "exec" {
		return execInit(sock, ic)
	}
	return standardInit(sock, ic)
}

// standardInit sets up a new container and execs its process.
func standardInit(sock initSock, ic *initConfig) error {
	cfg := ic.Config
	if cfg.HasNew(configs.NEWNET) {
		if err := loopbackUp(); err != nil { // init_network_linux.go
			return stepError("loopback", err)
		}
		initSteps.step("loopback")
	}
	var waiter *startWaiter
	if ic.StartFd >= 0 {
		waiter = &startWaiter{fd: ic.StartFd}
	}
	// parity: a mount namespace joined by path is set up as a new one (runc
	// does the same); without any, the root is only a chroot (init_nomntns_linux.go).
	_, hasMntNS := cfg.Namespace(configs.NEWNS)
	terminal := func() error { return setupTerminal(sock, ic, hasMntNS) }
	if hasMntNS {
		if err := setupRootfs(sock, ic, terminal); err != nil { // writes the sysctls too
			return stepError("rootfs", err)
		}
	} else if err := chrootWithoutMountNS(sock, ic); err != nil {
		return stepError("rootfs", err)
	} else if err := terminal(); err != nil {
		return stepError("terminal", err)
	}
	initSteps.step("rootfs")
	if err := setupUTS(cfg); err != nil {
		return stepError("uts", err)
	}
	if !cfg.NoNewKeyring {
		// A keyring of its own, so the container cannot see the host's.
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + ic.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return stepError("keyring", fmt.Errorf("join session keyring: %w", err))
		}
	}
	p, err := prepareExec(ic)
	if err != nil {
		return stepError("prepare exec", err)
	}
	initSteps.step("uts, keyring, prepare exec")
	// The log ends here: nothing is written once seccomp may be loaded, nor
	// after ready when start is awaited (debug_linux.go).
	initSteps.close()
	// Credentials and seccomp come last, after start, as late as can be,
	// except that a seccomp notify listener's fd must reach the parent
	// before it returns.
	early := ic.Seccomp != nil && ic.Seccomp.Notify
	if early {
		if err := p.finalize(sock); err != nil {
			return stepError("credentials, seccomp", err)
		}
	}
	if err := sock.send(readyMsg{}); err != nil {
		return stepError("ready", err)
	}
	if waiter != nil {
		sock.f.Close() // create: the parent is gone by start
	}
	// Once start has connected: drop privileges and load seccomp (unless
	// done before ready), run the startContainer hooks, exec. The hooks run
	// as runc runs them, as the process will run: its user, capabilities,
	// no_new_privs and seccomp filter; start returns (and runs the
	// poststart hooks) once the process is exec'd, or with the error that
	// stopped it (startsock_linux.go).
	last := func() error {
		if !early {
			if err := p.finalize(sock); err != nil {
				return stepError("credentials, seccomp", err)
			}
		}
		return stepError("startContainer hooks", runStartContainerHooks(cfg.Hooks.StartContainer, ic.HookState, p.env))
	}
	if waiter == nil {
		// run: the parent reads an error frame, or sees the socket
		// close at execve.
		if err := last(); err != nil {
			return err
		}
		return stepError("exec", p.exec())
	}
	conn, err := waiter.wait(last)
	if err != nil {
		return stepError("wait for start", err)
	}
	// start is still connected: an execve failure is its error.
	err = stepError("exec", p.exec())
	startFailed(conn, err)
	return err
}

// execInit runs a new process in an existing container (tekapo exec): the
// C stage already joined every namespace, so the root is the container's.
func execInit(sock initSock, ic *initConfig) error {
	if err := setupTerminal(sock, ic, false); err != nil {
		return stepError("terminal", err)
	}
	p, err := prepareExec(ic)
	if err != nil {
		return stepError("prepare exec", err)
	}
	initSteps.step("terminal, prepare exec")
	initSteps.close()
	if err := p.finalize(sock); err != nil {
		return stepError("credentials, seccomp", err)
	}
	if err := sock.send(readyMsg{}); err != nil {
		return stepError("ready", err)
	}
	return stepError("exec", p.exec()) // the socket closes at exec: the parent waits for that
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

// writeSysctls writes the config's sysctls through init's procfs handle,
// never through the container's /proc/sys: they land in the namespaces of
// init, which are the container's.
func writeSysctls(s map[string]string) error {
	for k, v := range s {
		if err := initProc.WriteSysctl(k, v); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}

// runHooksInParent asks the parent to run the prestart and createRuntime
// hooks (sync.go rows 11-12). Without any, there is no round trip.
func runHooksInParent(sock initSock, h *configs.Hooks) error {
	if len(h.Prestart) == 0 && len(h.CreateRuntime) == 0 {
		return nil
	}
	if err := sock.send(hooksMsg{}); err != nil {
		return err
	}
	_, err := expect[hooksDoneMsg](sock)
	return err
}
