package libcontainer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// RunningInUserNS reports whether this process is in a user namespace
// other than the initial one (whose uid_map is the identity of all ids).
// tekapo running as "root" there (a container inside a container) has no
// host privileges: cgroups it cannot write are treated as when rootless.
func RunningInUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// hostRoot is the host uid and gid of root in the container's new user
// namespace; ok is false when the container has none or 0 is unmapped.
func hostRoot(cfg *configs.Config) (uid, gid int, ok bool) {
	if !cfg.HasNew(configs.NEWUSER) {
		return 0, 0, false
	}
	u, uok := hostID(cfg.UIDMappings, 0)
	g, gok := hostID(cfg.GIDMappings, 0)
	return u, g, uok && gok
}

func hostID(maps []configs.IDMap, id uint32) (int, bool) {
	for _, m := range maps {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return int(m.HostID + id - m.ContainerID), true
		}
	}
	return 0, false
}

// delegateCgroup hands the container's own cgroup v2 directory to root of
// its user namespace, as systemd delegates one to a user: the directory
// and the files /sys/kernel/cgroup/delegate lists are chowned, so a
// process inside can create and manage sub-cgroups. Only on a pure v2
// host, for a container with a new user namespace, and when tekapo is
// root (a rootless caller could not chown).
func delegateCgroup(cfg *configs.Config, mgr cgroups.Manager) error {
	uid, gid, ok := hostRoot(cfg)
	paths := mgr.Paths()
	dir, v2 := paths[""]
	if !ok || !v2 || len(paths) != 1 || os.Geteuid() != 0 || cfg.Rootless {
		return nil
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("delegate cgroup %s: %w", dir, err)
	}
	files, err := delegateFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		err := os.Chown(filepath.Join(dir, f), uid, gid)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delegate cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// delegateFiles are the cgroup files a delegatee owns, from the kernel's
// list (cgroup.procs, cgroup.subtree_control, cgroup.threads, ...).
func delegateFiles() ([]string, error) {
	f, err := os.Open("/sys/kernel/cgroup/delegate")
	if errors.Is(err, os.ErrNotExist) {
		return []string{"cgroup.procs", "cgroup.subtree_control", "cgroup.threads"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cgroup delegate list: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			out = append(out, name)
		}
	}
	return out, sc.Err()
}
