package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tekapo/tekapo/libcontainer/configs"
)

// The v1 writes the runtime-tools programs of the conformance VM lane check
// (tests/conformance/vm.sh: linux_cgroups_network, linux_cgroups_hugetlb,
// linux_cgroups_memory), with their values, as runc's v1 manager writes them:
// net_cls.classid, one net_prio.ifpriomap line per interface, the hugetlb
// limit per page size; memory.kernel is not written (current runc ignores
// it; Linux 6.1 accepts the write and ignores it), memory.kernelTCP is.
func TestCreateV1ConformanceWrites(t *testing.T) {
	f := newFakeHost(t, "vm-hybrid")
	cfg := &configs.Cgroup{Path: "/cgrouptest", Resources: &specs.LinuxResources{
		Network: &specs.LinuxNetwork{ClassID: u32(550), Priorities: []specs.LinuxInterfacePriority{
			{Name: "lo", Priority: 30}, {Name: "eth0", Priority: 10}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 30}, {Pagesize: "1GB", Limit: 2 << 30}},
		Memory: &specs.LinuxMemory{Limit: i64(50593792),
			//lint:ignore SA1019 checks that the deprecated field is not written
			Kernel: i64(50593792), KernelTCP: i64(50593792),
			Swappiness: u64(10), DisableOOMKiller: boolp(true)},
	}}
	m := f.manager(t, cfg)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"sys/fs/cgroup/net_cls,net_prio/cgrouptest/net_cls.classid":      "550",
		"sys/fs/cgroup/hugetlb/cgrouptest/hugetlb.2MB.limit_in_bytes":    "2147483648",
		"sys/fs/cgroup/hugetlb/cgrouptest/hugetlb.1GB.limit_in_bytes":    "2147483648",
		"sys/fs/cgroup/memory/cgrouptest/memory.limit_in_bytes":          "50593792",
		"sys/fs/cgroup/memory/cgrouptest/memory.kmem.tcp.limit_in_bytes": "50593792",
		"sys/fs/cgroup/memory/cgrouptest/memory.swappiness":              "10",
		"sys/fs/cgroup/memory/cgrouptest/memory.oom_control":             "1",
	} {
		if got := readOr(t, f.p(p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	// The kernel takes one "IFNAME PRIO" per write: two writes, in the config's order.
	sameList(t, grepLog(f.log, "net_prio.ifpriomap"), []string{"net_prio.ifpriomap=lo 30", "net_prio.ifpriomap=eth0 10"})
	if w := grepLog(f.log, "memory.kmem.limit_in_bytes"); len(w) != 0 {
		t.Errorf("memory.kernel written: %v", w)
	}
	if w := grepLog(f.log, "unified/"); len(w) != 0 {
		t.Errorf("a limit went to cgroup2, which has no controller here: %v", w)
	}
}
