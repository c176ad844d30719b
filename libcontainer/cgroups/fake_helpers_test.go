package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

const v1Mountinfo = `25 30 0:22 / /sys rw - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
42 31 0:39 / /sys/fs/cgroup/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio
`

const hybridExtra = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

// vmHybridExtra: the VM lane's hybrid layout (tests/v2vm --cgroup hybrid), where
// hugetlb is a v1 hierarchy too and cgroup2 has no controller left.
const vmHybridExtra = "43 31 0:40 / /sys/fs/cgroup/hugetlb rw,relatime - cgroup cgroup rw,hugetlb\n" + hybridExtra

const v2Mountinfo = `25 30 0:22 / /sys rw - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
`

// fakeHost builds a fake cgroup root for layout "v1", "hybrid", "vm-hybrid" or "v2".
type fakeHost struct {
	root string
	h    *hierarchies
	log  []string
}

func newFakeHost(t *testing.T, layout string) *fakeHost {
	t.Helper()
	mi := v1Mountinfo
	switch layout {
	case "hybrid":
		mi += hybridExtra
	case "vm-hybrid":
		mi += vmHybridExtra
	case "v2":
		mi = v2Mountinfo
	}
	f := &fakeHost{root: t.TempDir()}
	h, err := parseMountinfo(strings.NewReader(mi), f.root)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	for _, m := range h.v1Mounts() {
		mustMkdir(t, m)
	}
	if h.unified != "" {
		mustMkdir(t, h.unified)
	}
	if c := h.v1["cpuset"]; c != "" {
		mustWrite(t, filepath.Join(c, "cpuset.cpus"), "0-3")
		mustWrite(t, filepath.Join(c, "cpuset.mems"), "0")
	}
	if layout == "v2" {
		mustWrite(t, filepath.Join(h.unified, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc")
	} else if layout == "hybrid" {
		mustWrite(t, filepath.Join(h.unified, "cgroup.controllers"), "hugetlb")
	} else if layout == "vm-hybrid" {
		mustWrite(t, filepath.Join(h.unified, "cgroup.controllers"), "")
	}
	return f
}

func (f *fakeHost) manager(t *testing.T, cfg *configs.Cgroup) *manager {
	t.Helper()
	m, err := newManager(cfg, f.h, fsOps{fake: true, log: &f.log})
	if err != nil {
		t.Fatal(err)
	}
	return m.(*manager)
}

func (f *fakeHost) p(parts ...string) string {
	return filepath.Join(append([]string{f.root}, parts...)...)
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, v string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readOr(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return strings.TrimSpace(string(b))
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }
func boolp(v bool) *bool   { return &v }
