package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// memoryHog grows without bound: busybox tail keeps a line that never ends.
const memoryHog = "tail /dev/zero"

func memoryLimit(s *specs.Spec, limit int64) {
	// memory+swap equal to memory: no swap, so the hog is killed, not swapped.
	resources(s).Memory = &specs.LinuxMemory{Limit: i64(limit), Swap: i64(limit)}
}

// TestCgroupMemoryOOM: a process allocating past memory.limit is killed
// by the OOM killer; `events` reports it, and a foreground run exits 137.
func TestCgroupMemoryOOM(t *testing.T) {
	e := newEnv(t)
	s := e.spec("oom", "sh", "-c", "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; "+memoryHog+"; exec sleep 1000")
	memoryLimit(s, 16<<20)
	e.write(s)
	e.ok("run", "-d", "oom")
	if ev := e.stats("oom"); ev.Data.Memory.Usage.Limit != 16<<20 || ev.Data.OOMKill != 0 {
		t.Fatalf("before the hog: memory limit %d, oom kills %d", ev.Data.Memory.Usage.Limit, ev.Data.OOMKill)
	}
	events, stop := e.startEvents("oom", "200ms")
	defer stop()
	if !waitFor(10*time.Second, func() bool { return strings.Contains(readFile(events), `"type":"stats"`) }) {
		t.Fatalf("no stats event from `events`: %q", readFile(events))
	}
	pid := e.state("oom").Pid
	if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/root/dev/shm/go", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool { return strings.Contains(readFile(events), `{"type":"oom","id":"oom"}`) }) {
		t.Fatalf("no oom event; events printed %q", readFile(events))
	}
	ev := e.stats("oom")
	if ev.Data.OOMKill < 1 || ev.Data.Memory.Usage.Usage > 16<<20 {
		t.Errorf("after the hog: oom kills %d, usage %d", ev.Data.OOMKill, ev.Data.Memory.Usage.Usage)
	}
	if e.state("oom").Status != "running" {
		t.Errorf("init (sh) should survive: only the hog is killed")
	}
	e.ok("delete", "--force", "oom")
	stop()

	s = e.spec("oomfg", "sh", "-c", "exec "+memoryHog)
	memoryLimit(s, 16<<20)
	if r := e.run("oomfg", s); r.code != 137 {
		t.Fatalf("run of a memory hog: exit %d, want 137 (%s)", r.code, r.stderr)
	}
}

// startEvents runs `tekapo events --interval D id` in the background; its
// output goes to the returned file. stop ends it (idempotent).
func (e *env) startEvents(id, interval string) (string, func()) {
	e.t.Helper()
	out := filepath.Join(e.t.TempDir(), "events")
	f, err := os.Create(out)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(tekapo, "--root", e.root, "events", "--interval", interval, id)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	stopped := false
	return out, func() {
		if stopped {
			return
		}
		stopped = true
		select {
		case <-done: // events ends by itself when the container is gone
		case <-time.After(5 * time.Second):
			e.t.Errorf("events did not end after its container was deleted")
			cmd.Process.Kill()
			<-done
		}
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// TestCgroupPidsLimit: a fork loop stops at pids.max.
func TestCgroupPidsLimit(t *testing.T) {
	e := newEnv(t)
	// The subshell aborts at the first failed fork; init (sh) survives it
	// and execs a last sleep, so the container keeps running to be counted.
	s := e.spec("pids", "sh", "-c", "(for i in $(seq 30); do sleep 1000 & done); echo loop ended; exec sleep 1001")
	const limit = 8
	resources(s).Pids = &specs.LinuxPids{Limit: i64(limit)}
	e.write(s)
	r := e.tekapoIn(nil, "run", "-d", "pids")
	if r.code != 0 {
		t.Fatalf("run -d: %d %s", r.code, r.stderr)
	}
	var names []string
	waitFor(10*time.Second, func() bool {
		names = comms(e.psPids("pids"))
		return len(names) > 0 && strings.Count(strings.Join(names, " "), "sleep") == len(names)
	})
	// init + subshell + sleeps reached the limit when the fork failed.
	if n := strings.Count(strings.Join(names, " "), "sleep"); n != limit-1 || len(names) != limit-1 {
		t.Errorf("processes %v: want %d sleeps (limit %d, minus the subshell that stopped at the failed fork)", names, limit-1, limit)
	}
	if ev := e.stats("pids"); ev.Data.Pids.Limit != limit || ev.Data.Pids.Current != limit-1 {
		t.Errorf("pids stats: %+v", ev.Data.Pids)
	}
	e.ok("delete", "--force", "pids")
}

// TestCgroupCPUQuota: a busy loop under a 20% quota uses at most about
// 20% of a CPU (measured from the cgroup's CPU usage, never from wall-clock
// speed), and the kernel has the quota. A loop without a quota runs beside
// it over the same interval: where it got well over 20% (the machine had
// room), the limited loop must have had its 20% too; on a machine too busy
// to give anyone 20% that lower bound says nothing and is only logged.
func TestCgroupCPUQuota(t *testing.T) {
	e := newEnv(t)
	s := e.spec("cpu", "sh", "-c", "while :; do :; done")
	resources(s).CPU = &specs.LinuxCPU{Quota: i64(20000), Period: u64(100000)}
	e.write(s)
	e.ok("run", "-d", "cpu")
	defer e.tekapo("delete", "--force", "cpu")
	s.Linux.Resources.CPU = nil
	s.Linux.CgroupsPath = e.cg + "/free"
	e.write(s)
	e.ok("run", "-d", "free")
	defer e.tekapo("delete", "--force", "free")
	quota := e.cgFile("cpu", "cpu", "cpu.cfs_quota_us")
	want := "20000"
	if pureV2() {
		quota, want = e.cgFile("cpu", "", "cpu.max"), "20000 100000"
	}
	if b, err := os.ReadFile(quota); err != nil || strings.TrimSpace(string(b)) != want {
		t.Errorf("%s: %q %v, want %q", quota, b, err, want)
	}
	time.Sleep(300 * time.Millisecond) // past start-up
	u0, f0, t0 := e.stats("cpu").Data.CPU.Usage.Total, e.stats("free").Data.CPU.Usage.Total, time.Now()
	time.Sleep(1500 * time.Millisecond)
	u1, f1, t1 := e.stats("cpu").Data.CPU.Usage.Total, e.stats("free").Data.CPU.Usage.Total, time.Now()
	share := float64(u1-u0) / float64(t1.Sub(t0).Nanoseconds())
	free := float64(f1-f0) / float64(t1.Sub(t0).Nanoseconds())
	t.Logf("busy loop under a 20%% quota used %.1f%% of a CPU; one without a quota %.1f%%", share*100, free*100)
	if share > 0.35 {
		t.Errorf("busy loop under a 20%% quota used %.1f%% of a CPU", share*100)
	}
	if free >= 0.5 && share < 0.10 {
		t.Errorf("busy loop under a 20%% quota used %.1f%% of a CPU while one without a quota got %.1f%%", share*100, free*100)
	}
}

// TestCgroupUpdate: update changes live limits, seen from inside, and
// later commands keep them.
func TestCgroupUpdate(t *testing.T) {
	e := newEnv(t)
	s := e.spec("upd", "sleep", "1000")
	resources(s).Pids = &specs.LinuxPids{Limit: i64(10)}
	e.write(s)
	e.ok("run", "-d", "upd")
	readPids := func() string {
		return strings.TrimSpace(e.ok("exec", "upd", "sh", "-c", catCgroup("pids", "pids.max", "pids.max")))
	}
	if v := readPids(); v != "10" {
		t.Fatalf("pids.max inside before update: %q", v)
	}
	e.ok("update", "--pids-limit", "20", "upd")
	if v := readPids(); v != "20" {
		t.Fatalf("pids.max inside after update: %q, want 20", v)
	}
	// A second update of another limit keeps the first one: it was saved.
	e.ok("update", "--memory", "64m", "--memory-swap", "-1", "upd")
	mem := strings.TrimSpace(e.ok("exec", "upd", "sh", "-c", catCgroup("memory", "memory.limit_in_bytes", "memory.max")))
	if mem != strconv.Itoa(64<<20) || readPids() != "20" {
		t.Fatalf("after a memory update: memory limit %q, pids.max %q", mem, readPids())
	}
	if ev := e.stats("upd"); ev.Data.Pids.Limit != 20 {
		t.Errorf("events --stats after update: pids limit %d", ev.Data.Pids.Limit)
	}
	// docker's way: linux.resources JSON on stdin.
	r := e.tekapoIn([]byte(`{"pids":{"limit":30},"cpu":{"shares":512,"quota":0,"period":0}}`), "update", "-r", "-", "upd")
	if r.code != 0 || readPids() != "30" {
		t.Fatalf("update -r -: exit %d %s, pids.max %q", r.code, r.stderr, readPids())
	}
	if v := readFile(e.cgFile("upd", "cpu", "cpu.shares")); !pureV2() && strings.TrimSpace(v) != "512" {
		t.Errorf("cpu.shares after update -r -: %q", v)
	}
	e.expectError("invalid value", "update", "--memory", "lots", "upd")
	e.ok("update", "--memory", "32m", "--memory-swap", "64m", "upd")
	e.expectError("above the memory+swap limit", "update", "--memory", "128m", "upd")
	e.ok("kill", "upd", "KILL")
	e.waitStatus("upd", "stopped")
	e.expectError("container not running", "update", "--pids-limit", "5", "upd")
	e.ok("delete", "upd")
}

// TestCgroupDevices: a device node the rules deny cannot be opened; one
// they allow can. /dev/kmsg (1:11) opens write-only without privileges.
func TestCgroupDevices(t *testing.T) {
	for _, allow := range []bool{true, false} {
		e := newEnv(t)
		s := e.spec("dev", "sh", "-c", "exec 3>/dev/kmsg-test && echo opened")
		mode := os.FileMode(0o666)
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/kmsg-test", Type: "c", Major: 1, Minor: 11, FileMode: &mode}}
		if allow {
			resources(s).Devices = append(resources(s).Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "w"})
		}
		r := e.run("dev", s)
		switch {
		case allow && (r.code != 0 || strings.TrimSpace(r.stdout) != "opened"):
			t.Errorf("allowed device: exit %d, %q %q", r.code, r.stdout, r.stderr)
		case !allow && (r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted")):
			t.Errorf("denied device: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	}
}

// TestCgroupHugepages: hugetlb limits where the manager can set them (a
// pure v2 host with the controller) are read back; elsewhere (this hybrid
// host: hugetlb only on the v2 side) they are a clear error, nothing left.
func TestCgroupHugepages(t *testing.T) {
	e := newEnv(t)
	s := e.spec("huge", "sh", "-c", catCgroup("hugetlb", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max"))
	resources(s).HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}
	b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if pureV2() && strings.Contains(string(b), "hugetlb") {
		if r := e.run("huge", s); r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(4<<21) {
			t.Fatalf("hugetlb limit read back: exit %d %q %q", r.code, r.stdout, r.stderr)
		}
		return
	}
	if _, err := os.Stat("/sys/fs/cgroup/hugetlb"); err == nil {
		t.Skip("this host has a v1 hugetlb controller")
	}
	e.write(s)
	e.expectError(`hugepageLimits: cgroup controller "hugetlb" is not available`, "run", "huge")
	e.expectError(`hugepageLimits: cgroup controller "hugetlb" is not available`, "create", "huge")
}

// TestPauseResume: a frozen container makes no progress, `state` says
// paused, and resume lets it go on.
func TestPauseResume(t *testing.T) {
	e := newEnv(t)
	e.write(e.spec("frz", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n; usleep 10000; done"))
	e.ok("run", "-d", "frz")
	pid := e.state("frz").Pid
	counter := func() int { n, _ := strconv.Atoi(rootFile(pid, "/dev/shm/n")); return n }
	if !waitFor(10*time.Second, func() bool { return counter() > 3 }) {
		t.Fatal("the counter never started")
	}
	e.expectError("container not paused", "resume", "frz")
	e.ok("pause", "frz")
	if st := e.state("frz"); st.Status != "paused" {
		t.Fatalf("state after pause: %+v", st)
	}
	n1 := counter()
	time.Sleep(500 * time.Millisecond)
	if n2 := counter(); n2 != n1 {
		t.Fatalf("a paused container made progress: %d -> %d", n1, n2)
	}
	e.expectError("container not running", "pause", "frz")
	e.ok("resume", "frz")
	if st := e.state("frz"); st.Status != "running" {
		t.Fatalf("state after resume: %+v", st)
	}
	if !waitFor(10*time.Second, func() bool { return counter() > n1+3 }) {
		t.Fatalf("the counter did not move on after resume (%d)", counter())
	}
	// A paused container can be deleted with --force (its processes are
	// thawed to die).
	e.ok("pause", "frz")
	e.ok("delete", "--force", "frz")
	if alive(pid) {
		t.Fatalf("init %d of a paused container survived delete --force", pid)
	}
}

// TestSystemdCgroupRefused: without systemd running (this host) create
// says so in one error line and leaves nothing behind. The driver itself is
// tested where systemd runs (systemd_test.go, the VM lane).
func TestSystemdCgroupRefused(t *testing.T) {
	e := newEnv(t)
	s := e.spec("sd", "true")
	s.Linux.CgroupsPath = "system.slice:tekapo-itest:sd"
	e.write(s)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: the refusal is for hosts without it")
	}
	e.expectError("systemd cgroup driver: systemd is not running on this host", "--systemd-cgroup", "create", "sd")
	e.expectError("systemd cgroup driver: systemd is not running on this host", "--systemd-cgroup", "run", "sd")
	for _, h := range hierarchies() {
		if m, _ := filepath.Glob(filepath.Join(h, "system.slice", "tekapo-itest*")); len(m) > 0 {
			t.Errorf("left behind: %v", m)
		}
	}
}

// TestEventsStatsShape: the stats event has runc's shape.
func TestEventsStatsShape(t *testing.T) {
	e := newEnv(t)
	s := e.spec("shape", "sleep", "1000")
	resources(s).Pids = &specs.LinuxPids{Limit: i64(50)}
	e.write(s)
	e.ok("run", "-d", "shape")
	var ev struct {
		Type string                     `json:"type"`
		Data map[string]json.RawMessage `json:"data"`
	}
	out := e.ok("events", "--stats", "shape")
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Type != "stats" {
		t.Fatalf("%q: %v", out, err)
	}
	for _, k := range []string{"cpu", "memory", "pids", "blkio", "hugetlb"} {
		if _, ok := ev.Data[k]; !ok {
			t.Errorf("stats data has no %q: %s", k, out)
		}
	}
	e.expectError("interval must be greater than 0", "events", "--interval", "0s", "shape")
	e.ok("delete", "--force", "shape")
	e.expectError("does not exist", "events", "--stats", "shape")
}
