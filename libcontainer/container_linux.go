package libcontainer

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Container is one container known to the state dir under Root.
type Container struct {
	Root  string
	state *State
	dir   *stateDir
	mgr   cgroups.Manager // see cgroup()
	// PtyMaster is the terminal of a process created with a terminal and
	// no console socket (run in the foreground): the caller proxies it.
	PtyMaster *os.File
	// Notify relays READY to NOTIFY_SOCKET (run with NotifySocket).
	Notify *NotifyRelay
	// creating: Peek found a state dir still being created.
	creating bool
}

// CreateOpts are the knobs of create and run.
type CreateOpts struct {
	Root        string
	ID          string
	Config      *configs.Config
	PidFile     string
	Console     *os.File // a connected --console-socket, or nil
	PreserveFds int
	// Run: start at once (run, run --detach): no start socket.
	Run   bool
	Stdio [3]*os.File
	// NotifySocket is the runtime's NOTIFY_SOCKET (see notify_linux.go).
	NotifySocket string
}

// Create sets up a container whose init waits for Start (or, with Run,
// goes on to exec at once). On any error nothing is left behind. Each side
// effect is recorded in the state dir before it is made (State.Identity),
// so that a SIGKILL at any instant leaves what `delete --force` undoes.
func Create(o *CreateOpts) (c *Container, err error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	if err := checkSELinux(o.Config.Process); err != nil {
		return nil, err
	}
	if o.Run && len(o.Config.Hooks.Poststart) > 0 {
		return createAndStart(o) // poststart hooks wait for start
	}
	cfg := o.Config
	t := newStepTimer("parent")
	mgr, err := cgroups.New(cfg.Cgroup)
	if err != nil {
		return nil, err
	}
	dir, err := newStateDir(o.Root, o.ID)
	if err != nil {
		return nil, err
	}
	t.step("state dir")
	FaultPoint("create:state-dir")
	st := newState(o.ID, cfg)
	// Before anything is made: a cgroup in use or frozen is refused (and
	// its processes, someone else's, are left alone).
	if err := mgr.CheckUsable(); err != nil {
		dir.remove() //nolint:errcheck
		return nil, err
	}
	defer func() {
		if err != nil {
			st.OverlayKeep = false  // a failed create keeps no upper layer
			undo(&st.Identity, mgr) //nolint:errcheck // the first error is the one to report
			dir.remove()            //nolint:errcheck
		}
	}()
	if err := makeCgroups(dir, st, mgr, "create:state-saved"); err != nil {
		return nil, err
	}
	t.step("cgroups")
	FaultPoint("create:cgroup-created")
	if err := delegateCgroup(cfg, mgr); err != nil {
		return nil, err
	}
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) //nolint:errcheck // lets us reap init on failure
	if cfg.RootOverlay != nil {
		st.Overlay, st.OverlayKeep = overlayPlan(cfg, dir.path, o.ID), cfg.RootOverlay.Keep
		if err := dir.saveIdentity(st, st.Overlay.Own); err != nil {
			return nil, err
		}
		ov, err := prepareOverlay(cfg, dir.path, o.ID)
		if err != nil {
			st.Overlay = nil // prepareOverlay removed what it made; the dir may be someone else's
			return nil, err
		}
		st.Overlay = ov
		FaultPoint("create:overlay")
	}
	notify, err := setupNotify(o, dir)
	if err != nil {
		return nil, err
	}
	t.step("overlay, notify")
	p, err := startInit(o, dir, mgr, &recorder{st: st, dir: dir})
	if err != nil {
		notify.Close()
		return nil, err
	}
	t.after(p.t)
	st.Ready = true
	if err := dir.save(st); err != nil {
		p.kill()
		return nil, err
	}
	t.step("state")
	FaultPoint("create:saved")
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, p.pid); err != nil {
			p.kill()
			return nil, err
		}
	}
	return &Container{Root: o.Root, state: st, dir: dir, mgr: mgr, PtyMaster: p.pty, Notify: notify}, nil
}

// newState is a new container's state before anything of it is made.
func newState(id string, cfg *configs.Config) *State {
	return &State{Identity: Identity{ID: id, CgroupPath: cfg.Cgroup.Path, CgroupRootless: cfg.Cgroup.Rootless},
		Created: time.Now().UTC(), Owner: owner(), Config: cfg}
}

// makeCgroups records the cgroup directories mgr is about to make, makes
// them, and records the ones it did make (someone may have made one
// meanwhile: not ours), so that delete --force removes exactly those.
// Create and Restore both start this way; fault is the step between.
func makeCgroups(dir *stateDir, st *State, mgr cgroups.Manager, fault string) error {
	st.CgroupCreated = mgr.Missing()
	if err := dir.save(st); err != nil {
		return err
	}
	FaultPoint(fault)
	if err := mgr.Create(); err != nil {
		return err
	}
	if made := mgr.Created(); len(made) != len(st.CgroupCreated) {
		st.CgroupCreated = made
		return dir.saveIdentity(st, false)
	}
	return nil
}

// recorder saves create's progress in the state as init comes up.
type recorder struct {
	st  *State
	dir *stateDir
}

// initPid records init's pid and start time, before init joins its cgroup.
func (r *recorder) initPid(pid int) error {
	r.st.InitPid = pid
	_, r.st.InitStartTime, _ = procStat(pid)
	return r.dir.saveIdentity(r.st, false)
}

// veth records the host end of the pair before it is made; a name the
// host already has is refused here, so that undo never deletes another's.
func (r *recorder) veth(cfg *configs.Config) error {
	if cfg.Veth == nil {
		return nil
	}
	if hostLinkExists(cfg.Veth.Host) {
		return fmt.Errorf("veth %s: an interface of that name already exists on the host", cfg.Veth.Host)
	}
	r.st.HostVeth = cfg.Veth.Host
	return r.dir.saveIdentity(r.st, false)
}

// startInit spawns init and drives it to "ready".
func startInit(o *CreateOpts, dir *stateDir, mgr cgroups.Manager, rec *recorder) (*proc, error) {
	cfg := o.Config
	ov := rec.st.Overlay
	ic := &initConfig{Mode: "init", ID: o.ID, Config: cfg, Process: cfg.Process, StartFd: -1, ConsoleFd: -1,
		PreserveFds: o.PreserveFds, JoinCgroup: true, NewCgroupNS: cfg.HasNew(configs.NEWCGROUP),
		CgroupPaths: cgroups.MountNames(mgr.Paths()), InUserNS: hasUserNS(cfg), Overlay: ov}
	var extra []*os.File
	if !o.Run {
		sock, err := listenStart(dir)
		if err != nil {
			return nil, err
		}
		defer sock.Close()
		ic.StartFd = o.nextFd(len(extra))
		extra = append(extra, sock)
	}
	if o.Console != nil {
		ic.ConsoleFd = o.nextFd(len(extra))
		extra = append(extra, o.Console)
	}
	mfds, err := idmapMounts(cfg)
	if err != nil {
		return nil, err
	}
	defer closeAll(mfds)
	ic.LateIdmap = lateIdmaps(cfg)
	binds, err := unreachableBinds(cfg, mfds) // parity: bind_userns_linux.go
	if err != nil {
		return nil, err
	}
	defer closeAll(binds)
	for i, f := range binds {
		mfds[i] = f
	}
	for i, f := range mfds {
		if ic.MountFds == nil {
			ic.MountFds = map[int]int{}
		}
		ic.MountFds[i] = o.nextFd(len(extra))
		extra = append(extra, f)
	}
	prog, err := compileSeccomp(o.Root, cfg.Process.Seccomp)
	if err != nil {
		return nil, err
	}
	if err := dir.saveSeccomp(prog); err != nil { // for exec (seccomp_cache_linux.go)
		return nil, err
	}
	ic.Seccomp = prog
	p, err := spawn(newBootstrap(cfg), ic, o.Stdio, extra)
	if err != nil {
		return nil, err
	}
	if err := rec.initPid(p.pid); err != nil {
		p.kill()
		return nil, err
	}
	FaultPoint("init:spawned")
	ic.HookState = &specs.State{Version: specs.Version, ID: o.ID, Status: specs.StateCreated,
		Pid: p.pid, Bundle: cfg.Bundle, Annotations: cfg.Annotations}
	if err := drive(p, ic, mgr, &cfg.Hooks, rec); err != nil {
		p.closePty()
		p.kill()
		poststopAfterFailure(cfg.Hooks.Poststop, ic.HookState)
		return nil, err
	}
	return p, nil
}

// nextFd is the fd number in init of the i-th extra file: after the
// preserved fds and the sync socket.
func (o *CreateOpts) nextFd(i int) int { return 3 + o.PreserveFds + 1 + i }

// drive sends init its config and serves its requests until "ready".
// rec (nil for exec) records what is made on the host before it is.
// On error the socket stays open: the caller kills init first (p.kill
// closes it), so that init does not see EOF and print a second error.
func drive(p *proc, ic *initConfig, mgr cgroups.Manager, hooks *configs.Hooks, rec *recorder) (err error) {
	defer func() {
		if err == nil {
			p.sock.f.Close()
			p.log.wait() // init's steps are logged before the parent's next ones
		}
	}()
	if err := p.sock.send(configMsg{Config: ic}); err != nil {
		return err
	}
	waiting := "its first request, after its config"
	for {
		m, err := p.sock.recv()
		if err != nil {
			// Init's death ends the wait (EOF): say where it was.
			return fmt.Errorf("init exited before it was ready (tekapo was waiting for %s): %w", waiting, err)
		}
		waiting = fmt.Sprintf("its next request, after %q", m.kind())
		var reply toInit
		switch m := m.(type) {
		case ptyMsg:
			p.pty = os.NewFile(uintptr(m.fd), "pty-master") // ONLCR cleared by init (init_console_linux.go)
			continue
		case idmapSourceMsg:
			err := idmapLate(ic.Config, ic.LateIdmap, m.Index, m.fd)
			unix.Close(m.fd)
			if err != nil {
				return err
			}
			reply = idmapDoneMsg{}
		case seccompFdMsg:
			err := forwardSeccompFd(ic.Seccomp, ic.HookState, m.fd)
			unix.Close(m.fd)
			if err != nil {
				return err
			}
			reply = seccompDoneMsg{}
		case cgroupMsg:
			p.t.step("init start-up")
			if err := mgr.Apply(p.pid); err != nil {
				return err
			}
			p.t.step("cgroup join")
			FaultPoint(ic.Mode + ":cgroup-joined")
			if rec != nil {
				if err := rec.veth(ic.Config); err != nil {
					return err
				}
				if err := setupNetwork(p.pid, ic.Config); err != nil {
					return err
				}
				p.t.step("network")
				FaultPoint("init:network")
			}
			reply = cgroupDoneMsg{}
		case hooksMsg:
			if err := runHooks("prestart", hooks.Prestart, ic.HookState); err != nil {
				return err
			}
			if err := runHooks("createRuntime", hooks.CreateRuntime, ic.HookState); err != nil {
				return err
			}
			p.t.step("prestart, createRuntime hooks")
			FaultPoint("init:hooks")
			reply = hooksDoneMsg{}
		case readyMsg:
			p.t.step("init setup")
			FaultPoint(ic.Mode + ":ready")
			if ic.StartFd < 0 {
				err := waitExeced(p)
				p.t.step("exec")
				return err
			}
			return nil
		case errorMsg:
			return p.initErr(m.Err)
		default:
			return fmt.Errorf("unexpected message %q from init", m.kind())
		}
		if err := p.sock.send(reply); err != nil {
			return err
		}
	}
}

// newBootstrap says which namespaces the C stage joins and creates.
func newBootstrap(cfg *configs.Config) *bootstrap {
	b := &bootstrap{OomScoreAdj: cfg.Process.OomScoreAdj, UIDMaps: cfg.UIDMappings, GIDMaps: cfg.GIDMappings,
		Rootless: os.Geteuid() != 0}
	for _, n := range cfg.Namespaces {
		if n.Path != "" {
			b.Join = append(b.Join, n)
		} else {
			b.Clone |= int(n.Type.CloneFlag())
		}
	}
	if b.Clone&unix.CLONE_NEWTIME != 0 {
		for clock, off := range cfg.TimeOffsets {
			b.TimeOffsets += fmt.Sprintf("%s %d %d\n", clock, off.Secs, off.Nanosecs)
		}
	}
	return b
}

func hasUserNS(cfg *configs.Config) bool {
	_, ok := cfg.Namespace(configs.NEWUSER)
	return ok
}

func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return os.Rename(tmp, path)
}

func owner() string {
	if os.Geteuid() == 0 {
		return ""
	}
	if u, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}
