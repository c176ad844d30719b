package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// GetPids implements Manager: every pid in the container's cgroup and its
// sub-cgroups. v1 reads the pids hierarchy, else freezer, else any.
func (m *manager) GetPids() ([]int, error) {
	dir := m.pidsDir()
	if dir == "" {
		return nil, errors.New("no cgroup hierarchy to list processes from")
	}
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p != dir {
				return nil // a sub-cgroup went away
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		s, err := readFile(p, "cgroup.procs")
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, f := range strings.Fields(s) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	return pids, nil
}

func (m *manager) pidsDir() string {
	if m.isV2() {
		return m.dirFor("")
	}
	for _, c := range []string{"pids", "freezer"} {
		if _, ok := m.h.v1[c]; ok {
			return m.dirFor(c)
		}
	}
	if mounts := m.h.v1Mounts(); len(mounts) > 0 {
		return filepath.Join(mounts[0], m.path)
	}
	if m.h.unified != "" {
		return m.dirFor("")
	}
	return ""
}
