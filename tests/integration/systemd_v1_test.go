package integration

// The systemd cgroup driver on cgroup v1 / hybrid hosts (systemd's legacy
// and hybrid layouts): make systemd-lane's hybrid boot (run.sh --systemd
// --cgroup hybrid, systemd.unified_cgroup_hierarchy=0). The scope's
// directory is <mount>/<slice path>/<scope> in every hierarchy: systemd
// makes it in those it manages (memory, pids, cpu, blkio, devices,
// name=systemd, unified), tekapo in the others (cpuset, freezer, net_cls,
// ...). Elsewhere these tests skip (fail with TEKAPO_REQUIRE_SYSTEMD=1).
//
//	test                        what a user sees
//	TestSystemdV1Scope          init in the scope on every hierarchy, limits in systemctl show and the v1 files
//	                            (those systemd cannot say too), devices, exec, ps, events; delete leaves nothing
//	TestSystemdV1DefaultPath    an empty cgroupsPath: system.slice/tekapo-ID.scope
//	TestSystemdV1OOM            a memory hog in a foreground run exits 137
//	TestSystemdV1PidsLimit      forks past TasksMax fail, pids.current stays at the limit
//	TestSystemdV1Update         properties and files change, device rules and the freezer as they were
//	TestSystemdV1UpdateDevices  a device rule systemd cannot say on v1 holds across an update (systemd
//	                            rewrites devices.list when it applies properties; tekapo writes its rules back)
//	TestSystemdV1PauseResume    freezer.state FROZEN/THAWED, paused/running; an update while paused stays paused

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sdEnvV1 is sdEnv for a v1 or hybrid host running systemd. With
// TEKAPO_REQUIRE_SYSTEMD set a missing systemd fails the test; a pure v2
// host fails it only with TEKAPO_REQUIRE_SYSTEMD=hybrid (the lane's hybrid
// boot), and is a skip in a v2 boot that runs every TestSystemd.
func sdEnvV1(t *testing.T) *env {
	t.Helper()
	req := os.Getenv("TEKAPO_REQUIRE_SYSTEMD")
	skip := t.Skipf
	if req != "" {
		skip = t.Fatalf
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		skip("needs systemd as PID 1 on cgroup v1/hybrid (VM lane --systemd --cgroup hybrid)")
	}
	if pureV2() {
		if req == "hybrid" {
			t.Fatalf("TEKAPO_REQUIRE_SYSTEMD=hybrid, but this host's cgroups are pure v2")
		}
		t.Skip("needs cgroup v1/hybrid (this host is pure v2; the lane's hybrid boot runs it)")
	}
	if out, err := exec.Command("systemctl", "is-system-running").CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "degraded") {
		skip("needs systemd running: systemctl is-system-running: %s %v", out, err)
	}
	e := newEnv(t)
	t.Cleanup(func() { exec.Command("systemctl", "stop", sdSlice+".slice").Run() }) //nolint:errcheck
	return e
}

// v1Dirs maps each mounted hierarchy (its directory under /sys/fs/cgroup:
// "memory", "cpu,cpuacct", "systemd", "unified", ...) to path in it.
func v1Dirs(t *testing.T, path string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if e.IsDir() { // links (cpu → cpu,cpuacct) are the same hierarchy
			out[e.Name()] = filepath.Join("/sys/fs/cgroup", e.Name(), path)
		}
	}
	return out
}

// sdSpecV1 is sdSpec's pod-slice container; it returns the scope's path
// under each hierarchy's root.
func sdSpecV1(e *env, id string, args ...string) (*specs.Spec, string, string) {
	s := e.spec(id, args...)
	s.Linux.CgroupsPath = sdSlice + "-pod1.slice:cri-containerd:" + id
	unit := "cri-containerd-" + id + ".scope"
	return s, unit, "/" + sdSlice + ".slice/" + sdSlice + "-pod1.slice/" + unit
}

// v1Gone: no such unit is loaded, the scope's directory is gone from every
// hierarchy, and so are this run's slices from the hierarchies tekapo made
// them in (systemd's own go when the test's cleanup stops the slice).
func v1Gone(t *testing.T, unit, path string) {
	t.Helper()
	unitGone(t, unit, filepath.Join("/sys/fs/cgroup/memory", path))
	for h, dir := range v1Dirs(t, path) {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: %s is left (%v)", h, dir, err)
		}
	}
	for _, h := range []string{"cpuset", "freezer", "net_cls,net_prio", "perf_event", "hugetlb"} {
		if d := filepath.Join("/sys/fs/cgroup", h, sdSlice+".slice"); exists(d) {
			t.Errorf("the slice tekapo made in %s is left: %s", h, d)
		}
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestSystemdV1Scope(t *testing.T) {
	e := sdEnvV1(t)
	s, unit, path := sdSpecV1(e, "sdv1", "sleep", "1000")
	r := resources(s)
	r.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	r.Pids = &specs.LinuxPids{Limit: i64(20)}
	r.CPU = &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Shares: u64(512), Cpus: "0"}
	classid := uint32(0x100001)
	r.Network = &specs.LinuxNetwork{ClassID: &classid}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sdv1")
	pid := e.state("sdv1").Pid
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 8 {
		t.Errorf("init's /proc/PID/cgroup:\n%s", b)
	}
	for _, l := range lines {
		if f := strings.SplitN(l, ":", 3); len(f) != 3 || f[2] != path {
			t.Errorf("init's cgroup line %q, want every hierarchy at %s", l, path)
		}
	}
	wantProps(t, unit, map[string]string{
		"ActiveState": "active", "Slice": sdSlice + "-pod1.slice", "Delegate": "yes",
		"MemoryLimit": strconv.Itoa(64 << 20), "TasksMax": "20", "CPUQuotaPerSecUSec": "500ms",
		"CPUShares": "512", "DevicePolicy": "strict",
	})
	d := v1Dirs(t, path)
	wantFile(t, d["memory"], "memory.limit_in_bytes", strconv.Itoa(64<<20))
	wantFile(t, d["pids"], "pids.max", "20")
	wantFile(t, d["cpu,cpuacct"], "cpu.cfs_quota_us", "50000")
	wantFile(t, d["cpu,cpuacct"], "cpu.cfs_period_us", "100000")
	wantFile(t, d["cpu,cpuacct"], "cpu.shares", "512")
	// systemd cannot say these on v1: the files do.
	wantFile(t, d["cpuset"], "cpuset.cpus", "0")
	wantFile(t, d["net_cls,net_prio"], "net_cls.classid", strconv.Itoa(int(classid)))
	devs, _ := os.ReadFile(filepath.Join(d["devices"], "devices.list"))
	if !strings.Contains(string(devs), "c 1:3 rwm") || strings.Contains(string(devs), "a *:* rwm") {
		t.Errorf("devices.list:\n%s", devs)
	}
	if r := e.tekapo("exec", "sdv1", "sh", "-c", "echo x > /dev/null && head -c1 /dev/zero | wc -c"); r.code != 0 || strings.TrimSpace(r.stdout) != "1" {
		t.Errorf("exec with the default devices: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := e.tekapo("exec", "sdv1", "sh", "-c", "head -c1 /dev/kmsg"); r.code == 0 {
		t.Errorf("a device the rules do not allow was read")
	}
	if ps := e.psPids("sdv1"); len(ps) != 1 || ps[0] != pid {
		t.Errorf("ps: %v, want [%d]", ps, pid)
	}
	st := e.stats("sdv1")
	if st.Data.Memory.Usage.Usage == 0 || st.Data.Memory.Usage.Limit != 64<<20 || st.Data.Pids.Current != 1 || st.Data.Pids.Limit != 20 {
		t.Errorf("events --stats: %+v", st.Data)
	}
	e.ok("delete", "--force", "sdv1")
	v1Gone(t, unit, path)
}

func TestSystemdV1DefaultPath(t *testing.T) {
	e := sdEnvV1(t)
	s := e.spec("sdv2", "sleep", "1000")
	s.Linux.CgroupsPath = ""
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sdv2")
	wantProps(t, "tekapo-sdv2.scope", map[string]string{"ActiveState": "active", "Slice": "system.slice", "Delegate": "yes"})
	pid := e.state("sdv2").Pid
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if !strings.Contains(string(b), ":memory:/system.slice/tekapo-sdv2.scope\n") ||
		!strings.Contains(string(b), ":freezer:/system.slice/tekapo-sdv2.scope\n") {
		t.Errorf("init's cgroups:\n%s", b)
	}
	e.ok("delete", "--force", "sdv2")
	unitGone(t, "tekapo-sdv2.scope", "/sys/fs/cgroup/memory/system.slice/tekapo-sdv2.scope")
	for h, dir := range v1Dirs(t, "/system.slice/tekapo-sdv2.scope") {
		if exists(dir) {
			t.Errorf("%s: %s is left", h, dir)
		}
	}
}

func TestSystemdV1OOM(t *testing.T) {
	e := sdEnvV1(t)
	s, unit, path := sdSpecV1(e, "sdv3", "sh", "-c", "exec "+memoryHog)
	memoryLimit(s, 16<<20)
	e.write(s)
	r := e.tekapo("--systemd-cgroup", "run", "sdv3")
	if r.code != 137 {
		t.Errorf("run of a memory hog: exit %d, want 137 (%s)", r.code, r.stderr)
	}
	e.tekapo("delete", "--force", "sdv3")
	v1Gone(t, unit, path)
}

func TestSystemdV1PidsLimit(t *testing.T) {
	e := sdEnvV1(t)
	s, unit, path := sdSpecV1(e, "sdv4", "sh", "-c",
		"(i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; exec sleep 1000")
	resources(s).Pids = &specs.LinuxPids{Limit: i64(10)}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sdv4")
	wantProps(t, unit, map[string]string{"TasksMax": "10"})
	dir := v1Dirs(t, path)["pids"]
	waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "pids.events"))
		return strings.Contains(string(b), "max") && !strings.Contains(string(b), "max 0")
	})
	b, _ := os.ReadFile(filepath.Join(dir, "pids.current"))
	if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || n > 10 || n < 2 {
		t.Errorf("pids.current %q, want 2..10", b)
	}
	if ev, _ := os.ReadFile(filepath.Join(dir, "pids.events")); strings.Contains(string(ev), "max 0") {
		t.Errorf("pids.events %q: no fork was refused", ev)
	}
	wantProps(t, unit, map[string]string{"ActiveState": "active"})
	e.ok("delete", "--force", "sdv4")
	v1Gone(t, unit, path)
}

func TestSystemdV1Update(t *testing.T) {
	e := sdEnvV1(t)
	s, unit, path := sdSpecV1(e, "sdv5", "sleep", "1000")
	resources(s).Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sdv5")
	d := v1Dirs(t, path)
	before, _ := os.ReadFile(filepath.Join(d["devices"], "devices.list"))
	e.ok("update", "--memory", "32m", "--pids-limit", "7", "--cpu-quota", "20000", "--cpu-period", "100000",
		"--cpu-share", "256", "--cpuset-cpus", "0", "sdv5")
	wantProps(t, unit, map[string]string{"MemoryLimit": strconv.Itoa(32 << 20), "TasksMax": "7",
		"CPUQuotaPerSecUSec": "200ms", "CPUShares": "256"})
	wantFile(t, d["memory"], "memory.limit_in_bytes", strconv.Itoa(32<<20))
	wantFile(t, d["pids"], "pids.max", "7")
	wantFile(t, d["cpu,cpuacct"], "cpu.cfs_quota_us", "20000")
	wantFile(t, d["cpu,cpuacct"], "cpu.shares", "256")
	wantFile(t, d["cpuset"], "cpuset.cpus", "0")
	// The device rules are tekapo's again, and the container runs.
	if after, _ := os.ReadFile(filepath.Join(d["devices"], "devices.list")); string(after) != string(before) {
		t.Errorf("devices.list changed by the update:\n%s\nwas\n%s", after, before)
	}
	wantFile(t, d["freezer"], "freezer.state", "THAWED")
	if st := e.state("sdv5").Status; st != "running" {
		t.Errorf("after update: %s", st)
	}
	if r := e.tekapo("exec", "sdv5", "sh", "-c", "echo x > /dev/null"); r.code != 0 {
		t.Errorf("exec after update: exit %d %s", r.code, r.stderr)
	}
	e.ok("delete", "--force", "sdv5")
	v1Gone(t, unit, path)
}

func TestSystemdV1PauseResume(t *testing.T) {
	e := sdEnvV1(t)
	s, unit, path := sdSpecV1(e, "sdv6", "sleep", "1000")
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sdv6")
	dir := v1Dirs(t, path)["freezer"]
	e.ok("pause", "sdv6")
	if st := e.state("sdv6").Status; st != "paused" {
		t.Errorf("after pause: %s", st)
	}
	wantFile(t, dir, "freezer.state", "FROZEN")
	e.ok("update", "--memory", "48m", "sdv6") // systemd is asked; the container stays paused
	wantFile(t, dir, "freezer.state", "FROZEN")
	wantProps(t, unit, map[string]string{"MemoryLimit": strconv.Itoa(48 << 20)})
	e.ok("resume", "sdv6")
	if st := e.state("sdv6").Status; st != "running" {
		t.Errorf("after resume: %s", st)
	}
	wantFile(t, dir, "freezer.state", "THAWED")
	wantProps(t, unit, map[string]string{"ActiveState": "active"})
	e.ok("delete", "--force", "sdv6")
	v1Gone(t, unit, path)
}

func TestSystemdV1UpdateDevices(t *testing.T) {
	e := sdEnvV1(t)
	s, unit, path := sdSpecV1(e, "sdv7", "sleep", "1000")
	// No /proc/devices name for major 3000: systemd's DeviceAllow cannot say "c 3000:*".
	major := int64(3000)
	resources(s).Devices = []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: &major, Access: "rwm"}}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sdv7")
	list := filepath.Join(v1Dirs(t, path)["devices"], "devices.list")
	before, _ := os.ReadFile(list)
	if !strings.Contains(string(before), "c 3000:* rwm") || !strings.Contains(string(before), "c 1:3 rwm") {
		t.Fatalf("devices.list after create:\n%s", before)
	}
	wantProps(t, unit, map[string]string{"DevicePolicy": "strict"})
	e.ok("update", "--memory", "40m", "sdv7")
	if after, _ := os.ReadFile(list); string(after) != string(before) {
		t.Errorf("devices.list after update:\n%s\nwas\n%s", after, before)
	}
	// What tekapo guards against: systemd itself applying a property.
	exec.Command("systemctl", "set-property", "--runtime", unit, "MemoryLimit=48M").Run() //nolint:errcheck
	after, _ := os.ReadFile(list)
	t.Logf("after systemctl set-property (systemd alone): c 3000:* still listed: %v", strings.Contains(string(after), "c 3000:* rwm"))
	e.ok("delete", "--force", "sdv7")
	v1Gone(t, unit, path)
}
