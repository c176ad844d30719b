package integration

// `update` as runc's (issue 15): every flag applied and read back from the
// cgroup files, on v1/hybrid (this host) and v2 (the VM lane).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func readCg(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestUpdateFlagsReadBack: --cpuset-cpus, --cpu-period alone, --cpu-quota
// with --cpu-burst, --cpu-idle (1 then 0), --pids-limit (0 is written as
// 1, as current runc; runc 1.1.5 left "max"), and on v1 --cpu-rt-period
// with --cpu-rt-runtime, raised and then lowered below the old runtime
// (the period must then be written after the runtime: runc retries the
// same way). --l3-cache-schema and --mem-bw-schema are refused with
// runc's words where there is no RDT.
func TestUpdateFlagsReadBack(t *testing.T) {
	e := newEnv(t)
	s := e.spec("upflags", "sleep", "60")
	e.write(s)
	e.ok("run", "-d", "upflags")
	defer e.tekapo("delete", "--force", "upflags")
	v2 := pureV2()
	check := func(ctrl, file, want string) {
		t.Helper()
		if got := readCg(t, e.cgFile("upflags", ctrl, file)); got != want {
			t.Errorf("%s: got %q, want %q", file, got, want)
		}
	}
	e.ok("update", "--cpuset-cpus", "0", "upflags")
	check("cpuset", "cpuset.cpus", "0")
	e.ok("update", "--cpu-period", "50000", "upflags")
	if v2 {
		check("cpu", "cpu.max", "max 50000")
	} else {
		check("cpu", "cpu.cfs_period_us", "50000")
	}
	e.ok("update", "--cpu-quota", "25000", "--cpu-burst", "10000", "upflags")
	if v2 {
		check("cpu", "cpu.max", "25000 50000")
		check("cpu", "cpu.max.burst", "10000")
	} else {
		check("cpu", "cpu.cfs_quota_us", "25000")
		check("cpu", "cpu.cfs_burst_us", "10000")
	}
	e.ok("update", "--cpu-idle", "1", "upflags")
	check("cpu", "cpu.idle", "1")
	e.ok("update", "--cpu-idle", "0", "upflags")
	check("cpu", "cpu.idle", "0")
	e.ok("update", "--pids-limit", "0", "upflags")
	check("pids", "pids.max", "1")
	e.ok("update", "--pids-limit", "7", "upflags")
	check("pids", "pids.max", "7")
	for _, f := range []string{"--l3-cache-schema", "--mem-bw-schema"} {
		r := e.tekapo("update", f, "L3:0=f", "upflags")
		if r.code == 0 || !strings.Contains(r.stderr, "schema is not enabled") && !strings.Contains(r.stderr, "not supported by tekapo") {
			t.Errorf("update %s: want a refusal, got exit %d: %s", f, r.code, r.stderr)
		}
	}
	if v2 {
		return
	}
	// Realtime: the container's ancestors (this test's own cgroups) need
	// a runtime budget first (10% of their 1 s period; a child's share
	// cannot exceed its parent's); the host's root keeps its own.
	cpuDir := filepath.Dir(e.cgFile("upflags", "cpu", "x"))
	if _, err := os.Stat(filepath.Join(cpuDir, "cpu.rt_runtime_us")); err != nil {
		t.Log("no cpu.rt_runtime_us (no CONFIG_RT_GROUP_SCHED): realtime part not run")
		return
	}
	for _, d := range []string{filepath.Join("/sys/fs/cgroup/cpu", cgParent), filepath.Dir(cpuDir)} {
		if err := os.WriteFile(filepath.Join(d, "cpu.rt_runtime_us"), []byte("100000"), 0); err != nil {
			t.Fatal(err)
		}
	}
	e.ok("update", "--cpu-rt-period", "900000", "--cpu-rt-runtime", "50000", "upflags")
	check("cpu", "cpu.rt_period_us", "900000")
	check("cpu", "cpu.rt_runtime_us", "50000")
	e.ok("update", "--cpu-rt-period", "40000", "--cpu-rt-runtime", "3000", "upflags")
	check("cpu", "cpu.rt_period_us", "40000")
	check("cpu", "cpu.rt_runtime_us", "3000")
	e.ok("delete", "--force", "upflags")
}

// TestKillHostPidNamespaceKillsAll: without a pid namespace of its own,
// `kill ID KILL` kills every process of the container's cgroup, not only
// init (whose death would otherwise leave its children running on the
// host): current runc does so (runc 1.1.5 only killed init). Before,
// the two background sleeps survived init.
func TestKillHostPidNamespaceKillsAll(t *testing.T) {
	e := newEnv(t)
	s := e.spec("hostpid", "sh", "-c", "sleep 100 & sleep 100 & wait")
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.PIDNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
	e.write(s)
	e.ok("run", "-d", "hostpid")
	defer e.tekapo("delete", "--force", "hostpid")
	if !waitFor(5*time.Second, func() bool { return len(processesIn(e.cg)) == 3 }) {
		t.Fatalf("want init and two sleeps, got %v", processesIn(e.cg))
	}
	e.ok("kill", "hostpid", "KILL")
	if !waitFor(5*time.Second, func() bool { return len(processesIn(e.cg)) == 0 }) {
		t.Errorf("processes left after kill KILL: %v", comms(processesIn(e.cg)))
	}
	e.waitStatus("hostpid", "stopped")
	e.ok("delete", "hostpid")
}

// TestCreateInBusyCgroupRefused: a second container in the cgroup of a
// running one is refused with current runc's words, and the first keeps
// running (runc 1.1.5 only warned). Before, tekapo ran both, and deleting
// either killed the other's processes and removed the cgroup under it.
func TestCreateInBusyCgroupRefused(t *testing.T) {
	e := newEnv(t)
	s := e.spec("busy1", "sleep", "60")
	s.Linux.CgroupsPath = e.cg + "/shared"
	e.write(s)
	e.ok("run", "-d", "busy1")
	defer e.tekapo("delete", "--force", "busy1")
	e.expectError("container's cgroup is not empty: 1 process(es) found", "run", "-d", "busy2")
	e.expectError("container's cgroup is not empty", "create", "busy3")
	if st := e.state("busy1"); st.Status != "running" {
		t.Errorf("busy1 is %s after the refusals", st.Status)
	}
	e.ok("delete", "--force", "busy1")
	if pureV2() {
		return
	}
	// An empty cgroup someone froze: refused too, left as it was.
	frozen := filepath.Join("/sys/fs/cgroup/freezer", e.cg, "frozen")
	if err := os.MkdirAll(frozen, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(frozen)
	if err := os.WriteFile(filepath.Join(frozen, "freezer.state"), []byte("FROZEN"), 0); err != nil {
		t.Fatal(err)
	}
	s.Linux.CgroupsPath = e.cg + "/frozen"
	e.write(s)
	e.expectError("container's cgroup unexpectedly frozen", "create", "busy4")
	os.WriteFile(filepath.Join(frozen, "freezer.state"), []byte("THAWED"), 0)
}
