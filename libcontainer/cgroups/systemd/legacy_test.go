package systemd

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tekapo/tekapo/libcontainer/cgroups"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// v1Mounts are a hybrid host's hierarchies (systemd's layout), by Paths key.
var v1Mounts = map[string]string{
	"": "unified", "name=systemd": "systemd", "cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct",
	"memory": "memory", "pids": "pids", "devices": "devices", "blkio": "blkio",
	"cpuset": "cpuset", "freezer": "freezer", "net_cls": "net_cls,net_prio", "net_prio": "net_cls,net_prio",
	"hugetlb": "hugetlb",
}

// fakeSystemdV1 is fakeSystemd on a hybrid host: the cgroupfs stand-in's
// Paths are <root>/<mount>/<unit path>, every mount point exists. It
// returns the fake bus, the root and the cgroupfs stand-ins made so far.
func fakeSystemdV1(t *testing.T) (*fakeConn, string, *[]*fakeFS) {
	t.Helper()
	f, root := fakeSystemd(t)
	isV2 = func(string) bool { return false }
	for _, mnt := range v1Mounts {
		if err := os.MkdirAll(filepath.Join(root, mnt), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var made []*fakeFS
	newFS = func(c *configs.Cgroup) (cgroups.Manager, error) {
		paths := map[string]string{}
		for k, mnt := range v1Mounts {
			paths[k] = filepath.Join(root, mnt, c.Path)
		}
		m := &fakeFS{f: f, cfg: c, paths: paths}
		made = append(made, m)
		return m, nil
	}
	return f, root, &made
}

// systemdStarts makes what systemd makes when the unit starts: the unit's
// directory (and its slices') in the hierarchies it manages.
func systemdStarts(t *testing.T, root, path string) {
	t.Helper()
	for k, mnt := range v1Mounts {
		if systemdV1[k] {
			if err := os.MkdirAll(filepath.Join(root, mnt, path), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// dirsUnder lists every directory below root (relative), sorted.
func dirsUnder(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error { //nolint:errcheck
		if err == nil && d.IsDir() && p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func tekapoDirs(root, path string) []string {
	var out []string
	for _, mnt := range []string{"cpuset", "freezer", "hugetlb", "net_cls,net_prio"} {
		out = append(out, filepath.Join(root, mnt, path))
	}
	return out
}

// TestV1CreateApply: Create records and makes the unit's directory (and
// its slices) only in the hierarchies systemd leaves alone; Apply starts
// the scope with the v1 properties, then the files are written.
func TestV1CreateApply(t *testing.T) {
	f, root, _ := fakeSystemdV1(t)
	m, err := New(newCfg(podScope))
	if err != nil {
		t.Fatal(err)
	}
	missing := m.Missing()
	// cpuset, freezer, hugetlb, net_cls,net_prio: the 3 slices and the scope each.
	if len(missing) != 16 {
		t.Errorf("Missing: %d dirs %v, want the scope and its 3 slices in 4 hierarchies", len(missing), missing)
	}
	for _, d := range missing {
		for k, mnt := range v1Mounts {
			if systemdV1[k] && strings.HasPrefix(d, filepath.Join(root, mnt)+"/") {
				t.Errorf("Missing lists %s: systemd makes that one", d)
			}
		}
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if got := m.Created(); !reflect.DeepEqual(got, missing) {
		t.Errorf("Created %v, want what Missing said %v", got, missing)
	}
	for _, d := range tekapoDirs(root, podScope) {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("Create did not make %s", d)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "memory", podScope)); err == nil {
		t.Error("Create made the memory hierarchy's directory (systemd's)")
	}
	if len(f.calls) != 0 {
		t.Errorf("Create called %v", f.calls)
	}
	if err := m.Apply(42); err != nil {
		t.Fatal(err)
	}
	want := []string{"StartTransientUnit cri-containerd-c1.scope replace", "fs.Create " + podScope, "fs.Apply 42"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
	got := propMap(f.started["cri-containerd-c1.scope"])
	for k, v := range map[string]any{
		"Slice": "kubepods-burstable-pod1.slice", "Delegate": true, "PIDs": []uint32{42},
		"MemoryLimit": uint64(64 << 20), "TasksMax": uint64(20), "BlockIOAccounting": true,
		"DevicePolicy": "strict", "DeviceAllow": []deviceAllow{{"/dev/char/1:3", "rwm"}},
	} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("property %s = %#v, want %#v", k, got[k], v)
		}
	}
	for _, k := range []string{"MemoryMax", "IOAccounting", "CPUWeight", "IOWeight"} {
		if _, ok := got[k]; ok {
			t.Errorf("v2 property %s sent on v1", k)
		}
	}
}

// TestV1Destroy: the unit stops, its directory goes from every hierarchy,
// the slices tekapo made go when empty, systemd's stay; a later command's
// manager (SetCreated) does the same.
func TestV1Destroy(t *testing.T) {
	for _, rebuilt := range []bool{false, true} {
		f, root, _ := fakeSystemdV1(t)
		m, _ := New(newCfg(podScope))
		if err := m.Create(); err != nil {
			t.Fatal(err)
		}
		systemdStarts(t, root, podScope)
		if err := m.Apply(42); err != nil {
			t.Fatal(err)
		}
		// A sub-cgroup the container made, and a sibling in the pod slice.
		os.MkdirAll(filepath.Join(root, "cpuset", podScope, "sub"), 0o755)               //nolint:errcheck
		os.MkdirAll(filepath.Join(root, "memory", podScope, "sub"), 0o755)               //nolint:errcheck
		sibling := filepath.Join(root, "freezer", filepath.Dir(podScope), "other.scope") // someone else's
		os.MkdirAll(sibling, 0o755)                                                      //nolint:errcheck
		if rebuilt {
			made := m.Created()
			m, _ = New(newCfg(podScope))
			m.SetCreated(made)
		}
		f.calls = nil
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		want := []string{"StopUnit cri-containerd-c1.scope replace", "ResetFailedUnit cri-containerd-c1.scope"}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("calls %v, want %v", f.calls, want)
		}
		for k, mnt := range v1Mounts {
			if _, err := os.Stat(filepath.Join(root, mnt, podScope)); err == nil {
				t.Errorf("rebuilt=%v: the unit's %s directory is left", rebuilt, k)
			}
		}
		// systemd's slices (it removes them when they stop), the sibling's
		// parents: left. tekapo's empty ones: gone.
		got := dirsUnder(t, root)
		var wantDirs []string
		for _, mnt := range []string{"blkio", "cpu,cpuacct", "devices", "memory", "pids", "systemd", "unified"} {
			for d := filepath.Dir(podScope); d != "/"; d = filepath.Dir(d) {
				wantDirs = append(wantDirs, filepath.Join(mnt, d))
			}
		}
		for d := filepath.Dir(sibling); d != filepath.Join(root, "freezer"); d = filepath.Dir(d) {
			rel, _ := filepath.Rel(root, d)
			wantDirs = append(wantDirs, rel)
		}
		rel, _ := filepath.Rel(root, sibling)
		wantDirs = append(wantDirs, rel, "cpu,cpuacct", "cpuset", "freezer", "hugetlb", "net_cls,net_prio")
		for k := range v1Mounts {
			if systemdV1[k] {
				wantDirs = append(wantDirs, v1Mounts[k])
			}
		}
		wantDirs = uniqSorted(wantDirs)
		if !reflect.DeepEqual(got, wantDirs) {
			t.Errorf("rebuilt=%v: left\n%v\nwant\n%v", rebuilt, got, wantDirs)
		}
	}
}

func uniqSorted(s []string) []string {
	sort.Strings(s)
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// TestV1SetFreezes: on v1 systemd rewrites the device files when it
// applies properties, so the container is frozen around it and its device
// rules are written again before it thaws; a paused container stays so.
func TestV1SetFreezes(t *testing.T) {
	for _, paused := range []bool{false, true} {
		f, _, fss := fakeSystemdV1(t)
		m, _ := New(newCfg(podScope))
		(*fss)[0].frozen = paused
		err := m.Set(&configs.Cgroup{Path: podScope, Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: i64(32 << 20)}, Pids: &specs.LinuxPids{Limit: i64(7)},
			CPU: &specs.LinuxCPU{Shares: u64(512), Quota: i64(20000), Period: u64(100000)}}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"fs.Freeze", "SetUnitProperties cri-containerd-c1.scope runtime=true",
			"fs.Set " + podScope + " devices=2", "fs.Thaw", "fs.Set " + podScope}
		if paused {
			want = []string{want[1], want[2], want[4]}
		}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("paused=%v: calls\n%v\nwant\n%v", paused, f.calls, want)
		}
		got := propMap(f.set["cri-containerd-c1.scope"])
		wantProps := map[string]any{"MemoryLimit": uint64(32 << 20), "TasksMax": uint64(7), "CPUShares": uint64(512),
			"CPUQuotaPerSecUSec": uint64(200000), "CPUQuotaPeriodUSec": uint64(100000)}
		if !reflect.DeepEqual(got, wantProps) {
			t.Errorf("properties %v, want %v", got, wantProps)
		}
	}
}

// TestV1SetNothingForSystemd: an update systemd has no property for
// (memory.reservation) does not freeze the container.
func TestV1SetNothingForSystemd(t *testing.T) {
	f, _, _ := fakeSystemdV1(t)
	m, _ := New(newCfg(podScope))
	if err := m.Set(&configs.Cgroup{Path: podScope, Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Reservation: i64(8 << 20)}}}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"fs.Set " + podScope}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
}

func TestV1Refusals(t *testing.T) {
	fakeSystemdV1(t)
	cfg := newCfg("/user.slice/tekapo-c1.scope")
	cfg.Rootless = true
	if _, err := New(cfg); err == nil || err.Error() != "cannot use rootless systemd cgroups manager on cgroup v1" {
		t.Errorf("rootless on v1: got %v, want runc's refusal", err)
	}
	cfg = newCfg(podScope)
	cfg.Resources.Unified = map[string]string{"memory.high": "1000000"}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err == nil || !strings.Contains(err.Error(), "pure cgroup v2") {
		t.Errorf("unified on v1: got %v", err)
	}
	if m.Created() != nil {
		t.Errorf("a refused Create made %v", m.Created())
	}
}

// TestResourcePropsV1: runc's genV1ResourcesProperties.
func TestResourcePropsV1(t *testing.T) {
	for _, c := range []struct {
		name string
		r    specs.LinuxResources
		want map[string]any
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)}},
			map[string]any{"MemoryLimit": uint64(64 << 20)}},
		{"memory -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}}, map[string]any{"MemoryLimit": inf}},
		{"shares as they are", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}}, map[string]any{"CPUShares": uint64(1024)}},
		{"quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(12345), Period: u64(100000)}},
			map[string]any{"CPUQuotaPerSecUSec": uint64(130000), "CPUQuotaPeriodUSec": uint64(100000)}},
		{"cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1", Mems: "0"}},
			map[string]any{"AllowedCPUs": []byte{0x02}, "AllowedMemoryNodes": []byte{0x01}}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, map[string]any{"TasksMax": inf}},
		{"blkio weight as it is", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}}, map[string]any{"BlockIOWeight": uint64(500)}},
		{"nothing systemd has", specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(7)}}, map[string]any{}},
	} {
		ps, err := resourcePropsV1(&c.r, 252)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := propMap(ps); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

func u32(v uint32) *uint32 { return &v }
