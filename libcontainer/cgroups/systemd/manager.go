package systemd

// The systemd driver's Manager (cgroups.Manager), in the order libcontainer
// calls it:
//
//	step           systemd                                   cgroupfs (tekapo's own manager, on the unit's dir)
//	New            rootless: the user manager's ControlGroup -
//	Create         connect, version, properties checked      the unit's directory, so a user namespace's root can be given it
//	Apply(init)    StartTransientUnit (Delegate, Slice, PIDs, resources, devices), job waited for
//	                                                         every limit and the device program written (after systemd's own writes)
//	Apply(exec)    -                                         the pid joins the unit's cgroup
//	Set (update)   SetUnitProperties (runtime)               every limit rewritten
//	Freeze/Thaw    -                                         cgroup.freeze
//	Destroy        StopUnit (job waited for), ResetFailedUnit what is left of the unit's directory
//
// That is on pure cgroup v2; on v1 and hybrid hosts a unit spreads over
// the v1 hierarchies and the steps differ where legacy.go says.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

var _ conn = (*sddbus.Conn)(nil)

// Seams for the unit tests: the cgroup2 mount, its check, and the
// cgroupfs manager for the unit's directory.
var (
	cgroupRoot = "/sys/fs/cgroup"
	isV2       = isCgroup2
	newFS      = cgroups.New
)

func init() { cgroups.RegisterSystemdDriver(New) }

type manager struct {
	cfg     *configs.Cgroup
	unit    Unit
	path    string // cgroup path of the unit from the cgroup2 root
	c       conn
	fs      cgroups.Manager
	created bool     // Create ran in this process: Apply starts the unit
	started bool     // Apply started the unit: its slices are systemd's now
	made    []string // directories Create made, removed by Destroy unless started
	// restored: made came from a later command's SetCreated
	restored bool
	v1       bool // a v1 or hybrid host (legacy.go)
}

// New builds the driver for cfg (cfg.Systemd, cfg.Path from
// ParseCgroupsPath + Unit.Path).
func New(cfg *configs.Cgroup) (cgroups.Manager, error) {
	u, err := UnitFromPath(cfg.Path)
	if err != nil {
		return nil, err
	}
	m := &manager{cfg: cfg, unit: u, path: filepath.Clean(cfg.Path), v1: !isV2(cgroupRoot)}
	if m.v1 && cfg.Rootless {
		return nil, errRootlessV1
	}
	if cfg.Rootless {
		if m.c, err = dial(true); err != nil {
			return nil, err
		}
		base, err := managerString(m.c, "ControlGroup")
		if err != nil {
			return nil, err
		}
		m.path = filepath.Join("/", base, m.path)
	}
	m.fs, err = newFS(&configs.Cgroup{Path: m.path, Resources: cfg.Resources, Rootless: cfg.Rootless})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

func (m *manager) conn() (conn, error) {
	if m.c == nil {
		c, err := dial(m.cfg.Rootless)
		if err != nil {
			return nil, err
		}
		m.c = c
	}
	return m.c, nil
}

func (m *manager) dir() string { return filepath.Join(cgroupRoot, m.path) }

// Create implements cgroups.Manager.
func (m *manager) Create() error {
	c, err := m.conn()
	if err != nil {
		return err
	}
	if _, err := m.properties(c, 0); err != nil {
		return err
	}
	m.created = true
	if m.v1 {
		return m.createV1()
	}
	// The unit's directory (and its slices') exists before systemd starts
	// the unit (systemd takes them as they are), so it can be handed to
	// the container's root now.
	if err := m.mkdirAll(m.dir()); err != nil {
		return fmt.Errorf("systemd cgroup driver: %w", err)
	}
	return nil
}

// mkdirAll makes dir and its missing parents under the cgroup root,
// recording what it made.
func (m *manager) mkdirAll(dir string) error { return m.mkdirUnder(cgroupRoot, dir) }

// mkdirUnder makes dir and its missing parents below root, recording
// what it made.
func (m *manager) mkdirUnder(root, dir string) error {
	if dir == root || !strings.HasPrefix(dir, root+"/") || exists(dir) {
		return nil
	}
	if err := m.mkdirUnder(root, filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	m.made = append(m.made, dir)
	return nil
}

// properties: what StartTransientUnit gets for pid.
func (m *manager) properties(c conn, pid int) ([]sddbus.Property, error) {
	r := m.cfg.Resources
	ps, err := startProps(m.unit, pid, r, m.v1)
	if err != nil {
		return nil, err
	}
	rs, err := m.resourceProps(r, version(c))
	if err != nil {
		return nil, err
	}
	ps = append(ps, rs...)
	if r != nil && !m.cfg.Rootless {
		ps = append(ps, deviceProps(r.Devices, procDevices, m.v1)...)
	}
	return ps, nil
}

func (m *manager) resourceProps(r *specs.LinuxResources, ver int) ([]sddbus.Property, error) {
	if m.v1 {
		return resourcePropsV1(r, ver)
	}
	return resourceProps(r, ver)
}

// Apply implements cgroups.Manager.
func (m *manager) Apply(pid int) error {
	if pid <= 0 {
		return nil
	}
	if m.created {
		c, err := m.conn()
		if err != nil {
			return err
		}
		ps, err := m.properties(c, pid)
		if err != nil {
			return err
		}
		if err := startUnit(c, m.unit.Name, ps); err != nil {
			return err
		}
		m.created, m.started = false, true
		// systemd has written its own view of the files: now every limit.
		if err := m.fs.Create(); err != nil {
			return err
		}
	}
	return m.fs.Apply(pid)
}

// Set implements cgroups.Manager: the unit's properties, then the files.
func (m *manager) Set(cfg *configs.Cgroup) error {
	if cfg == nil {
		return errors.New("cgroup config is missing")
	}
	c, err := m.conn()
	if err != nil {
		return err
	}
	ps, err := m.resourceProps(cfg.Resources, version(c))
	if err != nil {
		return err
	}
	if err := m.checkBeforeUpdate(cfg); err != nil {
		return err
	}
	if len(ps) > 0 {
		if m.v1 {
			err = m.setV1(c, ps)
		} else {
			err = setProps(c, m.unit.Name, ps)
		}
		if err != nil {
			return err
		}
	}
	next := *cfg
	next.Path, next.Systemd = m.path, false
	return m.fs.Set(&next)
}

// checkBeforeUpdate refuses a memory limit below the usage before systemd
// applies it (it would OOM-kill the container before the files refuse it).
func (m *manager) checkBeforeUpdate(cfg *configs.Cgroup) error {
	r := cfg.Resources
	if r == nil || r.Memory == nil || r.Memory.CheckBeforeUpdate == nil || !*r.Memory.CheckBeforeUpdate ||
		r.Memory.Limit == nil || *r.Memory.Limit <= 0 {
		return nil
	}
	st, err := m.fs.Stats()
	if err != nil {
		return fmt.Errorf("memory.checkBeforeUpdate: %w", err)
	}
	if usage := st.Memory.Usage.Usage; uint64(*r.Memory.Limit) < usage {
		return fmt.Errorf("memory.limit: %d is below the current usage %d (checkBeforeUpdate)", *r.Memory.Limit, usage)
	}
	return nil
}

// Destroy implements cgroups.Manager: the unit stops (systemd removes its
// cgroup), then whatever is left of the directory goes.
func (m *manager) Destroy() error {
	var first error
	if c, err := m.conn(); err != nil {
		first = err
	} else if err := stopUnit(c, m.unit.Name); err != nil {
		first = err
	}
	if m.v1 {
		if err := m.destroyV1(); err != nil && first == nil {
			first = err
		}
		if first != nil && !m.leftV1() {
			return nil
		}
		return first
	}
	if err := removeTree(m.dir()); err != nil && first == nil {
		first = err
	}
	if !m.started && !m.restored { // else the slices Create made are active slice units
		for i := len(m.made) - 1; i >= 0; i-- {
			os.Remove(m.made[i]) //nolint:errcheck // gone already, or in use
		}
	}
	m.made = nil
	if first != nil && !exists(m.dir()) {
		return nil // no systemd to ask, but nothing is left
	}
	return first
}

// Missing implements cgroups.Manager: the directories Create would make
// (the unit's and its missing slices'), outermost first.
func (m *manager) Missing() []string {
	if m.v1 {
		return m.missingV1()
	}
	var out []string
	for dir := m.dir(); dir != cgroupRoot && dir != "/" && !exists(dir); dir = filepath.Dir(dir) {
		out = append([]string{dir}, out...)
	}
	return out
}

// Created implements cgroups.Manager.
func (m *manager) Created() []string { return m.made }

// SetCreated implements cgroups.Manager. A later command's Destroy leaves
// the slices to systemd all the same (they may be active slice units by
// then, systemd removes them when they empty); the unit's own directory
// goes with the unit.
func (m *manager) SetCreated(dirs []string) { m.made, m.restored = dirs, true }

// CheckUsable implements cgroups.Manager: the unit's directory, if it is
// there already, must be empty and not frozen.
func (m *manager) CheckUsable() error { return m.fs.CheckUsable() }

// removeTree removes dir and the sub-cgroups under it, deepest first.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for i := 0; ; i++ {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || i == 50 {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// The rest is the cgroupfs manager's, on the unit's directory.

func (m *manager) Freeze() error                               { return m.fs.Freeze() }
func (m *manager) Thaw() error                                 { return m.fs.Thaw() }
func (m *manager) FreezerState() (cgroups.FreezerState, error) { return m.fs.FreezerState() }
func (m *manager) GetPids() ([]int, error)                     { return m.fs.GetPids() }
func (m *manager) Stats() (*cgroups.Stats, error)              { return m.fs.Stats() }
func (m *manager) Paths() map[string]string                    { return m.fs.Paths() }
func (m *manager) OOMKillCount() (uint64, error)               { return m.fs.OOMKillCount() }
