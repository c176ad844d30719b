package cgroups

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestNewRejects(t *testing.T) {
	f := newFakeHost(t, "v1")
	for _, c := range []struct {
		cfg  *configs.Cgroup
		want string
	}{
		{&configs.Cgroup{Path: "tekapo/x"}, "must be absolute"},
		{&configs.Cgroup{Path: "/tekapo/../x"}, `".."`},
		{&configs.Cgroup{Path: "/"}, "root cgroup"},
		{&configs.Cgroup{Path: "/a", Systemd: true}, "needs the systemd driver"},
		{nil, "missing"},
	} {
		_, err := newManager(c.cfg, f.h, fsOps{fake: true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestNewWritesNothing(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	f.manager(t, &configs.Cgroup{Path: "/tekapo/nothing", Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(3)}}})
	if len(f.log) != 0 || exists(f.p("sys/fs/cgroup/pids/tekapo")) {
		t.Fatalf("New wrote %v", f.log)
	}
}

func TestCreateV1Fake(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	cfg := &configs.Cgroup{Path: "/tekapo/c1", Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(1 << 20)},
		Pids:   &specs.LinuxPids{Limit: i64(7)},
		CPU:    &specs.LinuxCPU{Cpus: "1"},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}},
	}}
	m := f.manager(t, cfg)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"sys/fs/cgroup/memory/tekapo/c1/memory.limit_in_bytes": "1048576",
		"sys/fs/cgroup/pids/tekapo/c1/pids.max":                "7",
		"sys/fs/cgroup/cpuset/tekapo/cpuset.cpus":              "0-3", // filled from the parent
		"sys/fs/cgroup/cpuset/tekapo/cpuset.mems":              "0",
		"sys/fs/cgroup/cpuset/tekapo/c1/cpuset.cpus":           "1",
		"sys/fs/cgroup/cpuset/tekapo/c1/cpuset.mems":           "0",
		"sys/fs/cgroup/devices/tekapo/c1/devices.allow":        "c 1:3 rw",
		"sys/fs/cgroup/devices/tekapo/c1/devices.deny":         "a *:* rwm",
	}
	for p, want := range checks {
		if got := readOr(t, f.p(p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	devLog := grepLog(f.log, "devices.")
	sameList(t, devLog, []string{"devices.deny=a", "devices.deny=a *:* rwm", "devices.allow=c 1:3 rw"})

	f.log = nil
	if err := m.Apply(1234); err != nil {
		t.Fatal(err)
	}
	procs := grepLog(f.log, "cgroup.procs")
	if len(procs) != 11 { // 10 v1 mounts + unified
		t.Errorf("pid written to %d hierarchies, want 11: %v", len(procs), f.log)
	}
	for _, want := range []string{"systemd/tekapo/c1/cgroup.procs", "unified/tekapo/c1/cgroup.procs"} {
		if !strings.Contains(strings.Join(f.log, "\n"), want) {
			t.Errorf("no write to %s", want)
		}
	}
	if p := m.Paths(); p["name=systemd"] != f.p("sys/fs/cgroup/systemd/tekapo/c1") || p[""] != f.p("sys/fs/cgroup/unified/tekapo/c1") {
		t.Errorf("paths %v", p)
	}
}

// grepLog keeps writes whose path contains s, as "file=value".
func grepLog(log []string, s string) []string {
	var out []string
	for _, l := range log {
		p, v, _ := strings.Cut(l, "=")
		if strings.Contains(p, s) {
			out = append(out, filepath.Base(p)+"="+v)
		}
	}
	return out
}

func TestDestroyFakeKeepsSiblings(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	a := f.manager(t, &configs.Cgroup{Path: "/tekapo/a/x"})
	b := f.manager(t, &configs.Cgroup{Path: "/tekapo/b"})
	for _, m := range []*manager{a, b} {
		if err := m.Create(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, h := range a.hierarchies() {
		if exists(filepath.Dir(h.dir)) {
			t.Errorf("%s left behind", filepath.Dir(h.dir))
		}
		if !exists(filepath.Join(h.root, "tekapo/b")) {
			t.Errorf("sibling removed in %s", h.root)
		}
	}
	if err := b.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, h := range b.hierarchies() {
		// /tekapo was a's, busy with b when a went: b did not make it.
		if !exists(filepath.Join(h.root, "tekapo")) || exists(filepath.Join(h.root, "tekapo/b")) {
			t.Errorf("%s: want tekapo/ kept and tekapo/b gone", h.root)
		}
		if !exists(h.root) {
			t.Errorf("hierarchy root %s removed", h.root)
		}
	}
}

// TestDestroyFakeKeepsForeignParent: a parent made by someone else (with
// a limit in it) survives, and a rebuilt manager removes exactly the
// directories it is told Create made.
func TestDestroyFakeKeepsForeignParent(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	pre := f.manager(t, &configs.Cgroup{Path: "/smoke"})
	if err := pre.Create(); err != nil {
		t.Fatal(err)
	}
	m := f.manager(t, &configs.Cgroup{Path: "/smoke/mid/ct"})
	if got := len(m.Missing()); got != 2*len(m.hierarchies()) {
		t.Fatalf("missing %v: want mid and ct on every hierarchy", m.Missing())
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	later := f.manager(t, &configs.Cgroup{Path: "/smoke/mid/ct"})
	later.SetCreated(m.Created())
	if err := later.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, h := range m.hierarchies() {
		if !exists(filepath.Join(h.root, "smoke")) || exists(filepath.Join(h.root, "smoke/mid")) {
			t.Errorf("%s: want smoke kept, smoke/mid gone", h.root)
		}
	}
	nothing := f.manager(t, &configs.Cgroup{Path: "/smoke"})
	if err := nothing.Destroy(); err != nil || !exists(f.p("sys/fs/cgroup/memory/smoke")) {
		t.Errorf("a manager that made nothing removed something (%v)", err)
	}
}

func TestCreateUnavailableControllerLeavesNothing(t *testing.T) {
	f := newFakeHost(t, "hybrid") // hugetlb only on the v2 side, like the dev host
	m := f.manager(t, &configs.Cgroup{Path: "/tekapo/h", Resources: &specs.LinuxResources{
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}}})
	err := m.Create()
	if err == nil || !strings.Contains(err.Error(), "hugepageLimits") || !strings.Contains(err.Error(), "hugetlb") {
		t.Fatalf("err %v, want a hugepageLimits/hugetlb error", err)
	}
	assertNoTekapo(t, f)
}

func TestCreateWriteFailureLeavesNothing(t *testing.T) {
	f := newFakeHost(t, "v1")
	m, err := newManager(&configs.Cgroup{Path: "/tekapo/w", Resources: &specs.LinuxResources{
		Pids: &specs.LinuxPids{Limit: i64(3)}}}, f.h, fsOps{fake: true, failOn: "pids.max"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Create()
	if err == nil || !strings.HasPrefix(err.Error(), "pids.limit: ") {
		t.Fatalf("err %v, want a pids.limit error", err)
	}
	assertNoTekapo(t, f)
}

func assertNoTekapo(t *testing.T, f *fakeHost) {
	t.Helper()
	for _, mnt := range append(f.h.v1Mounts(), f.h.unified) {
		if mnt != "" && exists(filepath.Join(mnt, "tekapo")) {
			t.Errorf("%s/tekapo left behind", mnt)
		}
	}
}

func TestCreateV2Fake(t *testing.T) {
	f := newFakeHost(t, "v2")
	m := f.manager(t, &configs.Cgroup{Path: "/tekapo/v", Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(1 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(1024)},
	}})
	// The fake kernel: tekapo's controllers are what the root offers.
	mustWrite(t, f.p("sys/fs/cgroup/tekapo/cgroup.controllers"), "cpu memory pids")
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	sub := grepLog(f.log, "subtree_control")
	if len(sub) != 8+3 || sub[0] != "cgroup.subtree_control=+cpuset" || sub[10] != "cgroup.subtree_control=+pids" {
		t.Errorf("subtree_control writes %v", sub)
	}
	for p, want := range map[string]string{
		"sys/fs/cgroup/tekapo/v/memory.max":      "1048576",
		"sys/fs/cgroup/tekapo/v/memory.swap.max": "0",
		"sys/fs/cgroup/tekapo/v/cpu.weight":      "39",
	} {
		if got := readOr(t, f.p(p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if p := m.Paths(); len(p) != 1 || p[""] != f.p("sys/fs/cgroup/tekapo/v") {
		t.Errorf("paths %v", p)
	}
	// tekapo/ was there before (the fake kernel's file in it): it stays.
	if err := m.Destroy(); err != nil || exists(f.p("sys/fs/cgroup/tekapo/v")) || !exists(f.p("sys/fs/cgroup/tekapo")) {
		t.Fatalf("destroy: %v", err)
	}
}

func TestV2UnifiedNeedsController(t *testing.T) {
	f := newFakeHost(t, "v2")
	m := f.manager(t, &configs.Cgroup{Path: "/tekapo/u", Resources: &specs.LinuxResources{
		Unified: map[string]string{"nosuch.max": "1"}}})
	err := m.Create()
	if err == nil || !strings.Contains(err.Error(), `unified.nosuch.max: cgroup controller "nosuch" is not available`) {
		t.Fatalf("err %v", err)
	}
}

func TestSetFake(t *testing.T) {
	f := newFakeHost(t, "v1")
	cfg := &configs.Cgroup{Path: "/tekapo/s", Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}}}
	m := f.manager(t, cfg)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&configs.Cgroup{Path: "/tekapo/s", Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(9)}}}); err != nil {
		t.Fatal(err)
	}
	if got := readOr(t, f.p("sys/fs/cgroup/pids/tekapo/s/pids.max")); got != "9" {
		t.Errorf("pids.max %q after Set, want 9", got)
	}
	mustWrite(t, f.p("sys/fs/cgroup/memory/tekapo/s/memory.usage_in_bytes"), "5000")
	err := m.Set(&configs.Cgroup{Path: "/tekapo/s", Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{
		Limit: i64(4096), CheckBeforeUpdate: boolp(true)}}})
	if err == nil || !strings.Contains(err.Error(), "below the current usage 5000") {
		t.Errorf("checkBeforeUpdate: err %v", err)
	}
}

func TestStatsV1FakeJSON(t *testing.T) {
	f := newFakeHost(t, "v1")
	m := f.manager(t, &configs.Cgroup{Path: "/t"})
	put := func(ctrl, file, v string) { mustWrite(t, f.p("sys/fs/cgroup", ctrl, "t", file), v) }
	put("cpuacct", "cpuacct.usage", "3000")
	put("cpuacct", "cpuacct.usage_user", "2000")
	put("cpuacct", "cpuacct.usage_sys", "1000")
	put("cpuacct", "cpuacct.usage_percpu", "1000 2000")
	put("cpu", "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 500")
	put("memory", "memory.stat", "cache 7\ntotal_cache 8\nrss 9")
	put("memory", "memory.usage_in_bytes", "100")
	put("memory", "memory.max_usage_in_bytes", "200")
	put("memory", "memory.limit_in_bytes", "1048576")
	put("memory", "memory.failcnt", "3")
	put("memory", "memory.memsw.usage_in_bytes", "150")
	put("memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2")
	put("pids", "pids.current", "4")
	put("pids", "pids.max", "max")
	put("blkio", "blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 0\nTotal 4096")
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	want := `{"blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4096},{"major":8,"op":"Write"}]},` +
		`"cpu":{"throttling":{"periods":10,"throttledPeriods":2,"throttledTime":500},"usage":{"kernel":1000,"percpu":[1000,2000],"total":3000,"user":2000}},` +
		`"hugetlb":{},"memory":{"cache":8,"kernel":{"failcnt":0,"limit":0},"kernelTCP":{"failcnt":0,"limit":0},"raw":{"cache":7,"rss":9,"total_cache":8},` +
		`"swap":{"failcnt":0,"limit":0,"usage":150},"usage":{"failcnt":3,"limit":1048576,"max":200,"usage":100}},"oom_kill":2,"pids":{"current":4}}`
	norm, _ := json.Marshal(got)
	if string(norm) != want {
		t.Errorf("stats JSON\n got %s\nwant %s", norm, want)
	}
}

func TestStatsV2Fake(t *testing.T) {
	f := newFakeHost(t, "v2")
	m := f.manager(t, &configs.Cgroup{Path: "/t"})
	put := func(file, v string) { mustWrite(t, f.p("sys/fs/cgroup/t", file), v) }
	put("cpu.stat", "usage_usec 3\nuser_usec 2\nsystem_usec 1\nnr_periods 5\nnr_throttled 1\nthrottled_usec 7")
	put("memory.stat", "file 11\nanon 12")
	put("memory.current", "100")
	put("memory.peak", "300")
	put("memory.max", "1000")
	put("memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1")
	put("memory.swap.current", "50")
	put("memory.swap.max", "max")
	put("pids.current", "2")
	put("pids.max", "10")
	put("io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0")
	put("hugetlb.2MB.max", "max")
	put("hugetlb.2MB.current", "0")
	put("hugetlb.2MB.events", "max 1")
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.Usage.Total != 3000 || st.CPU.Usage.Kernel != 1000 || st.CPU.Throttling.ThrottledTime != 7000 {
		t.Errorf("cpu %+v", st.CPU)
	}
	if st.Memory.Usage.Usage != 100 || st.Memory.Usage.Max != 300 || st.Memory.Usage.Limit != 1000 ||
		st.Memory.Usage.Failcnt != 4 || st.Memory.Cache != 11 || st.Memory.Swap.Usage != 150 {
		t.Errorf("memory %+v", st.Memory)
	}
	if st.Pids.Current != 2 || st.Pids.Limit != 10 || st.OOMKillCount != 1 {
		t.Errorf("pids %+v oom %d", st.Pids, st.OOMKillCount)
	}
	if len(st.Blkio.IoServiceBytesRecursive) != 2 || st.Blkio.IoServicedRecursive[1].Value != 2 {
		t.Errorf("blkio %+v", st.Blkio)
	}
	if h, ok := st.Hugetlb["2MB"]; !ok || h.Failcnt != 1 {
		t.Errorf("hugetlb %+v", st.Hugetlb)
	}
}

func TestHostInfoFake(t *testing.T) {
	f := newFakeHost(t, "hybrid")
	i := hostInfo(f.h, true)
	if i.Layout != LayoutHybrid || i.Devices != "v1" || i.RDMA || strings.Join(i.UnifiedControllers, ",") != "hugetlb" {
		t.Errorf("hybrid info %+v", i)
	}
	if strings.Join(i.Controllers, ",") != "blkio,cpu,cpuacct,cpuset,devices,freezer,memory,net_cls,net_prio,pids" {
		t.Errorf("controllers %v", i.Controllers)
	}
	f2 := newFakeHost(t, "v2")
	i2 := hostInfo(f2.h, true)
	if i2.Layout != LayoutV2 || i2.Devices != "ebpf" || !i2.RDMA || len(i2.UnifiedControllers) != 0 {
		t.Errorf("v2 info %+v", i2)
	}
	if i3 := hostInfo(f2.h, false); i3.Devices != "" {
		t.Errorf("v2 without eBPF: devices %q", i3.Devices)
	}
}

func TestRootlessNoLimitsIsHarmless(t *testing.T) {
	f := newFakeHost(t, "v1")
	m, err := newManager(&configs.Cgroup{Path: "/tekapo/rl", Rootless: true}, f.h, fsOps{fake: true, failOn: "cgroup.procs"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(42); err != nil {
		t.Errorf("rootless Apply without limits failed: %v", err)
	}
	err = m.Set(&configs.Cgroup{Path: "/tekapo/rl", Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(3)}}})
	if err == nil || !strings.Contains(err.Error(), "pids.limit") {
		t.Errorf("rootless Set with a limit: err %v", err)
	}
	_ = os.RemoveAll(f.root)
}

// TestV2ControllersAlreadyOn: a controller an ancestor's
// cgroup.subtree_control has on already is not written again (above a
// subtree delegated to a user the ancestors are not the user's: a write
// there is refused even when it would change nothing).
func TestV2ControllersAlreadyOn(t *testing.T) {
	f := newFakeHost(t, "v2")
	mustWrite(t, filepath.Join(f.h.unified, "cgroup.subtree_control"), "cpuset cpu io memory hugetlb pids rdma misc")
	m, err := newManager(&configs.Cgroup{Path: "/user.slice/c1", Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}}}, f.h, fsOps{fake: true, failOn: "cgroup.subtree_control"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Errorf("Create with memory on in the root already: %v", err)
	}
	m.Destroy() //nolint:errcheck
	mustWrite(t, filepath.Join(f.h.unified, "cgroup.subtree_control"), "cpu")
	m, _ = newManager(&configs.Cgroup{Path: "/user.slice/c2", Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}}}, f.h, fsOps{fake: true, failOn: "cgroup.subtree_control"})
	if err := m.Create(); err == nil || !strings.Contains(err.Error(), "enable controller memory") {
		t.Errorf("memory off and its write refused: got %v", err)
	}
}
