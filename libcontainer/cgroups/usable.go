package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CheckUsable implements Manager, as current runc does before it creates
// anything: a container's cgroup that already holds processes is refused
// ("container's cgroup is not empty", runc >= 1.2; 1.1 only warned), and
// so is a frozen one, or one below a frozen parent (it would be born
// frozen): init would hang in D state joining it.
func (m *manager) CheckUsable() error {
	most := 0
	for _, h := range m.hierarchies() {
		if n := countProcs(h.dir); n > most {
			most = n
		}
	}
	if most > 0 {
		return fmt.Errorf("container's cgroup is not empty: %d process(es) found", most)
	}
	for _, h := range m.hierarchies() {
		dir, state := m.frozenLevel(h)
		if state != "" {
			return fmt.Errorf("container's cgroup unexpectedly frozen (%s is %s)", dir, state)
		}
	}
	return nil
}

// frozenLevel looks at the deepest existing level of h's path (the
// container's directory itself, or the parent it would be made in) and
// returns it with its freezer state when that is frozen or freezing.
func (m *manager) frozenLevel(h hierarchy) (string, string) {
	dir := h.dir
	for dir != h.root && !exists(dir) {
		dir = filepath.Dir(dir)
	}
	if dir == h.root || !strings.HasPrefix(dir, h.root+"/") {
		return "", "" // a hierarchy's root cannot be frozen
	}
	if h.root == m.h.unified || m.isV2() {
		if v, err := readFile(dir, "cgroup.freeze"); err == nil && v == "1" {
			return dir, "frozen (cgroup.freeze 1)"
		}
		if ev, err := readKeyValues(dir, "cgroup.events"); err == nil && ev["frozen"] == 1 {
			return dir, "frozen (cgroup.events frozen 1)"
		}
		return "", ""
	}
	if h.root != m.h.v1["freezer"] {
		return "", ""
	}
	if v, err := readFile(dir, "freezer.state"); err == nil && (v == string(Frozen) || v == "FREEZING") {
		return dir, v
	}
	return "", ""
}

// countProcs counts the processes in dir and its sub-cgroups (0 when it
// does not exist).
func countProcs(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error { //nolint:errcheck // best effort
		if err != nil || !d.IsDir() {
			return nil
		}
		s, err := readFile(p, "cgroup.procs")
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(s) {
			if _, err := strconv.Atoi(f); err == nil {
				n++
			}
		}
		return nil
	})
	return n
}
