package cgroups

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tekapo/tekapo/libcontainer/configs"
)

// TestHierarchies: a hybrid host's Paths grouped by mount, co-mounted
// controllers together, the cgroup2 one as "".
func TestHierarchies(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	path := "/system.slice/tekapo-c1.scope"
	m := f.manager(t, &configs.Cgroup{Path: path})
	hs := Hierarchies(m.Paths(), path)
	got := map[string][]string{}
	for _, h := range hs {
		if h.Dir != filepath.Join(h.Mount, path) {
			t.Errorf("%+v: the directory is not the mount + the path", h)
		}
		rel, _ := filepath.Rel(f.p("sys/fs/cgroup"), h.Mount)
		got[rel] = h.Controllers
	}
	want := map[string][]string{
		"cpu": {"cpu"}, "cpuacct": {"cpuacct"}, "cpuset": {"cpuset"}, "memory": {"memory"}, "devices": {"devices"},
		"freezer": {"freezer"}, "blkio": {"blkio"}, "pids": {"pids"}, "systemd": {"name=systemd"},
		"net_cls,net_prio": {"net_cls", "net_prio"}, "unified": {""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for i := 1; i < len(hs); i++ {
		if hs[i-1].Dir >= hs[i].Dir {
			t.Errorf("not sorted by directory: %s, %s", hs[i-1].Dir, hs[i].Dir)
		}
	}
	if hs := Hierarchies(map[string]string{"memory": "/elsewhere"}, path); len(hs) != 0 {
		t.Errorf("a directory that is not for the path: %v", hs)
	}
}
