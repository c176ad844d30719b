package integration

// The systemd cgroup driver (--systemd-cgroup) where systemd runs: the VM
// lane's systemd guest (make systemd-lane: systemd is PID 1 of the guest's
// pid namespace, on pure cgroup v2). Elsewhere these tests skip.
//
//	test                      what a user sees
//	TestSystemdScope          the scope under its (nested) slice, Delegate, limits in systemctl show and the files, delete leaves no unit or cgroup
//	TestSystemdDefaultPath    an empty cgroupsPath: system.slice/tekapo-ID.scope
//	TestSystemdOOM            a memory hog in a foreground run exits 137
//	TestSystemdPidsLimit      forks past TasksMax fail, pids.current stays at the limit
//	TestSystemdUpdate         update changes the unit's properties and the files
//	TestSystemdPauseResume    the freezer: paused/running and cgroup.events frozen 1/0
//	TestSystemdBadPath        a cgroupfs path with --systemd-cgroup: runc's words, nothing left
//	TestSystemdDelegation     user+cgroup namespaces: the scope belongs to the container's root, a sub-cgroup inside works

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

// sdSlice is this run's slice family: tkitest<pid>.slice and below.
var sdSlice = "tkitest" + strconv.Itoa(os.Getpid())

// sdEnv is an env for the systemd driver; it skips unless systemd runs
// here on pure cgroup v2 (fails instead with TEKAPO_REQUIRE_SYSTEMD=1, as
// in make systemd-lane, so a lane that lost systemd cannot pass), and
// stops this run's slices afterwards.
func sdEnv(t *testing.T) *env {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("TEKAPO_REQUIRE_SYSTEMD") == "1" {
		skip = t.Fatalf
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil || !pureV2() {
		skip("needs systemd as PID 1 (VM lane --systemd)")
	}
	if out, err := exec.Command("systemctl", "is-system-running").CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "degraded") {
		skip("needs systemd as PID 1 (VM lane --systemd): systemctl is-system-running: %s %v", out, err)
	}
	e := newEnv(t)
	t.Cleanup(func() { exec.Command("systemctl", "stop", sdSlice+".slice").Run() }) //nolint:errcheck
	return e
}

// show reads unit properties with systemctl show.
func show(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("systemctl", "show", "-p", strings.Join(props, ","), unit).Output()
	if err != nil {
		t.Fatalf("systemctl show %s: %v", unit, err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func wantProps(t *testing.T, unit string, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	got := show(t, unit, keys...)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: systemctl show %s=%q, want %q", unit, k, got[k], v)
		}
	}
}

func wantFile(t *testing.T, dir, file, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if got := strings.TrimSpace(string(b)); err != nil || got != want {
		t.Errorf("%s/%s = %q (%v), want %q", dir, file, got, err, want)
	}
}

// unitGone: no such unit is loaded and its cgroup directory is gone.
func unitGone(t *testing.T, unit, dir string) {
	t.Helper()
	ok := waitFor(10*time.Second, func() bool {
		p := show(t, unit, "LoadState", "ActiveState")
		return p["LoadState"] == "not-found" && p["ActiveState"] == "inactive"
	})
	if !ok {
		t.Errorf("unit %s is left: %v", unit, show(t, unit, "LoadState", "ActiveState", "SubState"))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s is left (%v)", dir, err)
	}
}

// sdSpec is e.spec with a systemd cgroupsPath in the pod slice "pod1".
func sdSpec(e *env, id string, args ...string) (*specs.Spec, string, string) {
	s := e.spec(id, args...)
	s.Linux.CgroupsPath = sdSlice + "-pod1.slice:cri-containerd:" + id
	unit := "cri-containerd-" + id + ".scope"
	dir := "/sys/fs/cgroup/" + sdSlice + ".slice/" + sdSlice + "-pod1.slice/" + unit
	return s, unit, dir
}

func TestSystemdScope(t *testing.T) {
	e := sdEnv(t)
	s, unit, dir := sdSpec(e, "sd1", "sleep", "1000")
	r := resources(s)
	r.Memory = &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(64 << 20)}
	r.Pids = &specs.LinuxPids{Limit: i64(20)}
	r.CPU = &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Shares: u64(1024)}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sd1")
	pid := e.state("sd1").Pid
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if want := "0::/" + sdSlice + ".slice/" + sdSlice + "-pod1.slice/" + unit; strings.TrimSpace(string(b)) != want {
		t.Errorf("init's cgroup %q, want %q", b, want)
	}
	wantProps(t, unit, map[string]string{
		"ActiveState": "active", "Slice": sdSlice + "-pod1.slice", "Delegate": "yes",
		"MemoryMax": strconv.Itoa(64 << 20), "TasksMax": "20", "CPUQuotaPerSecUSec": "500ms",
		"CPUQuotaPeriodUSec": "100ms", "CPUWeight": "39", "DevicePolicy": "strict",
	})
	wantFile(t, dir, "memory.max", strconv.Itoa(64<<20))
	wantFile(t, dir, "memory.swap.max", "0") // systemd cannot say it: the file can
	wantFile(t, dir, "pids.max", "20")
	wantFile(t, dir, "cpu.max", "50000 100000")
	wantFile(t, dir, "cpu.weight", "39")
	// The device rules hold (tekapo's program and systemd's allow list).
	if r := e.tekapo("exec", "sd1", "sh", "-c", "echo x > /dev/null && head -c1 /dev/zero | wc -c"); r.code != 0 || strings.TrimSpace(r.stdout) != "1" {
		t.Errorf("exec with the default devices: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if ps := e.psPids("sd1"); len(ps) != 1 || ps[0] != pid {
		t.Errorf("ps: %v, want [%d]", ps, pid)
	}
	e.ok("delete", "--force", "sd1")
	unitGone(t, unit, dir)
}

func TestSystemdDefaultPath(t *testing.T) {
	e := sdEnv(t)
	s := e.spec("sd2", "sleep", "1000")
	s.Linux.CgroupsPath = ""
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sd2")
	pid := e.state("sd2").Pid
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if want := "0::/system.slice/tekapo-sd2.scope"; strings.TrimSpace(string(b)) != want {
		t.Errorf("init's cgroup %q, want %q", b, want)
	}
	wantProps(t, "tekapo-sd2.scope", map[string]string{"ActiveState": "active", "Slice": "system.slice", "Delegate": "yes"})
	e.ok("delete", "--force", "sd2")
	unitGone(t, "tekapo-sd2.scope", "/sys/fs/cgroup/system.slice/tekapo-sd2.scope")
}

func TestSystemdOOM(t *testing.T) {
	e := sdEnv(t)
	s, unit, dir := sdSpec(e, "sd3", "sh", "-c", "exec "+memoryHog)
	memoryLimit(s, 16<<20)
	e.write(s)
	r := e.tekapo("--systemd-cgroup", "run", "sd3")
	if r.code != 137 {
		t.Errorf("run of a memory hog: exit %d, want 137 (%s)", r.code, r.stderr)
	}
	e.tekapo("delete", "--force", "sd3")
	unitGone(t, unit, dir)
}

func TestSystemdPidsLimit(t *testing.T) {
	e := sdEnv(t)
	// The forks are in a subshell: a shell may give up when one fails,
	// and init must stay so the unit does (an empty scope goes).
	s, unit, dir := sdSpec(e, "sd4", "sh", "-c",
		"(i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; exec sleep 1000")
	resources(s).Pids = &specs.LinuxPids{Limit: i64(10)}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sd4")
	wantProps(t, unit, map[string]string{"TasksMax": "10"})
	var cur string
	waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "pids.events"))
		return strings.Contains(string(b), "max") && !strings.Contains(string(b), "max 0")
	})
	b, _ := os.ReadFile(filepath.Join(dir, "pids.current"))
	cur = strings.TrimSpace(string(b))
	if n, err := strconv.Atoi(cur); err != nil || n > 10 || n < 2 {
		t.Errorf("pids.current %q, want 2..10", cur)
	}
	if ev, _ := os.ReadFile(filepath.Join(dir, "pids.events")); !strings.Contains(string(ev), "max") || strings.Contains(string(ev), "max 0") {
		t.Errorf("pids.events %q: no fork was refused", ev)
	}
	wantProps(t, unit, map[string]string{"ActiveState": "active"})
	e.ok("delete", "--force", "sd4")
	unitGone(t, unit, dir)
}

func TestSystemdUpdate(t *testing.T) {
	e := sdEnv(t)
	s, unit, dir := sdSpec(e, "sd5", "sleep", "1000")
	resources(s).Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sd5")
	e.ok("update", "--memory", "32m", "--pids-limit", "7", "--cpu-quota", "20000", "--cpu-period", "100000", "sd5")
	wantProps(t, unit, map[string]string{"MemoryMax": strconv.Itoa(32 << 20), "TasksMax": "7", "CPUQuotaPerSecUSec": "200ms"})
	wantFile(t, dir, "memory.max", strconv.Itoa(32<<20))
	wantFile(t, dir, "pids.max", "7")
	wantFile(t, dir, "cpu.max", "20000 100000")
	e.ok("delete", "--force", "sd5")
	unitGone(t, unit, dir)
}

func TestSystemdPauseResume(t *testing.T) {
	e := sdEnv(t)
	s, unit, dir := sdSpec(e, "sd6", "sleep", "1000")
	e.write(s)
	e.ok("--systemd-cgroup", "run", "-d", "sd6")
	e.ok("pause", "sd6")
	if st := e.state("sd6").Status; st != "paused" {
		t.Errorf("after pause: %s", st)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.events")); !strings.Contains(string(b), "frozen 1") {
		t.Errorf("after pause: cgroup.events %q", b)
	}
	e.ok("resume", "sd6")
	if st := e.state("sd6").Status; st != "running" {
		t.Errorf("after resume: %s", st)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.events")); !strings.Contains(string(b), "frozen 0") {
		t.Errorf("after resume: cgroup.events %q", b)
	}
	wantProps(t, unit, map[string]string{"ActiveState": "active"})
	e.ok("delete", "--force", "sd6")
	unitGone(t, unit, dir)
}

// TestSystemdBadPath runs everywhere: the path is refused before systemd
// is asked.
func TestSystemdBadPath(t *testing.T) {
	e := newEnv(t)
	s := e.spec("sd7", "true")
	s.Linux.CgroupsPath = "/kubepods/burstable/pod1/sd7"
	e.write(s)
	e.expectError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/kubepods/burstable/pod1/sd7" instead`,
		"--systemd-cgroup", "run", "sd7")
}

// TestSystemdDelegation: a container with its own user and cgroup
// namespaces gets the scope's directory handed to its root (tekapo makes
// it before systemd starts the unit, which takes it as it is): a process
// inside makes a sub-cgroup and moves there; delete still leaves nothing.
func TestSystemdDelegation(t *testing.T) {
	e := sdEnv(t)
	s, unit, dir := sdSpec(e, "sd8", "sh", "-c", "stat -c 'owner %u' /sys/fs/cgroup/cgroup.procs; mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs && cat /proc/self/cgroup")
	withUserNS(s, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
		[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}})
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	for i := range s.Mounts {
		if s.Mounts[i].Type == "cgroup" {
			s.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "rw"}
		}
	}
	e.write(s)
	r := e.tekapo("--systemd-cgroup", "run", "sd8")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"owner 0\n", "0::/sub\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
	e.tekapo("delete", "--force", "sd8")
	unitGone(t, unit, dir)
}
