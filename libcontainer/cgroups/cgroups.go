// Package cgroups is tekapo's own cgroup manager for v1, hybrid and v2 hosts.
//
// CONTRACT used by the rest of tekapo (keep these signatures):
//
//	m, err := cgroups.New(cfg)   // cfg.Path is absolute, e.g. "/tekapo/ID"
//	err = m.Create()             // make the directories and write every limit
//	err = m.Apply(pid)           // move pid (all its threads) into every hierarchy
//	err = m.Set(resources)       // update limits of a live container
//	m.Freeze(); m.Thaw(); m.FreezerState()
//	pids, err := m.GetPids()     // every process in the container's cgroup (recursive)
//	st, err := m.Stats()
//	err = m.Destroy()            // remove exactly the directories it created (SetCreated)
//
// A Manager is rebuilt from the same Config by later commands (state, kill,
// delete), so New must not touch the filesystem beyond detecting the layout.
//
// Decisions (see the tests for the exact files written):
//   - Layout: v1 (v1 controllers only), hybrid (v1 controllers + a cgroup2
//     mount, e.g. /sys/fs/cgroup/unified) or v2 (cgroup2 only). On hybrid
//     hosts every limit goes to the v1 controllers; the container also gets
//     a directory (and its processes) in the unified hierarchy.
//   - A limit this host cannot apply (e.g. hugepageLimits when hugetlb is
//     only on the v2 side of a hybrid host) fails Create with a one-line
//     error naming the OCI field; Create then removes what it made.
//   - memory.kernel is ignored (deprecated since Linux 5.4, as runc >= 1.2);
//     memory.kernelTCP is written on v1 when the kernel has the file, else
//     ignored. swappiness and disableOOMKiller are v1-only and ignored on v2
//     (as runc). realtime*, blockIO leafWeight and network fail on v2;
//     unified fails on v1/hybrid.
//   - Devices: v1 writes "a" to devices.deny then each rule in order (an
//     update of a deny-all + allows list writes only the difference per
//     device: devices_v1_transition.go); v2
//     attaches an eBPF program (package devices) whose logic is the pure-Go
//     devices.Allowed: last matching rule wins, default deny.
//   - Rootless without limits: Create/Apply/Destroy never fail; with limits,
//     New fails unless the cgroups are writable (delegated).
//   - The systemd driver (--systemd-cgroup) is package cgroups/systemd,
//     selected in New (driver.go); it uses this manager for the files.
package cgroups

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// FreezerState is the state of a container's freezer.
type FreezerState string

// Freezer states.
const (
	Thawed FreezerState = "THAWED"
	Frozen FreezerState = "FROZEN"
)

// Manager manages one container's cgroup on every hierarchy.
type Manager interface {
	Create() error
	Apply(pid int) error
	Set(cfg *configs.Cgroup) error
	Freeze() error
	Thaw() error
	FreezerState() (FreezerState, error)
	GetPids() ([]int, error)
	Stats() (*Stats, error)
	// Destroy removes exactly the directories Create made (see Created).
	Destroy() error
	// Missing lists the directories Create would make now, outermost
	// first: the caller records them before Create makes them.
	Missing() []string
	// Created lists the directories Create made; SetCreated gives them
	// to a manager rebuilt by a later command, for Destroy.
	Created() []string
	SetCreated(dirs []string)
	// CheckUsable refuses, as runc does, a pre-existing cgroup that holds
	// processes or is frozen (init would hang joining it).
	CheckUsable() error
	// Paths maps a controller name ("memory", ..., "" for the v2 unified
	// hierarchy) to the container's directory for it.
	Paths() map[string]string
	// OOMKillCount is how many processes of the container the OOM killer killed.
	OOMKillCount() (uint64, error)
}

// MountNames maps each hierarchy of paths (Manager.Paths) to the name of
// its directory under a "cgroup" mount inside a container: the
// controller(s) as mounted, a named hierarchy's name, "unified" for the
// cgroup2 one.
func MountNames(paths map[string]string) map[string]string {
	out := map[string]string{}
	for ctrl, dir := range paths {
		name := ctrl
		switch {
		case ctrl == "":
			name = "unified"
		case strings.HasPrefix(ctrl, "name="):
			name = ctrl[len("name="):]
		}
		out[name] = dir
	}
	return out
}

// PureV2 reports whether named (MountNames) is the one cgroup2 hierarchy
// of a pure cgroup v2 host, and gives its directory.
func PureV2(named map[string]string) (string, bool) {
	dir, ok := named["unified"]
	return dir, ok && len(named) == 1
}

// Hierarchy is one mounted hierarchy a container's cgroup has a directory in.
type Hierarchy struct {
	Mount string // its mount point ("/sys/fs/cgroup/cpu,cpuacct")
	Dir   string // the container's directory in it (Mount + the cgroup path)
	// Controllers are the Paths keys it serves, sorted ("cpu", "cpuacct";
	// "name=systemd"; "" for cgroup2).
	Controllers []string
}

// Hierarchies groups paths (Manager.Paths, made for the cgroup path path)
// by hierarchy, sorted by directory: co-mounted controllers share one.
func Hierarchies(paths map[string]string, path string) []Hierarchy {
	path = filepath.Clean("/" + path)
	byDir := map[string]*Hierarchy{}
	var out []Hierarchy
	for ctrl, dir := range paths {
		mnt, ok := strings.CutSuffix(dir, path)
		if !ok || mnt == "" || path == "/" {
			continue // not <mount>/<path>
		}
		h := byDir[dir]
		if h == nil {
			h = &Hierarchy{Mount: mnt, Dir: dir}
			byDir[dir] = h
		}
		h.Controllers = append(h.Controllers, ctrl)
	}
	for _, h := range byDir {
		sort.Strings(h.Controllers)
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}
