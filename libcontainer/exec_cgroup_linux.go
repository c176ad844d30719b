package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
)

// ParseSubCgroups reads exec --cgroup arguments as current runc does:
// "[CONTROLLER[,CONTROLLER]:]PATH", a PATH without controllers being for
// every controller (the only form on cgroup v2). PATH is an existing
// sub-cgroup of the container's cgroup.
func ParseSubCgroups(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, a := range args {
		ctrls, path, hasCtrl := strings.Cut(a, ":")
		if !hasCtrl {
			ctrls, path = "", a
		}
		clean := filepath.Clean(strings.TrimPrefix(path, "/"))
		if path == "" || !filepath.IsLocal(clean) {
			return nil, fmt.Errorf("invalid --cgroup argument %q: want [controller:]path, path inside the container's cgroup", a)
		}
		for _, c := range strings.Split(ctrls, ",") {
			if hasCtrl && c == "" {
				return nil, fmt.Errorf("invalid --cgroup argument %q (empty controller)", a)
			}
			if _, dup := out[c]; dup {
				return nil, fmt.Errorf("invalid --cgroup argument(s): %q given more than once", c)
			}
			out[c] = clean
		}
	}
	return out, nil
}

// subCgroupManager puts an exec'd process into sub-cgroups of the
// container's (exec --cgroup) after the container's own Apply.
type subCgroupManager struct {
	cgroups.Manager
	sub map[string]string
}

func (m subCgroupManager) Apply(pid int) error {
	if err := m.Manager.Apply(pid); err != nil {
		return err
	}
	paths := m.Paths()
	v1 := false
	for c := range paths {
		v1 = v1 || c != ""
	}
	dirs := map[string]string{} // cgroup dir -> the argument it comes from
	for ctrl, sub := range m.sub {
		switch {
		case ctrl == "" && !v1:
			dirs[filepath.Join(paths[""], sub)] = sub
		case ctrl == "":
			for c, p := range paths {
				if c != "" {
					dirs[filepath.Join(p, sub)] = sub
				}
			}
		case !v1:
			return fmt.Errorf("exec --cgroup %s:%s: cgroup v2 has no per-controller paths (give the path alone)", ctrl, sub)
		default:
			p, ok := paths[ctrl]
			if !ok {
				return fmt.Errorf("exec --cgroup %s:%s: no %s controller for this container", ctrl, sub, ctrl)
			}
			dirs[filepath.Join(p, sub)] = ctrl + ":" + sub
		}
	}
	keys := make([]string, 0, len(dirs))
	for d := range dirs {
		keys = append(keys, d)
	}
	sort.Strings(keys)
	for _, d := range keys {
		// cgroupfs has no symlinks: the joined path stays in the hierarchy.
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("exec --cgroup %s: %w (the sub-cgroup must exist)", dirs[d], err)
		}
	}
	return nil
}
