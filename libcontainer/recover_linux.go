package libcontainer

// Undoing a container from its Identity: the normal delete, a failed
// create, and `delete --force` of a container whose state.json is missing
// or damaged all go through undo, which works only from what was recorded
// before each side effect (see Create).

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// killWait bounds how long undo waits for the container's processes to go.
const killWait = 10 * time.Second

// DeleteByID is `delete`: it loads the container and deletes it. With
// force, a container that does not exist is not an error (current runc),
// and one whose state is damaged is undone from its identity, with a
// warning saying what was wrong.
func DeleteByID(root, id string, force bool) error {
	dir, err := openStateDir(root, id)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	defer dir.unlock()
	st, err := dir.load()
	if err == nil {
		c := &Container{Root: root, state: st, dir: dir}
		return c.Delete(force)
	}
	if !force {
		return err
	}
	what := err.Error()
	var se *StateError
	if errors.As(err, &se) {
		what = fmt.Sprintf("container %q: %s", id, se.Problem)
	}
	id2 := dir.loadIdentity()
	if id2 == nil {
		warnf("%s: nothing of it was recorded: removing its state dir only", what)
	} else {
		warnf("%s: removing what its record names (processes, cgroups, veth, dirs); its poststop hooks cannot run", what)
	}
	var m cgroups.Manager
	if id2 != nil && id2.CgroupPath != "" {
		m, _ = cgroups.New(&configs.Cgroup{Path: id2.CgroupPath, Rootless: id2.CgroupRootless})
		if m != nil {
			m.SetCreated(id2.CgroupCreated)
		}
	}
	if id2 == nil {
		id2 = &Identity{ID: id}
	}
	uerr := undo(id2, m)
	if rerr := dir.remove(); uerr == nil {
		uerr = rerr
	}
	return uerr
}

// undo kills every process it can identify (the cgroup's, and init if its
// pid and start time match), then removes the cgroup dirs tekapo made, the
// veth pair and the overlay dirs. m may be nil (no usable cgroup config).
func undo(id *Identity, m cgroups.Manager) error {
	if err := killAll(id, m); err != nil {
		warnf("%v", err)
	}
	FaultPoint("delete:killed")
	var err error
	if m != nil {
		err = m.Destroy()
	}
	if nerr := teardownVeth(id.HostVeth); err == nil {
		err = nerr
	}
	if oerr := removeOverlay(id.Overlay, id.OverlayKeep); err == nil {
		err = oerr
	}
	FaultPoint("delete:undone")
	return err
}

// initOf is init's pid when the recorded pid still names it (same start
// time), else 0.
func initOf(id *Identity) int {
	if id.InitPid <= 0 || id.InitStartTime == 0 {
		return 0
	}
	st, start, ok := procStat(id.InitPid)
	if !ok || st == 'Z' || st == 'X' || start != id.InitStartTime {
		return 0
	}
	return id.InitPid
}

// killAll SIGKILLs the container's processes until none is left (a fork
// racing the kill is caught on the next round), thawing a frozen cgroup
// so that they can die. It gives up after killWait, saying what is left.
func killAll(id *Identity, m cgroups.Manager) error {
	deadline := time.Now().Add(killWait)
	for round := 0; ; round++ {
		var pids []int
		if m != nil {
			pids, _ = m.GetPids()
		}
		if p := initOf(id); p > 0 {
			pids = append(pids, p)
		}
		live := pids[:0]
		for _, p := range pids {
			if pidAlive(p) {
				live = append(live, p)
			}
		}
		if len(live) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s: processes %v still alive %s after SIGKILL", id.ID, live, killWait)
		}
		for _, p := range live {
			unix.Kill(p, unix.SIGKILL) //nolint:errcheck // it may be gone already
		}
		if m != nil && round%10 == 0 {
			m.Thaw() //nolint:errcheck // a frozen process dies only when thawed
		}
		reap(live)
		time.Sleep(5 * time.Millisecond)
	}
}

// reap collects those of pids that are our children (run's init).
func reap(pids []int) {
	for _, p := range pids {
		var ws unix.WaitStatus
		unix.Wait4(p, &ws, unix.WNOHANG, nil) //nolint:errcheck
	}
}
