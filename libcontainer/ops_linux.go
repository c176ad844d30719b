package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// Load opens an existing container and locks it until Close. A damaged
// state is a *StateError saying what is wrong.
func Load(root, id string) (*Container, error) {
	dir, err := openStateDir(root, id)
	if err != nil {
		return nil, err
	}
	st, err := dir.load()
	if err != nil {
		dir.unlock()
		return nil, err
	}
	return &Container{Root: root, state: st, dir: dir}, nil
}

// Peek reads a container's state without taking its lock (state, list):
// state.json is replaced atomically, and a command holding the lock for
// long (create running hooks) must not block them.
func Peek(root, id string) (*Container, error) {
	dir, err := peekStateDir(root, id)
	if err != nil {
		return nil, err
	}
	st, err := dir.load()
	if err != nil {
		var se *StateError
		if errors.As(err, &se) && dir.lockedByOther() {
			// Being created (or deleted): nothing recorded yet, or gone.
			return &Container{Root: root, state: &State{Identity: Identity{ID: id}}, dir: dir, creating: true}, nil
		}
		return nil, err
	}
	return &Container{Root: root, state: st, dir: dir}, nil
}

// List returns the IDs of every container under root, sorted: every
// directory of a valid id, whatever the state of its state.json.
func List(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Close releases the container's lock.
func (c *Container) Close() { c.dir.unlock() }

// ID is the container's id.
func (c *Container) ID() string { return c.state.ID }

// InitPid is the pid of the container's init.
func (c *Container) InitPid() int { return c.state.InitPid }

// Config is the container's configuration (with any update applied). It
// is the container's own: callers read it and never change it.
func (c *Container) Config() *configs.Config { return c.state.Config }

// cgroup is the container's cgroup manager, made once per command (New
// reads the host's mount table).
func (c *Container) cgroup() (cgroups.Manager, error) {
	if c.mgr != nil {
		return c.mgr, nil
	}
	m, err := cgroups.New(c.state.Config.Cgroup)
	if err == nil {
		created := c.state.CgroupCreated
		if c.state.legacyLeaves {
			for _, d := range m.Paths() {
				created = append(created, d)
			}
		}
		m.SetCreated(created)
		c.mgr = m
	}
	return m, err
}

// Status works out the container's status from its init process, its exec
// start socket and its freezer.
func (c *Container) Status() Status {
	if c.creating || (!c.state.Ready && c.dir.lock == nil && c.dir.lockedByOther()) {
		return Creating
	}
	st, start, ok := procStat(c.state.InitPid)
	if !ok || st == 'Z' || st == 'X' || start != c.state.InitStartTime {
		return Stopped
	}
	if _, err := os.Stat(c.dir.startSock()); err == nil {
		return Created
	}
	if m, err := c.cgroup(); err == nil {
		if fs, err := m.FreezerState(); err == nil && fs == cgroups.Frozen {
			return Paused
		}
	}
	return Running
}

// OCIState is the runtime-spec state (plus runc's fields) of the container.
func (c *Container) OCIState() *OCIState {
	s := c.Status()
	pid := c.state.InitPid
	if s == Stopped {
		pid = 0
	}
	cfg := c.state.Config
	if cfg == nil { // being created: nothing recorded yet
		return &OCIState{Version: specs.Version, ID: c.state.ID, Status: string(s)}
	}
	return &OCIState{Version: specs.Version, ID: c.state.ID, Status: string(s), Pid: pid, Bundle: cfg.Bundle,
		Rootfs: cfg.Rootfs, Created: c.state.Created, Owner: c.state.Owner, Annotations: cfg.Annotations}
}

// OCIState is what `tekapo state` prints.
type OCIState struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// hookState is the state given to hooks: the caller knows the status.
func (c *Container) hookState(s Status) *specs.State {
	cfg := c.state.Config
	return &specs.State{Version: specs.Version, ID: c.state.ID, Status: specs.ContainerState(s),
		Pid: c.state.InitPid, Bundle: cfg.Bundle, Annotations: cfg.Annotations}
}

// Start lets a created container's init exec its process.
func (c *Container) Start() error {
	if s := c.Status(); s != Created {
		return fmt.Errorf("cannot start a container that is %s", s)
	}
	if !c.state.Ready {
		return fmt.Errorf("cannot start container %s: its creation was interrupted (delete it)", c.state.ID)
	}
	if err := signalStart(c.dir, c.state.InitPid); err != nil {
		return err
	}
	FaultPoint("start:signalled")
	os.Remove(c.dir.startSock())
	return c.poststart()
}

// poststart runs the poststart hooks; failures are logged, not fatal.
func (c *Container) poststart() error {
	if err := runHooks("poststart", c.state.Config.Hooks.Poststart, c.hookState(Running)); err != nil {
		warnf("%v", err)
	}
	return nil
}

// Signal sends sig to init, or with all to every process of the container.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	// Without a pid namespace of its own, the container's processes outlive
	// its init: SIGKILL goes to every one of them, also once init is gone
	// (as current runc; containerd's shim sends kill --all ID 9 when such an
	// init exits, and the container is not done until they are).
	if sig == unix.SIGKILL && !c.ownPidNS() {
		if err := c.signalAll(sig); err != nil {
			return fmt.Errorf("unable to kill all processes: %w", err)
		}
		return nil
	}
	s := c.Status()
	if s == Stopped {
		return ErrNotRunning
	}
	if !all {
		if err := unix.Kill(c.state.InitPid, sig); err != nil {
			// runc's words; ESRCH ("no such process") tells engines it exited
			return fmt.Errorf("unable to signal init: %w", err)
		}
		return nil
	}
	return c.signalAll(sig)
}

func (c *Container) signalAll(sig unix.Signal) error {
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	pids, err := m.GetPids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		unix.Kill(pid, sig) //nolint:errcheck // it may be gone already
	}
	if sig == unix.SIGKILL {
		m.Thaw() //nolint:errcheck // a frozen process dies only when thawed
	}
	return nil
}

// Delete removes a stopped container; with force it kills a live one first.
func (c *Container) Delete(force bool) error {
	if s := c.Status(); s != Stopped && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.state.ID, s)
	}
	return c.destroy()
}

// destroy kills what is left, undoes what the identity records, removes
// the state dir, then runs the poststop hooks.
func (c *Container) destroy() error {
	m, err := c.cgroup()
	if err != nil {
		m = nil
	}
	hs := c.hookState(Stopped)
	err = undo(&c.state.Identity, m)
	if rerr := c.dir.remove(); err == nil {
		err = rerr
	}
	if herr := runHooks("poststop", c.state.Config.Hooks.Poststop, hs); herr != nil {
		warnf("%v", herr)
	}
	return err
}

// Pids lists the container's processes.
func (c *Container) Pids() ([]int, error) {
	m, err := c.cgroup()
	if err != nil {
		return nil, err
	}
	return m.GetPids()
}

// Pause freezes every process of the container.
func (c *Container) Pause() error {
	if s := c.Status(); s != Running && s != Created {
		return ErrNotRunning
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	return m.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if s := c.Status(); s != Paused {
		return ErrNotPaused
	}
	m, err := c.cgroup()
	if err != nil {
		return err
	}
	return m.Thaw()
}

// warnf is where non-fatal problems go; the CLI points it at logrus.
var warnf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// SetWarn sets the function that reports non-fatal problems.
func SetWarn(f func(string, ...any)) { warnf = f }
