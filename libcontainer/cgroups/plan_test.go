package cgroups

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// files renders writes as "ctrl/file=value" for comparison.
func files(ws []write) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.ctrl+"/"+w.file+"="+w.value)
	}
	return out
}

func sameList(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPlanV1(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20),
			//lint:ignore SA1019 checks that the deprecated field is ignored
			Kernel: i64(1 << 20), KernelTCP: i64(2 << 20), Swappiness: u64(10), DisableOOMKiller: boolp(true)},
		CPU: &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Burst: u64(1000),
			RealtimeRuntime: i64(950), RealtimePeriod: u64(1000), Cpus: "0-1", Mems: "0", Idle: i64(0)},
		Pids: &specs.LinuxPids{Limit: i64(42)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(300), LeafWeight: u16(200),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: u16(100)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1000}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 10}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Network:        &specs.LinuxNetwork{ClassID: u32(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
		Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(3), HcaObjects: u32(100)}},
	}
	ws, err := planV1(r)
	if err != nil {
		t.Fatal(err)
	}
	sameList(t, files(ws), []string{
		"memory/memory.limit_in_bytes=67108864",
		"memory/memory.soft_limit_in_bytes=33554432",
		"memory/memory.memsw.limit_in_bytes=134217728",
		"memory/memory.kmem.tcp.limit_in_bytes=2097152",
		"memory/memory.swappiness=10",
		"memory/memory.oom_control=1",
		"cpu/cpu.idle=0",
		"cpu/cpu.shares=512",
		"cpu/cpu.cfs_period_us=100000",
		"cpu/cpu.cfs_quota_us=50000",
		"cpu/cpu.cfs_burst_us=1000",
		"cpu/cpu.rt_period_us=1000",
		"cpu/cpu.rt_runtime_us=950",
		"cpuset/cpuset.cpus=0-1",
		"cpuset/cpuset.mems=0",
		"pids/pids.max=42",
		"blkio/blkio.weight=300",
		"blkio/blkio.leaf_weight=200",
		"blkio/blkio.weight_device=8:0 100",
		"blkio/blkio.throttle.read_bps_device=8:0 1000",
		"blkio/blkio.throttle.write_iops_device=8:16 10",
		"hugetlb/hugetlb.2MB.limit_in_bytes=4194304",
		"net_cls/net_cls.classid=1048577",
		"net_prio/net_prio.ifpriomap=eth0 5",
		"rdma/rdma.max=mlx5_0 hca_handle=3 hca_object=100",
	})
}

// TestCPUIdleBeforeWeight: cpu.idle is written before the weight, and an
// idle cgroup gets no weight (the kernel refuses one: EINVAL), as current
// runc's fs2 setCPU; so a container made idle and then not idle again
// keeps its shares (tests/integration TestUpdateCPUIdleWithShares).
func TestCPUIdleBeforeWeight(t *testing.T) {
	for name, plan := range map[string]func(*specs.LinuxResources) ([]write, error){"v1": planV1, "v2": planV2} {
		for idle, want := range map[int64]string{1: "cpu/cpu.idle=1", 0: "cpu/cpu.idle=0 cpu/cpu.shares=1024"} {
			ws, err := plan(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024), Idle: i64(idle)}})
			if err != nil {
				t.Fatal(err)
			}
			if name == "v2" {
				want = strings.ReplaceAll(want, "cpu.shares=1024", "cpu.weight=39")
			}
			if got := strings.Join(files(ws), " "); got != want {
				t.Errorf("%s idle %d: got %s, want %s", name, idle, got, want)
			}
		}
	}
}

func TestPidsLimitValues(t *testing.T) {
	for _, c := range []struct {
		in   int64
		want string
	}{{-1, "max"}, {0, "1"}, {1, "1"}, {100, "100"}} { // 0: current runc (1.1.5: max)
		ws := pidsWrites(&specs.LinuxPids{Limit: i64(c.in)})
		if len(ws) != 1 || ws[0].value != c.want {
			t.Errorf("pids limit %d: got %v, want %s", c.in, files(ws), c.want)
		}
	}
	if ws := pidsWrites(&specs.LinuxPids{}); len(ws) != 0 {
		t.Errorf("unset pids limit wrote %v", files(ws))
	}
}

func TestPlanV1Errors(t *testing.T) {
	_, err := planV1(&specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}})
	if err == nil || !strings.Contains(err.Error(), "unified") {
		t.Errorf("unified on v1: err %v", err)
	}
	_, err = planV1(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(101)}})
	if err == nil || !strings.Contains(err.Error(), "swappiness") {
		t.Errorf("swappiness 101: err %v", err)
	}
}

func TestPlanV2(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20),
			Swappiness: u64(10), DisableOOMKiller: boolp(true),
			//lint:ignore SA1019 checks that the deprecated field is ignored
			Kernel: i64(1)},
		CPU:  &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Burst: u64(1000), Idle: i64(0), Cpus: "1", Mems: "0"},
		Pids: &specs.LinuxPids{Limit: i64(-1)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500),
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1000}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 2000}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 10}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 20}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1 << 30}},
		Unified:        map[string]string{"memory.high": "50000000", "cgroup.max.depth": "3"},
	}
	ws, err := planV2(r)
	if err != nil {
		t.Fatal(err)
	}
	got := files(ws)
	sameList(t, got, []string{
		"memory/memory.swap.max=33554432",
		"memory/memory.max=67108864",
		"memory/memory.low=33554432",
		"cpu/cpu.idle=0",
		"cpu/cpu.weight=39",
		"cpu/cpu.max=50000 100000",
		"cpu/cpu.max.burst=1000",
		"cpuset/cpuset.cpus=1",
		"cpuset/cpuset.mems=0",
		"pids/pids.max=max",
		"io/io.bfq.weight=500",
		"io/io.max=8:0 rbps=1000",
		"io/io.max=8:0 wbps=2000",
		"io/io.max=8:0 riops=10",
		"io/io.max=8:0 wiops=20",
		"hugetlb/hugetlb.1GB.max=1073741824",
		"/cgroup.max.depth=3",
		"memory/memory.high=50000000",
	})
	for _, w := range ws {
		if w.file == "io.bfq.weight" && (w.alt != "io.weight" || w.altValue != "default 4950") {
			t.Errorf("io weight fallback %s=%q, want io.weight=\"default 4950\"", w.alt, w.altValue)
		}
	}
}

func TestCPUMaxValues(t *testing.T) {
	for _, c := range []struct {
		quota  *int64
		period *uint64
		want   string
	}{
		{i64(-1), u64(100000), "max 100000"},
		{i64(20000), nil, "20000"},
		{nil, u64(50000), "max 50000"},
	} {
		ws, err := cpuV2(&specs.LinuxCPU{Quota: c.quota, Period: c.period})
		if err != nil || len(ws) != 1 || ws[0].value != c.want {
			t.Errorf("quota %v period %v: got %v %v, want %q", c.quota, c.period, files(ws), err, c.want)
		}
	}
}

func TestConversions(t *testing.T) {
	for _, c := range []struct{ shares, weight uint64 }{{2, 1}, {1024, 39}, {262144, 10000}, {1, 1}} {
		if got := SharesToWeight(c.shares); got != c.weight {
			t.Errorf("SharesToWeight(%d) = %d, want %d", c.shares, got, c.weight)
		}
	}
	for _, c := range []struct{ blkio, io uint64 }{{10, 1}, {1000, 10000}, {500, 4950}, {100, 910}} {
		if got := BlkioWeightToIOWeight(c.blkio); got != c.io {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", c.blkio, got, c.io)
		}
	}
}

func TestSwapV2(t *testing.T) {
	for _, c := range []struct {
		swap  int64
		limit *int64
		want  string
		err   string
	}{
		{-1, i64(100), "max", ""},
		{-1, nil, "max", ""},
		{100, i64(100), "0", ""},
		{300, i64(100), "200", ""},
		{50, i64(100), "", "below the memory limit"},
		{100, nil, "", "needs a memory limit"},
		{100, i64(-1), "", "needs a memory limit"},
	} {
		got, err := swapV2(c.swap, c.limit)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("swap %d: err %v, want %q", c.swap, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("swap %d limit %v: got %q %v, want %q", c.swap, c.limit, got, err, c.want)
		}
	}
}

func TestPlanV2Errors(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *specs.LinuxResources
		want string
	}{
		{"slash", &specs.LinuxResources{Unified: map[string]string{"memory/../x": "1"}}, "invalid key"},
		{"dotdot", &specs.LinuxResources{Unified: map[string]string{"..": "1"}}, "invalid key"},
		{"nodot", &specs.LinuxResources{Unified: map[string]string{"memory": "1"}}, "invalid key"},
		{"realtime", &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(5)}}, "realtime"},
		{"network", &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(1)}}, "net_cls"},
		{"leaf", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(10)}}, "leafWeight"},
	} {
		if _, err := planV2(c.r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestLimitsRequested(t *testing.T) {
	if l := LimitsRequested(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}); len(l) != 0 {
		t.Errorf("device rules counted as limits: %v", l)
	}
	l := LimitsRequested(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}})
	if len(l) != 1 || l[0] != "pids.limit" {
		t.Errorf("got %v, want [pids.limit]", l)
	}
}
