package libcontainer

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
	"github.com/tekapo/tekapo/libcontainer/internal/procfs"
)

// proc is a started init (or exec'd) process, on the parent's side.
type proc struct {
	cmd  *exec.Cmd
	sock parentSock
	mode string   // initConfig.Mode: "init" or "exec"
	pid  int      // B's pid
	pty  *os.File // the terminal master init sent (sync.go row 15)
	log  *initLog // init's --debug log, nil without
	t    *stepTimer
}

// spawn starts `tekapo init` from the sealed binary and runs the C stage's
// part of the protocol. extra are fds passed after the preserved ones.
func spawn(b *bootstrap, ic *initConfig, stdio [3]*os.File, extra []*os.File) (*proc, error) {
	t := newStepTimer("parent")
	parentEnd, childEnd, err := socketpair()
	if err != nil {
		return nil, err
	}
	defer childEnd.Close()
	exe, err := sealedExe()
	if err != nil {
		parentEnd.Close()
		return nil, err
	}
	defer exe.Close()
	t.step("seal binary")
	log, err := newInitLog()
	if err != nil {
		parentEnd.Close()
		return nil, err
	}
	defer log.started() // the parent's copy of the write end goes

	files := make([]*os.File, 0, ic.PreserveFds+len(extra)+2)
	for i := 0; i < ic.PreserveFds; i++ {
		files = append(files, os.NewFile(uintptr(3+i), "preserved"))
	}
	ic.FirstInternalFd = 3 + len(files)
	sockFd := 3 + len(files)
	files = append(files, childEnd)
	files = append(files, extra...)
	ic.LogFd = -1
	if log != nil {
		ic.LogFd = 3 + len(files)
		files = append(files, log.w)
	}
	exeFd := 3 + len(files)
	files = append(files, exe)

	cmd := &exec.Cmd{
		Path: "/proc/self/fd/" + strconv.Itoa(exeFd),
		Args: []string{"tekapo", "init"},
		Env: []string{"_TEKAPO_INITPIPE=" + strconv.Itoa(sockFd), "GOMAXPROCS=1", "GOGC=off",
			// A thread the Go runtime starts after the container's seccomp
			// filter is loaded must not die on it: glibc aborts the whole
			// process when a new thread's rseq registration is refused
			// (profiles older than rseq deny it with EPERM). Init's own
			// environment only: the process gets process.env.
			"GLIBC_TUNABLES=glibc.pthread.rseq=0"},
		Stdin:      stdio[0],
		Stdout:     stdio[1],
		Stderr:     stdio[2],
		ExtraFiles: files,
	}
	if err := cmd.Start(); err != nil {
		parentEnd.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}
	t.step("start init")
	p := &proc{cmd: cmd, sock: parentSock{syncSock{parentEnd}}, mode: ic.Mode, log: log, t: t}
	if err := p.bootstrap(b); err != nil {
		p.kill()
		return nil, err
	}
	t.step("bootstrap (C stage, namespaces)")
	return p, nil
}

// kill ends B (if it got that far) and reaps what it can.
func (p *proc) kill() {
	if p.pid > 0 {
		unix.Kill(p.pid, unix.SIGKILL) //nolint:errcheck
		waitGone(p.pid)
	}
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill() //nolint:errcheck
		p.cmd.Wait()         //nolint:errcheck
	}
	p.sock.f.Close()
}

func socketpair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// sealedExe returns this binary on a private read-only mount, so that no
// process in a container can write to it through /proc/PID/exe of init
// (CVE-2019-5736). It costs two syscalls; without the privilege to clone
// mounts (rootless) a sealed memfd copy is used instead.
func sealedExe() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr)
		if err == nil {
			return os.NewFile(uintptr(fd), "tekapo-sealed"), nil
		}
		unix.Close(fd)
	}
	return memfdExe()
}

// memfdExe copies the binary into a sealed memfd, unless it is already
// one, or on a read-only mount: then no process can write to it through
// /proc/PID/exe either (a container cannot remount the host's mounts), and
// the binary is used as it is.
func memfdExe() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	if isSealed(src) {
		return src, nil
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("tekapo", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "tekapo-memfd")
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal binary: %w", err)
	}
	return f, nil
}

// isSealed: f cannot be written, ever: a memfd sealed against writes, or a
// file on a read-only mount.
func isSealed(f *os.File) bool {
	if seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0); err == nil && seals&unix.F_SEAL_WRITE != 0 {
		return true
	}
	var st unix.Statfs_t
	return unix.Fstatfs(int(f.Fd()), &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// writeIDMaps writes the uid and gid maps of pid (the C stage, now in its
// new user namespace), through a verified procfs handle rather than by
// name. Root writes them itself; an unprivileged caller writes its own
// single id directly and uses newuidmap/newgidmap for more.
func writeIDMaps(pid int, b *bootstrap) error {
	if b.Rootless && !singleOwnMap(b) {
		if err := runMapHelper("newgidmap", pid, b.GIDMaps); err != nil {
			return err
		}
		return runMapHelper("newuidmap", pid, b.UIDMaps)
	}
	proc, err := procfs.OpenPids()
	if err != nil {
		return err
	}
	defer proc.Close()
	if b.Rootless {
		if err := proc.WritePid(pid, "setgroups", "deny"); err != nil {
			return fmt.Errorf("write setgroups: %w", err)
		}
	}
	if err := proc.WritePid(pid, "gid_map", formatMaps(b.GIDMaps)); err != nil {
		return fmt.Errorf("write gid_map: %w", err)
	}
	if err := proc.WritePid(pid, "uid_map", formatMaps(b.UIDMaps)); err != nil {
		return fmt.Errorf("write uid_map: %w", err)
	}
	return nil
}

func singleOwnMap(b *bootstrap) bool {
	return len(b.UIDMaps) == 1 && len(b.GIDMaps) == 1 && b.UIDMaps[0].Size == 1 && b.GIDMaps[0].Size == 1 &&
		int(b.UIDMaps[0].HostID) == os.Geteuid() && int(b.GIDMaps[0].HostID) == os.Getegid()
}

func formatMaps(m []configs.IDMap) string {
	var sb strings.Builder
	for _, r := range m {
		fmt.Fprintf(&sb, "%d %d %d\n", r.ContainerID, r.HostID, r.Size)
	}
	return sb.String()
}

func runMapHelper(helper string, pid int, m []configs.IDMap) error {
	args := []string{strconv.Itoa(pid)}
	for _, r := range m {
		args = append(args, strconv.Itoa(int(r.ContainerID)), strconv.Itoa(int(r.HostID)), strconv.Itoa(int(r.Size)))
	}
	out, err := exec.Command(helper, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %s: %w", helper, strings.TrimSpace(string(out)), err)
	}
	return nil
}

// waitGone waits until pid no longer runs (it may not be our child).
func waitGone(pid int) {
	var ws unix.WaitStatus
	if wpid, _ := unix.Wait4(pid, &ws, 0, nil); wpid == pid {
		return
	}
	for i := 0; i < 2000 && pidAlive(pid); i++ {
		unix.Nanosleep(&unix.Timespec{Nsec: 5e6}, nil) //nolint:errcheck
	}
}

// openNamespace opens /proc/PID/ns/NAME through a verified procfs handle.
func openNamespace(pid int, name string) (*os.File, error) {
	proc, err := procfs.OpenPids()
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	return proc.OpenNamespace(pid, name)
}
