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
	// SubCgroups: exec --cgroup (ParseSubCgroups), controller ("" = all) to path.
	SubCgroups map[string]string
	Stdio      [3]*os.File
	// PtyMaster is set by Exec for a terminal without a console socket.
	PtyMaster *os.File
}

// Exec starts o.Process in every namespace and the cgroup of the
// container's init, and returns its pid once it is about to exec. It works
// from the state c was loaded with and leaves c's lock as it is: a caller
// that must let other commands in meanwhile (resume, which an exec into a
// paused container waits for) closes c first.
func (c *Container) Exec(o *ExecOpts) (int, error) {
	switch s := c.Status(); {
	case s == Stopped:
		return 0, fmt.Errorf("cannot exec in a stopped container")
	case s == Paused && !o.IgnorePaused:
		return 0, fmt.Errorf("cannot exec in a paused container (use --ignore-paused to override)")
	}
	if err := checkSELinux(o.Process); err != nil { // exec --process FILE
		return 0, err
	}
	cfg := c.state.Config
	mgr, err := c.cgroup()
	if err != nil {
		return 0, err
	}
	if len(o.SubCgroups) > 0 {
		mgr = subCgroupManager{mgr, o.SubCgroups} // exec_cgroup_linux.go
	}
	ic := &initConfig{Mode: "exec", ID: c.state.ID, Config: cfg, Process: o.Process, StartFd: -1, ConsoleFd: -1,
		PreserveFds: o.PreserveFds, JoinCgroup: true, InUserNS: hasUserNS(cfg)}
	var extra []*os.File
	if o.Console != nil {
		ic.ConsoleFd = 3 + o.PreserveFds + 1
		extra = append(extra, o.Console)
	}
	// The namespaces go to the C stage as fds opened here, through a
	// verified procfs handle, and named /proc/self/fd/N: init's pid is
	// checked again once they are open, so a pid reused meanwhile cannot
	// put the process in a stranger's namespaces.
	b := &bootstrap{OomScoreAdj: o.Process.OomScoreAdj}
	nsFds, err := c.openInitNamespaces()
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, f := range nsFds {
			f.Close()
		}
	}()
	for i, n := range cfg.Namespaces {
		b.Join = append(b.Join, configs.Namespace{Type: n.Type,
			Path: "/proc/self/fd/" + strconv.Itoa(3+o.PreserveFds+1+len(extra))})
		extra = append(extra, nsFds[i])
	}
	prog, err := c.execSeccomp(o.Process.Seccomp) // the container's own, compiled by create
	if err != nil {
		return 0, err
	}
	ic.Seccomp = prog
	// The C final stage when it can (exec_final_linux.go): no Go runtime
	// starts in the container.
	b.Final = execInC(ic)
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) //nolint:errcheck
	p, err := spawn(b, ic, o.Stdio, extra)
	if err != nil {
		return 0, err
	}
	FaultPoint("exec:spawned")
	ic.HookState = c.hookState(Running)
	if b.Final {
		err = driveFinal(p, ic, mgr)
	} else {
		err = drive(p, ic, mgr, &configs.Hooks{}, nil)
	}
	if err != nil {
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

// openInitNamespaces opens the namespaces of init, in the order of
// cfg.Namespaces, and checks that init is still the same process.
func (c *Container) openInitNamespaces() ([]*os.File, error) {
	var fds []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range fds {
			f.Close()
		}
		return nil, err
	}
	for _, n := range c.state.Config.Namespaces {
		f, err := openNamespace(c.state.InitPid, n.Type.ProcName())
		if err != nil {
			return fail(fmt.Errorf("open %s namespace of init: %w", n.Type.ProcName(), err))
		}
		fds = append(fds, f)
	}
	if st, start, ok := procStat(c.state.InitPid); !ok || st == 'Z' || start != c.state.InitStartTime {
		return fail(fmt.Errorf("cannot exec in a stopped container"))
	}
	return fds, nil
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
	m, err := p.sock.recv()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("wait for exec: %w", err)
	}
	if e, ok := m.(errorMsg); ok {
		return p.initErr(e.Err)
	}
	closeFdOf(m)
	return fmt.Errorf("unexpected message %q from init after ready", m.kind())
}
