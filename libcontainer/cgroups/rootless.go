package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tekapo/tekapo/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// rootlessManager is used for a rootless container. Without limits it does
// its best and never fails the container because cgroups are not
// delegated; with limits New already checked the cgroups are writable.
type rootlessManager struct {
	*manager
}

// newRootless checks that a rootless container asking for limits can write
// its cgroups (delegated to the user); without limits anything goes.
func newRootless(m *manager) (Manager, error) {
	limits := LimitsRequested(m.cfg.Resources)
	if len(limits) == 0 {
		return &rootlessManager{m}, nil
	}
	for _, h := range m.hierarchies() {
		if !writableAncestor(h.root, h.dir) {
			return nil, fmt.Errorf("rootless container asks for %s but cgroup %s is not writable (not delegated to this user)", limits[0], h.dir)
		}
	}
	return m, nil
}

// writableAncestor reports whether dir, or its nearest existing ancestor
// below root, is writable by the caller.
func writableAncestor(root, dir string) bool {
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			return unix.Access(p, unix.W_OK) == nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return false
		}
		if p == root || p == "/" {
			return false
		}
	}
}

// Create makes the directories it can; errors are ignored. This manager
// serves only configs without limits, so it applies no resources (device
// rules, a v2 eBPF program, cannot be loaded from a user namespace, and
// the container's devices are bind-mounted from the host anyway) and
// enables no v2 controllers: in a delegated cgroup that still holds
// processes (a container inside a container) that would make the new
// child an invalid domain that accepts no process.
func (r *rootlessManager) Create() error {
	for _, h := range r.hierarchies() {
		made, err := mkdirAll(h.root, h.dir)
		for _, d := range made {
			r.created = appendUnique(r.created, d)
		}
		if err != nil || r.isV2() {
			continue
		}
		_ = r.prepare(h)
	}
	return nil
}

// Apply moves pid where it can; permission errors are ignored.
func (r *rootlessManager) Apply(pid int) error {
	_ = r.manager.Apply(pid)
	return nil
}

// Destroy removes what it can.
func (r *rootlessManager) Destroy() error {
	_ = r.manager.Destroy()
	return nil
}

// Set refuses limits: this container's cgroups are not delegated.
func (r *rootlessManager) Set(cfg *configs.Cgroup) error {
	if cfg != nil {
		if l := LimitsRequested(cfg.Resources); len(l) > 0 {
			return fmt.Errorf("rootless container cannot set %s: cgroups are not delegated to this user", l[0])
		}
	}
	return nil
}
