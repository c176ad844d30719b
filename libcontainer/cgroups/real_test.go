package cgroups

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

func TestRealOOMKill(t *testing.T) {
	lim := int64(32 << 20)
	m, _ := realCgroup(t, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &lim, Swap: &lim}})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, m, "alloc:256")
	err := c.wait(t, 60*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child allocating 256MiB under a 32MiB limit: %v, output %q; want SIGKILL", err, c.out)
	}
	n, err := m.OOMKillCount()
	if err != nil || n < 1 {
		t.Fatalf("OOMKillCount = %d, %v; want >= 1", n, err)
	}
	st, err := m.Stats()
	if err != nil || st.OOMKillCount < 1 || st.Memory.Usage.Limit != uint64(lim) {
		t.Fatalf("stats after OOM: %+v %v", st, err)
	}
}

func TestRealPidsLimit(t *testing.T) {
	limit := int64(8)
	m, _ := realCgroup(t, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	// The shell forks sleeps until fork fails.
	c := startChild(t, m, "", "/bin/sh", "-c",
		`read x; n=0; while [ $n -lt 30 ]; do sleep 60 & n=$((n+1)); echo started $n; done; echo all-started; sleep 60`)
	c.waitOutput(t, "ork", 10*time.Second) // dash: "Cannot fork"
	pids, err := m.GetPids()
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) > int(limit) || strings.Contains(c.out.String(), "all-started") {
		t.Fatalf("%d processes under pids.max=%d; output %q", len(pids), limit, c.out)
	}
	st, err := m.Stats()
	if err != nil || st.Pids.Limit != uint64(limit) || st.Pids.Current == 0 || st.Pids.Current > uint64(limit) {
		t.Fatalf("pids stats %+v, %v", st.Pids, err)
	}
}

func TestRealFreezeThaw(t *testing.T) {
	m, _ := realCgroup(t, nil)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	startChild(t, m, "", "/bin/sh", "-c", `read x; while :; do :; done`)
	cpu := func() uint64 {
		st, err := m.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.CPU.Usage.Total
	}
	progress := func() uint64 {
		a := cpu()
		time.Sleep(300 * time.Millisecond)
		return cpu() - a
	}
	if p := progress(); p == 0 {
		t.Fatal("busy child used no CPU before freeze")
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if s, err := m.FreezerState(); s != Frozen || err != nil {
		t.Fatalf("state %q %v after Freeze", s, err)
	}
	if p := progress(); p > uint64(5*time.Millisecond) {
		t.Fatalf("frozen child used %v CPU", time.Duration(p))
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if s, err := m.FreezerState(); s != Thawed || err != nil {
		t.Fatalf("state %q %v after Thaw", s, err)
	}
	if p := progress(); p == 0 {
		t.Fatal("thawed child made no progress")
	}
}

func TestRealSetLiveLimits(t *testing.T) {
	pids := int64(50)
	m, cfg := realCgroup(t, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pids}})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, m, "alloc:16")
	c.waitOutput(t, "allocated 16", 20*time.Second)

	small, two := int64(4096), int64(2)
	err := m.Set(&configs.Cgroup{Path: cfg.Path, Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &small, CheckBeforeUpdate: boolp(true)}}})
	if err == nil || !strings.Contains(err.Error(), "below the current usage") {
		t.Fatalf("Set memory below usage with checkBeforeUpdate: %v", err)
	}
	big := int64(256 << 20)
	if err := m.Set(&configs.Cgroup{Path: cfg.Path, Resources: &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &big}, Pids: &specs.LinuxPids{Limit: &two}}}); err != nil {
		t.Fatal(err)
	}
	st, err := m.Stats()
	if err != nil || st.Pids.Limit != 2 || st.Memory.Usage.Limit != uint64(big) {
		t.Fatalf("after Set: pids %+v memory limit %d, %v", st.Pids, st.Memory.Usage.Limit, err)
	}
}

func TestRealDevices(t *testing.T) {
	m, cfg := realCgroup(t, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}, // /dev/null
	}})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, m, "", "/bin/sh", "-c",
		`read x; for d in null zero; do if (exec 3</dev/$d) 2>&-; then echo $d-ok; else echo $d-denied; fi; done`)
	if err := c.wait(t, 10*time.Second); err != nil {
		t.Fatalf("child: %v %q", err, c.out)
	}
	if out := c.out.String(); !strings.Contains(out, "null-ok") || !strings.Contains(out, "zero-denied") {
		t.Fatalf("device access: %q, want null-ok and zero-denied", out)
	}
	// Set replaces the rules of the live cgroup.
	if err := m.Set(&configs.Cgroup{Path: cfg.Path, Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "r"}, // /dev/zero
	}}}); err != nil {
		t.Fatal(err)
	}
	c = startChild(t, m, "", "/bin/sh", "-c",
		`read x; for d in null zero; do if (exec 3</dev/$d) 2>&-; then echo $d-ok; else echo $d-denied; fi; done`)
	if err := c.wait(t, 10*time.Second); err != nil {
		t.Fatalf("child: %v %q", err, c.out)
	}
	if out := c.out.String(); !strings.Contains(out, "null-denied") || !strings.Contains(out, "zero-ok") {
		t.Fatalf("device access after Set: %q, want null-denied and zero-ok", out)
	}
	// v1: the kernel's exceptions are exactly the new list (the minimal
	// transition allowed 1:5 and denied 1:3, no deny-all in between).
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/devices", cfg.Path, "devices.list")); err == nil {
		if got := strings.TrimSpace(string(b)); got != "c 1:5 r" {
			t.Errorf("devices.list after Set: %q, want \"c 1:5 r\"", got)
		}
	}
}

func TestRealDestroyNested(t *testing.T) {
	h := requireRoot(t)
	parent := "/tekapo-test-" + itoa(int64(os.Getpid())) + "-nested"
	// The shared parent stays when it was busy with the sibling at the
	// Destroy of the container that made it: only the leaves must go.
	t.Cleanup(func() {
		for _, r := range append(h.v1Mounts(), h.unified) {
			if r != "" {
				_ = fsOps{}.rmdirTree(filepath.Join(r, parent))
			}
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, name := range []string{"a/x", "b"} {
		m, err := New(&configs.Cgroup{Path: parent + "/" + name})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := m.Create(); err != nil {
					errs <- err
					return
				}
				if err := m.Destroy(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create/destroy: %v", err)
	}
	for _, r := range append(h.v1Mounts(), h.unified) {
		for _, leaf := range []string{"a/x", "b"} {
			if r != "" && exists(filepath.Join(r, parent, leaf)) {
				t.Errorf("%s left behind", filepath.Join(r, parent, leaf))
			}
		}
	}
}

func TestRealCreateEveryHierarchy(t *testing.T) {
	m, _ := realCgroup(t, nil)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	for c, p := range m.Paths() {
		if !exists(p) {
			t.Errorf("%q: %s not created", c, p)
		}
	}
	c := startChild(t, m, "", "/bin/sh", "-c", "read x; sleep 60")
	pid := itoa(int64(c.cmd.Process.Pid))
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasSuffix(line, "/c") {
			t.Errorf("child not moved on every hierarchy: %s", line)
		}
	}
}

// Where hugetlb is usable the limit is set; where it is not (this dev host:
// only on the v2 side of a hybrid layout) Create fails and leaves nothing.
func TestRealHugetlb(t *testing.T) {
	h := requireRoot(t)
	m := &manager{h: h, path: "/"}
	mg, _ := realCgroup(t, &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}})
	if m.hasController("hugetlb") {
		if !exists("/sys/kernel/mm/hugepages/hugepages-2048kB") {
			t.Skip("no 2MB huge pages on this machine")
		}
		if err := mg.Create(); err != nil {
			t.Fatal(err)
		}
		st, err := mg.Stats()
		if _, ok := st.Hugetlb["2MB"]; err != nil || !ok {
			t.Fatalf("hugetlb stats %v, %v", st.Hugetlb, err)
		}
		return
	}
	err := mg.Create()
	if err == nil || !strings.Contains(err.Error(), "hugepageLimits") {
		t.Fatalf("err %v, want a hugepageLimits error", err)
	}
	for _, p := range mg.Paths() {
		if exists(filepath.Dir(p)) {
			t.Errorf("%s left behind by a failed Create", filepath.Dir(p))
		}
	}
}

func TestRealInfo(t *testing.T) {
	h := requireRoot(t)
	i, err := Info()
	if err != nil {
		t.Fatal(err)
	}
	if i.Layout != h.layout || len(i.Controllers) == 0 {
		t.Fatalf("info %+v on a %s host", i, h.layout)
	}
}

func TestRealV2Files(t *testing.T) {
	h := requireRoot(t)
	skipUnlessV2(t, h)
	lim, swap, quota := int64(64<<20), int64(96<<20), int64(50000)
	m, _ := realCgroup(t, &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: &lim, Swap: &swap},
		CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: &quota, Period: u64(100000)},
		Pids:    &specs.LinuxPids{Limit: i64(-1)},
		Unified: map[string]string{"memory.high": "50331648"},
	})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	dir := m.Paths()[""]
	for file, want := range map[string]string{
		"memory.max": "67108864", "memory.swap.max": "33554432", "cpu.weight": "39",
		"cpu.max": "50000 100000", "pids.max": "max", "memory.high": "50331648",
	} {
		if got, _ := readFile(dir, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	sub, _ := readFile(filepath.Dir(dir), "cgroup.subtree_control")
	for _, c := range []string{"cpu", "memory", "pids"} {
		if !containsWord(strings.Fields(sub), c) {
			t.Errorf("%s not enabled in the parent (%q)", c, sub)
		}
	}
}

func TestRealRootless(t *testing.T) {
	h := requireRoot(t)
	// The binary must be reachable by an unprivileged user.
	dir, err := os.MkdirTemp("", "tekapo-cgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "cgroups.test")
	data, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	parent := fmt.Sprintf("/tekapo-test-%d-rootless", os.Getpid())
	t.Cleanup(func() { assertGone(t, h, parent) })
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), childEnv+"=rootless:"+parent+"/c")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rootless child: %v: %s", err, out)
	}
	want := []string{
		"with-limit: rootless container asks for pids.limit but cgroup ",
		"is not writable (not delegated to this user)",
		"no-limit: create=<nil> apply=<nil> destroy=<nil>",
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("rootless child output %q lacks %q", out, w)
		}
	}
}

// The kernel wants memory+swap >= memory at every moment: raising and
// lowering both must work whatever the order of the writes.
func TestRealSetMemoryAndSwapOrder(t *testing.T) {
	mib := func(n int64) *int64 { v := n << 20; return &v }
	m, cfg := realCgroup(t, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: mib(64), Swap: mib(64)}})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{128, 32, 256} {
		swap := n
		if m.Paths()["memory"] == "" { // v2: swap beyond memory
			swap = n * 2
		}
		err := m.Set(&configs.Cgroup{Path: cfg.Path, Resources: &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: mib(n), Swap: mib(swap)}}})
		if err != nil {
			t.Fatalf("set memory %dMiB swap %dMiB: %v", n, swap, err)
		}
		st, err := m.Stats()
		if err != nil || st.Memory.Usage.Limit != uint64(n<<20) {
			t.Fatalf("memory limit %d after Set %dMiB, %v", st.Memory.Usage.Limit, n, err)
		}
	}
}
