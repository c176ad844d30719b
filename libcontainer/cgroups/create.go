package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tekapo/tekapo/libcontainer/cgroups/devices"
	"github.com/tekapo/tekapo/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// Create implements Manager: directories on every hierarchy, then every
// limit. On failure whatever Create made is removed again.
func (m *manager) Create() error {
	ws, err := m.plan(m.cfg.Resources)
	if err != nil {
		return err
	}
	var created []hierarchyDir
	err = m.makeDirs(&created)
	if err == nil {
		err = m.apply(ws, m.cfg.Resources)
	}
	for _, c := range created {
		m.created = appendUnique(m.created, c.dir)
	}
	if err != nil {
		m.undo(created)
		m.created = nil
		return err
	}
	return nil
}

// hierarchyDir is a directory Create made, with the mount it is in.
type hierarchyDir struct{ root, dir string }

func (m *manager) makeDirs(created *[]hierarchyDir) error {
	for _, h := range m.hierarchies() {
		var err error
		// A concurrent Destroy under the same parent may remove a level
		// while it is being prepared: start over on ENOENT.
		for attempt := 0; attempt < 5; attempt++ {
			var made []string
			made, err = mkdirAll(h.root, h.dir)
			for _, d := range made {
				*created = append(*created, hierarchyDir{h.root, d})
			}
			if err == nil {
				err = m.prepare(h)
			}
			if !errors.Is(err, unix.ENOENT) {
				break
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// prepare readies a new directory: cpuset values on v1, controllers on v2.
func (m *manager) prepare(h hierarchy) error {
	switch {
	case m.isV2():
		return m.enableControllers(h)
	case h.root == m.h.v1["cpuset"]:
		return m.fillCpuset(h)
	}
	return nil
}

// fillCpuset copies the parent's cpus/mems into every empty level: a v1
// cpuset with empty values accepts no task.
func (m *manager) fillCpuset(h hierarchy) error {
	rel, _ := filepath.Rel(h.root, h.dir)
	cur := h.root
	for _, part := range strings.Split(rel, "/") {
		parent := cur
		cur = filepath.Join(cur, part)
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := readFile(cur, f)
			if err != nil && !m.ops.fake {
				return fmt.Errorf("read %s: %w", filepath.Join(cur, f), err)
			}
			if v != "" {
				continue
			}
			pv, err := readFile(parent, f)
			if err != nil {
				return fmt.Errorf("read %s: %w", filepath.Join(parent, f), err)
			}
			if err := m.ops.writeFile(cur, f, pv); err != nil {
				return fmt.Errorf("copy %s from parent: %w", f, err)
			}
		}
	}
	return nil
}

// enableControllers turns on, in each ancestor's cgroup.subtree_control,
// every controller the ancestor offers (as runc does). Only failures of
// controllers the limits need are errors. One already on is not written
// again: above a subtree delegated to a user (rootless, the user's
// systemd) the ancestors are root's, and on already.
func (m *manager) enableControllers(h hierarchy) error {
	needed := map[string]bool{}
	ws, _ := m.plan(m.cfg.Resources)
	for _, w := range ws {
		needed[w.ctrl] = true
	}
	rel, _ := filepath.Rel(h.root, h.dir)
	cur := h.root
	for _, part := range strings.Split(rel, "/") {
		avail, _ := readFile(cur, "cgroup.controllers")
		on, _ := readFile(cur, "cgroup.subtree_control")
		for _, c := range strings.Fields(avail) {
			if containsWord(strings.Fields(on), c) {
				continue
			}
			err := m.ops.writeFile(cur, "cgroup.subtree_control", "+"+c)
			if err != nil && needed[c] {
				return fmt.Errorf("enable controller %s in %s: %w", c, cur, err)
			}
		}
		cur = filepath.Join(cur, part)
	}
	return nil
}

// undo removes directories Create made, deepest first.
func (m *manager) undo(created []hierarchyDir) {
	for i := len(created) - 1; i >= 0; i-- {
		_ = m.ops.rmdirRetry(created[i].dir)
	}
}

// plan converts resources for this layout and checks the controllers.
func (m *manager) plan(r *specs.LinuxResources) ([]write, error) {
	var ws []write
	var err error
	if m.isV2() {
		ws, err = planV2(r)
	} else {
		ws, err = planV1(r)
	}
	if err != nil {
		return nil, err
	}
	if err := checkControllers(ws, m.hasController, m.h.layout); err != nil {
		return nil, err
	}
	if r != nil && len(r.Devices) > 0 {
		if _, err := devices.FromSpec(r.Devices); err != nil {
			return nil, err
		}
		if !m.isV2() && !m.hasController("devices") {
			return nil, fmt.Errorf("devices: cgroup controller \"devices\" is not available on this host (cgroup layout %s)", m.h.layout)
		}
		if m.isV2() && !m.ops.fake {
			if err := devices.Supported(); err != nil {
				return nil, fmt.Errorf("devices: %w", err)
			}
		}
	}
	return ws, nil
}

// apply writes limits, then device rules.
func (m *manager) apply(ws []write, r *specs.LinuxResources) error {
	if err := m.writeAll(ws); err != nil {
		return err
	}
	if r == nil || len(r.Devices) == 0 {
		return nil
	}
	rules, _ := devices.FromSpec(r.Devices)
	if m.isV2() {
		if m.ops.fake {
			return nil
		}
		if err := devices.Apply(m.dirFor(""), rules); err != nil {
			return fmt.Errorf("devices: %w", err)
		}
		return nil
	}
	return m.writeDevicesV1(rules)
}

// writeDevicesV1 denies everything, then replays the rules in order.
func (m *manager) writeDevicesV1(rules []devices.Rule) error {
	if err := m.ops.writeFile(m.dirFor("devices"), "devices.deny", "a"); err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	return m.writeRulesV1(rules)
}

func (m *manager) writeRulesV1(rules []devices.Rule) error {
	dir := m.dirFor("devices")
	for i, r := range rules {
		if err := m.ops.writeFile(dir, r.V1File(), r.V1Line()); err != nil {
			return fmt.Errorf("devices[%d]: %w", i, err)
		}
	}
	return nil
}

// writeAll writes in two passes: a write the kernel refuses because of
// ordering (memsw below the old limit, quota vs period) succeeds on retry.
func (m *manager) writeAll(ws []write) error {
	var failed []write
	for _, w := range ws {
		if err := m.writeOne(w); err != nil {
			failed = append(failed, w)
		}
	}
	for _, w := range failed {
		if err := m.writeOne(w); err != nil {
			return fmt.Errorf("%s: %w", w.field, err)
		}
	}
	return nil
}

func (m *manager) writeOne(w write) error {
	dir := m.dirFor(w.ctrl)
	file, value := w.file, w.value
	if w.alt != "" && !exists(filepath.Join(dir, file)) && exists(filepath.Join(dir, w.alt)) {
		file, value = w.alt, w.altValue
	}
	if w.optional && !m.ops.fake && !exists(filepath.Join(dir, file)) {
		return nil
	}
	err := m.ops.writeFile(dir, file, value)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is not supported by this kernel", file)
	}
	return err
}

// Set implements Manager: it rewrites every limit of a live container.
func (m *manager) Set(cfg *configs.Cgroup) error {
	if cfg == nil {
		return errors.New("cgroup config is missing")
	}
	ws, err := m.plan(cfg.Resources)
	if err != nil {
		return err
	}
	if err := m.checkBeforeUpdate(cfg.Resources); err != nil {
		return err
	}
	next := unchangedDevicesLeft(m.cfg.Resources, cfg.Resources)
	if t, ok := m.v1DeviceTransition(m.cfg.Resources, next); ok {
		if err := m.writeAll(ws); err != nil {
			return err
		}
		if err := m.writeRulesV1(t); err != nil {
			return err
		}
	} else if err := m.apply(ws, next); err != nil {
		return err
	}
	if cfg.Resources != nil {
		m.cfg.Resources = cfg.Resources
	}
	return nil
}

// checkBeforeUpdate refuses a memory limit below the current usage when
// memory.checkBeforeUpdate asks for it.
func (m *manager) checkBeforeUpdate(r *specs.LinuxResources) error {
	if r == nil || r.Memory == nil || r.Memory.CheckBeforeUpdate == nil || !*r.Memory.CheckBeforeUpdate {
		return nil
	}
	lim := r.Memory.Limit
	if lim == nil || *lim <= 0 {
		return nil
	}
	file := "memory.usage_in_bytes"
	if m.isV2() {
		file = "memory.current"
	}
	usage, err := readUint(m.dirFor("memory"), file)
	if err != nil {
		return fmt.Errorf("memory.checkBeforeUpdate: %w", err)
	}
	if uint64(*lim) < usage {
		return fmt.Errorf("memory.limit: %d is below the current usage %d (checkBeforeUpdate)", *lim, usage)
	}
	return nil
}

// unchangedDevicesLeft (parity): an update whose device rules are the
// ones in force does not rewrite them. On v1 a rewrite denies everything
// before it replays the rules, a window in which a running container's
// processes lose their devices; runc computes a minimal transition, and
// the minimal transition between equal rule sets is none.
func unchangedDevicesLeft(old, next *specs.LinuxResources) *specs.LinuxResources {
	if old == nil || next == nil || len(next.Devices) == 0 || !reflect.DeepEqual(old.Devices, next.Devices) {
		return next
	}
	r := *next
	r.Devices = nil
	return &r
}
