package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// manager is the cgroupfs manager for every layout.
type manager struct {
	cfg  *configs.Cgroup
	h    *hierarchies
	ops  fsOps
	path string // cleaned absolute cgroup path ("/tekapo/ID")
	// created are the directories this container's Create made, outermost
	// first (recorded in the container's state, given back by SetCreated):
	// Destroy removes exactly these, never a parent someone else made.
	created []string
}

// New builds the manager for cfg on this host. It only reads the mount
// table: it creates nothing, so later commands can rebuild it freely.
func New(cfg *configs.Cgroup) (Manager, error) {
	if cfg != nil && cfg.Systemd {
		return newSystemd(cfg) // driver.go
	}
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	h, err := detectHierarchies()
	if err != nil {
		return nil, err
	}
	return newManager(cfg, h, fsOps{})
}

func checkConfig(cfg *configs.Cgroup) error {
	if cfg == nil {
		return errors.New("cgroup config is missing")
	}
	if cfg.Systemd {
		return errors.New("a systemd cgroup config needs the systemd driver (cgroups.New)")
	}
	if !filepath.IsAbs(cfg.Path) {
		return fmt.Errorf("cgroup path %q must be absolute", cfg.Path)
	}
	for _, part := range strings.Split(cfg.Path, "/") {
		if part == ".." {
			return fmt.Errorf("cgroup path %q must not contain \"..\"", cfg.Path)
		}
	}
	if filepath.Clean(cfg.Path) == "/" {
		return fmt.Errorf("cgroup path %q is the root cgroup", cfg.Path)
	}
	return nil
}

// newManager is New with an explicit mount table and file access (unit
// tests pass a fake root).
func newManager(cfg *configs.Cgroup, h *hierarchies, ops fsOps) (Manager, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	if h.layout == LayoutNone {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	m := &manager{cfg: cfg, h: h, ops: ops, path: filepath.Clean(cfg.Path)}
	if cfg.Rootless {
		return newRootless(m)
	}
	return m, nil
}

// isV2 is true when limits go to the unified hierarchy.
func (m *manager) isV2() bool { return m.h.layout == LayoutV2 }

// hierarchy is one mount the container has a directory in.
type hierarchy struct {
	root string // mount point
	dir  string // container directory
}

// hierarchies lists every mount the container lives in: each v1 mount
// (named ones included) and the unified mount on hybrid and v2 hosts.
func (m *manager) hierarchies() []hierarchy {
	var out []hierarchy
	if !m.isV2() {
		for _, mnt := range m.h.v1Mounts() {
			out = append(out, hierarchy{mnt, filepath.Join(mnt, m.path)})
		}
	}
	if m.h.unified != "" {
		out = append(out, hierarchy{m.h.unified, filepath.Join(m.h.unified, m.path)})
	}
	return out
}

// Paths implements Manager.
func (m *manager) Paths() map[string]string {
	out := map[string]string{}
	if !m.isV2() {
		for c, mnt := range m.h.v1 {
			out[c] = filepath.Join(mnt, m.path)
		}
	}
	if m.h.unified != "" {
		out[""] = filepath.Join(m.h.unified, m.path)
	}
	return out
}

// dirFor is the container directory holding ctrl's files.
func (m *manager) dirFor(ctrl string) string {
	if m.isV2() {
		return filepath.Join(m.h.unified, m.path)
	}
	return filepath.Join(m.h.v1[ctrl], m.path)
}

// hasController reports whether limits of ctrl can be set.
func (m *manager) hasController(ctrl string) bool {
	if m.isV2() {
		return ctrl == "" || containsWord(m.v2RootControllers(), ctrl)
	}
	_, ok := m.h.v1[ctrl]
	return ok
}

func (m *manager) v2RootControllers() []string {
	s, _ := readFile(m.h.unified, "cgroup.controllers")
	return strings.Fields(s)
}

func containsWord(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

// Apply implements Manager: pid goes into cgroup.procs of every hierarchy.
// A pid <= 0 moves nothing.
func (m *manager) Apply(pid int) error {
	if pid <= 0 {
		return nil
	}
	for _, h := range m.hierarchies() {
		if err := m.ops.writeFile(h.dir, "cgroup.procs", fmt.Sprint(pid)); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s: %w", pid, h.dir, err)
		}
	}
	return nil
}

// Destroy implements Manager: it removes exactly the directories Create
// made (Created, or SetCreated by a later command), deepest first. A
// container's own directory goes with its sub-cgroups; a parent it made
// goes only when empty (a sibling container may still live there). A
// directory someone else made, above all a parent holding limits, stays.
func (m *manager) Destroy() error {
	leaf := map[string]bool{}
	for _, h := range m.hierarchies() {
		leaf[h.dir] = true
	}
	var first error
	for i := len(m.created) - 1; i >= 0; i-- {
		d := m.created[i]
		if !m.below(d) {
			continue // not a cgroup directory: never ours to remove
		}
		var err error
		if leaf[d] {
			err = m.ops.rmdirTree(d)
		} else {
			err = m.ops.rmdir(d)
			if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.ENOENT) {
				err = nil // still in use by a sibling, or gone
			} else if err != nil {
				err = fmt.Errorf("remove cgroup %s: %w", d, err)
			}
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// below reports whether d is a directory strictly below one of the
// container's hierarchy mounts and above or at its own directory.
func (m *manager) below(d string) bool {
	for _, h := range m.hierarchies() {
		if d == h.dir || (strings.HasPrefix(d, h.root+"/") && strings.HasPrefix(h.dir, d+"/")) {
			return true
		}
	}
	return false
}

// Created implements Manager.
func (m *manager) Created() []string { return append([]string(nil), m.created...) }

// SetCreated implements Manager.
func (m *manager) SetCreated(dirs []string) { m.created = append([]string(nil), dirs...) }

// Missing implements Manager: the directories Create would make now, on
// every hierarchy, outermost first.
func (m *manager) Missing() []string {
	var out []string
	for _, h := range m.hierarchies() {
		rel, err := filepath.Rel(h.root, h.dir)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		cur := h.root
		for _, part := range strings.Split(rel, "/") {
			cur = filepath.Join(cur, part)
			if !exists(cur) {
				out = append(out, cur)
			}
		}
	}
	return out
}
