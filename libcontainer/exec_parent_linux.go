package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// ExecOpts describe a process to start in a running container.
type ExecOpts struct {
	Process      *configs.Process
	PidFile      string
	Console      *os.File
	PreserveFds  int
	IgnorePaused bool
	Stdio        [3]*os.File
	// PtyMaster is set by Exec for a terminal without a console socket.
	PtyMaster *os.File
}

var nsFile = map[configs.NamespaceType]string{
	configs.NEWUSER: "user", configs.NEWNET: "net", configs.NEWNS: "mnt", configs.NEWUTS: "uts",
	configs.NEWIPC: "ipc", configs.NEWPID: "pid", configs.NEWCGROUP: "cgroup", configs.NEWTIME: "time",
}

// Exec starts o.Process in every namespace and the cgroup of the
// container's init, and returns its pid once it is about to exec.
func (c *Container) Exec(o *ExecOpts) (int, error) {
	switch s := c.Status(); {
	case s == Stopped:
		return 0, fmt.Errorf("cannot exec in a stopped container")
	case s == Paused && !o.IgnorePaused:
		return 0, fmt.Errorf("cannot exec in a paused container (use --ignore-paused to override)")
	}
	// From here on the state is read: let other commands in, above all
	// resume, which an exec into a paused container (--ignore-paused)
	// waits for.
	c.Close()
	cfg := c.State.Config
	mgr, err := c.cgroup()
	if err != nil {
		return 0, err
	}
	b := &bootstrap{OomScoreAdj: o.Process.OomScoreAdj}
	for _, n := range cfg.Namespaces {
		b.Join = append(b.Join, configs.Namespace{Type: n.Type,
			Path: "/proc/" + strconv.Itoa(c.State.InitPid) + "/ns/" + nsFile[n.Type]})
	}
	ic := &initConfig{Mode: "exec", ID: c.State.ID, Config: cfg, Process: o.Process, StartFd: -1, ConsoleFd: -1,
		PreserveFds: o.PreserveFds, JoinCgroup: true, InUserNS: hasUserNS(cfg)}
	var extra []*os.File
	if o.Console != nil {
		ic.ConsoleFd = 3 + o.PreserveFds + 1
		extra = append(extra, o.Console)
	}
	prog, err := compileSeccomp(o.Process.Seccomp)
	if err != nil {
		return 0, err
	}
	ic.Seccomp = prog
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) //nolint:errcheck
	p, err := spawn(b, ic, o.Stdio, extra)
	if err != nil {
		return 0, err
	}
	FaultPoint("exec:spawned")
	ic.HookState = c.hookState(Running)
	if err := drive(p, ic, mgr, &configs.Hooks{}, nil); err != nil {
		p.closePty()
		p.kill()
		return 0, err
	}
	o.PtyMaster = p.pty
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, p.pid); err != nil {
			return p.pid, err
		}
	}
	return p.pid, nil
}

// WaitPid reaps children until pid exits (the caller is their subreaper)
// and returns its status as a shell would: the exit code, or 128+signal.
func WaitPid(pid int) int {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 255
		}
		if wpid != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// waitExeced waits, after "ready" from a process that goes on to exec at
// once (run, exec), until its sync socket closes at execve: then its pid
// is the user's process, as callers of --pid-file and -d expect. An error
// it reports meanwhile (a failing startContainer hook, execve) is returned.
func waitExeced(p *proc) error {
	m, fd, err := p.sock.recv()
	if fd >= 0 {
		unix.Close(fd)
	}
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("wait for exec: %w", err)
	case m.Type == msgError:
		return errors.New(m.Message)
	}
	return fmt.Errorf("unexpected message %q from init after ready", m.Type)
}
