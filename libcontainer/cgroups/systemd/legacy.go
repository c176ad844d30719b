package systemd

// The driver on cgroup v1 and hybrid hosts (systemd's "legacy" and
// "hybrid" layouts), as runc's legacy manager (opencontainers/cgroups
// systemd/v1.go). The unit's cgroup is one directory per hierarchy,
// <mount>/<slice path>/<unit> (the cgroupfs manager's Paths), and systemd
// makes only some of them:
//
//	hierarchy                                      who makes the unit's directory (and its slices')
//	name=systemd, unified (hybrid), cpu, cpuacct,  systemd, when the unit starts (Delegate=yes realizes
//	  memory, blkio, pids, devices                   every controller it manages on v1)
//	cpuset, freezer, net_cls, net_prio, hugetlb,   tekapo, in Create (recorded first, as with cgroupfs);
//	  perf_event, rdma, misc, other named ones       removed by Destroy when empty
//
//	step           systemd                          cgroupfs (tekapo's own manager)
//	Create         connect, properties checked      the directories systemd does not make
//	Apply(init)    StartTransientUnit, job waited   every limit and device rule written, init in every hierarchy
//	Set (update)   the container frozen (freezer), SetUnitProperties, the device rules rewritten
//	               (systemd rewrites them on v1 when it applies a unit's properties), thawed;
//	               then every limit written
//	Destroy        StopUnit, ResetFailedUnit        the unit's directory in every hierarchy, then the
//	                                                slices tekapo made, if empty
//
// Properties systemd can express on v1 (runc's genV1ResourcesProperties):
//
//	OCI field            property              notes
//	memory.limit         MemoryLimit           -1 → infinity
//	cpu.shares           CPUShares
//	cpu.quota, period    CPUQuotaPerSecUSec,   as on v2 (quotaProps)
//	                     CPUQuotaPeriodUSec
//	cpu.cpus, cpu.mems   AllowedCPUs/…Nodes    systemd >= 244 (it cannot apply them on v1: the files do)
//	pids.limit           TasksMax              > 0, or -1 → infinity
//	blockIO.weight       BlockIOWeight
//	unified              refused               as the cgroupfs manager on v1
//	devices              DevicePolicy, DeviceAllow (devices.go, v1 rules)
//
// Rootless is refused, as runc: a user's systemd cannot delegate v1
// hierarchies.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// errRootlessV1 is runc's refusal.
var errRootlessV1 = errors.New("cannot use rootless systemd cgroups manager on cgroup v1")

// systemdV1 are the v1 hierarchies (Paths keys) systemd makes a unit's
// directories in.
var systemdV1 = map[string]bool{
	"": true, "name=systemd": true, "cpu": true, "cpuacct": true, "memory": true,
	"blkio": true, "pids": true, "devices": true,
}

// hier is one hierarchy the unit has a directory in.
type hier struct {
	root, dir string
	systemd   bool // systemd makes dir
}

// v1Hierarchies lists the unit's directory on each mounted hierarchy (the
// cgroupfs manager's layout); a hierarchy is systemd's if any of its
// controllers is.
func (m *manager) v1Hierarchies() []hier {
	var out []hier
	for _, h := range cgroups.Hierarchies(m.fs.Paths(), m.path) {
		x := hier{root: h.Mount, dir: h.Dir}
		for _, c := range h.Controllers {
			x.systemd = x.systemd || systemdV1[c]
		}
		out = append(out, x)
	}
	return out
}

// missingV1: the directories Create makes (tekapo's hierarchies),
// outermost first in each.
func (m *manager) missingV1() []string {
	var out []string
	for _, h := range m.v1Hierarchies() {
		if h.systemd {
			continue
		}
		var miss []string
		for dir := h.dir; dir != h.root && strings.HasPrefix(dir, h.root+"/") && !exists(dir); dir = filepath.Dir(dir) {
			miss = append([]string{dir}, miss...)
		}
		out = append(out, miss...)
	}
	return out
}

// createV1 makes the unit's directory in the hierarchies systemd leaves
// alone, recording each directory made.
func (m *manager) createV1() error {
	for _, h := range m.v1Hierarchies() {
		if h.systemd {
			continue
		}
		var err error
		// A sibling's Destroy may remove an empty slice between two mkdirs.
		for attempt := 0; attempt < 5; attempt++ {
			if err = m.mkdirUnder(h.root, h.dir); !errors.Is(err, os.ErrNotExist) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("systemd cgroup driver: %w", err)
		}
	}
	return nil
}

// setV1 applies an update's properties with the container frozen: on v1
// systemd applies a unit's properties by rewriting every attribute of its
// cgroup, device rules included (deny all, then its allow list), so the
// container could see a device refused; tekapo's exact rules are written
// back before it thaws (runc freezes likewise).
func (m *manager) setV1(c conn, ps []sddbus.Property) error {
	froze := false
	if _, ok := m.fs.Paths()["freezer"]; ok {
		st, err := m.fs.FreezerState()
		if err != nil {
			return err
		}
		if st == cgroups.Thawed {
			if err := m.fs.Freeze(); err != nil {
				m.fs.Thaw() //nolint:errcheck // freeze may have half worked
				return fmt.Errorf("freeze before systemd applies the update: %w", err)
			}
			froze = true
		}
	}
	err := setProps(c, m.unit.Name, ps)
	if err == nil {
		err = m.rewriteDevices()
	}
	if froze {
		if terr := m.fs.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

// rewriteDevices writes the container's device rules again (a manager of
// its own: the container's knows they are unchanged and would skip them).
func (m *manager) rewriteDevices() error {
	r := m.cfg.Resources
	if r == nil || len(r.Devices) == 0 {
		return nil
	}
	fs, err := newFS(&configs.Cgroup{Path: m.path})
	if err != nil {
		return err
	}
	if err := fs.Set(&configs.Cgroup{Path: m.path, Resources: &specs.LinuxResources{Devices: r.Devices}}); err != nil {
		return fmt.Errorf("device rules after systemd's update: %w", err)
	}
	return nil
}

// destroyV1: the unit's directory in every hierarchy (systemd removed its
// own when the unit stopped; the rest are tekapo's), then the slices
// tekapo made, each only if empty (a sibling may still use it).
func (m *manager) destroyV1() error {
	var first error
	for _, h := range m.v1Hierarchies() {
		if err := removeTree(h.dir); err != nil && first == nil {
			first = err
		}
	}
	for i := len(m.made) - 1; i >= 0; i-- {
		err := unix.Rmdir(m.made[i])
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EBUSY) &&
			!errors.Is(err, unix.ENOTEMPTY) && first == nil {
			first = fmt.Errorf("remove cgroup %s: %w", m.made[i], err)
		}
	}
	m.made = nil
	return first
}

// leftV1: a directory of the unit is still there.
func (m *manager) leftV1() bool {
	for _, h := range m.v1Hierarchies() {
		if exists(h.dir) {
			return true
		}
	}
	return false
}

// resourcePropsV1 translates r into the properties systemd has on v1.
func resourcePropsV1(r *specs.LinuxResources, ver int) ([]sddbus.Property, error) {
	if r == nil {
		return nil, nil
	}
	if len(r.Unified) > 0 {
		return nil, errors.New("unified: cgroup v2 resources need a pure cgroup v2 host")
	}
	var ps []sddbus.Property
	if m := r.Memory; m != nil && m.Limit != nil && *m.Limit != 0 {
		ps = append(ps, prop("MemoryLimit", limitValue(*m.Limit)))
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			ps = append(ps, prop("CPUShares", *c.Shares))
		}
		cp, err := cpuLimitProps(c, ver)
		if err != nil {
			return nil, err
		}
		ps = append(ps, cp...)
	}
	ps = append(ps, tasksMaxProps(r.Pids)...)
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		ps = append(ps, prop("BlockIOWeight", uint64(*b.Weight)))
	}
	return ps, nil
}
